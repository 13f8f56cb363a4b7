"""`mlmon check OUT`: run the real promtool (and amtool) over a generated tree."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from mlmon_codegen import dashboard_check, secret_scan
from mlmon_codegen.tools import amtool, promtool, ruler_check
from mlmon_codegen.tools.promtool import Run

K8S_MISSING = "field kubernetes_sd_configs not found"


def _without_kubernetes_sd(config: Path, into: Path) -> Path:
    """A copy of the config whose Kubernetes discovery is a static placeholder.

    Debian's Prometheus is built without Kubernetes discovery, so its promtool rejects the
    field outright. Everything else in those jobs (relabelling, paths, rule files) still gets
    checked this way; the Kubernetes target validates the discovery block itself.
    """
    data = yaml.safe_load(config.read_text())
    for job in data.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["kubernetes-sd-placeholder:80"]}]
    data["rule_files"] = [str((config.parent / f).resolve()) for f in data.get("rule_files") or []]
    copy = into / "prometheus.yml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def check_config(config: Path) -> Run:
    run = promtool.check_config(config)
    if run.ok or K8S_MISSING not in run.output:
        return run
    with tempfile.TemporaryDirectory() as tmp:
        retry = promtool.check_config(_without_kubernetes_sd(config, Path(tmp)))
    note = "(this promtool lacks Kubernetes discovery; checked with kubernetes_sd_configs as static)"
    return Run([*run.command, note], retry.ok, retry.output)


def check_tree(out: Path) -> list[Run]:
    runs: list[Run] = []
    config = out / "prometheus" / "prometheus.yml"
    if config.exists():
        runs.append(check_config(config))
    rule_files = sorted((out / "prometheus" / "rules").glob("*.yml"))
    if rule_files:
        runs.append(promtool.check_rules(rule_files))
    test_files = sorted((out / "tests").glob("*.test.yml"))
    if test_files:
        runs.append(promtool.test_rules(test_files))
    runs.extend(dashboard_check.check_folder(out / "grafana" / "dashboards"))
    runs.extend(amtool.check_tree(out))  # check-config and every case of tests/alertmanager-routes.yml
    runs.extend(ruler_check.check_tree(out))  # rules inside kubernetes/, mimir/, thanos/ (--target)
    if runs:  # a generated tree: it must hold no secrets, whatever the specs said
        runs.append(secret_scan.run(out))
    return runs
