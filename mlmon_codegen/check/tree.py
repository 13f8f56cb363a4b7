"""`mlmon check OUT`: run the real promtool (and amtool) over a generated tree."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml

from mlmon_codegen.check import amtool, promtool
from mlmon_codegen.check import dashboards as dashboard_check
from mlmon_codegen.check import rulers as ruler_check
from mlmon_codegen.check import secrets as secret_scan
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.emit import yaml_emit

K8S_MISSING = "field kubernetes_sd_configs not found"
# The API server refuses an object over 1 MiB (etcd's limit). Client-side `kubectl apply`, and GitOps
# tools that use it, also copy the whole object into an annotation capped at 256 KiB: a large
# dashboard ConfigMap or PrometheusRule then applies only server-side.
K8S_OBJECT_MAX = 1_048_576
K8S_CLIENT_SIDE_APPLY_MAX = 262_144


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
    return Run(run.command, retry.ok, retry.output, note, warning=True)


def check_kubernetes_sizes(out: Path) -> list[Run]:
    """Each object under kubernetes/ as the API server stores it (compact JSON): over 1 MiB fails;
    over 256 KiB passes with a note to apply it server-side."""
    files = sorted((out / "kubernetes").rglob("*.yaml"))
    if not files:
        return []
    sizes = {p.relative_to(out).as_posix(): len(json.dumps(yaml.load(p.read_bytes(), Loader=yaml_emit.LOADER),
                                                          separators=(",", ":"), ensure_ascii=False).encode())
             for p in files}
    too_big = [f"{p}: {n:,} bytes, over the API server's {K8S_OBJECT_MAX:,}" for p, n in sizes.items()
               if n > K8S_OBJECT_MAX]
    large = [p for p, n in sizes.items() if K8S_CLIENT_SIDE_APPLY_MAX < n <= K8S_OBJECT_MAX]
    note = (f"({len(files)} objects; {len(large)} over 256 KiB: apply them server-side, e.g. "
            "`kubectl apply --server-side`)" if large else f"({len(files)} objects, each under 256 KiB)")
    hint = "split the model's features across specs, or drop `--target kubernetes` for its dashboard"
    return [Run(["kubernetes", "object", "sizes"], not too_big, "\n".join([*too_big, hint] if too_big else []), note,
                warning=bool(large))]


ENGINES = ("promtool", "amtool")


def engine_versions() -> dict[str, str]:
    """The version of each engine tool on PATH, by tool; a missing tool is left out."""
    found = {tool: promtool.version(tool) for tool in ENGINES}
    return {tool: v for tool, v in found.items() if v is not None}


def versions_line(versions: dict[str, str]) -> str:
    return ", ".join(f"{tool} {v}" for tool, v in versions.items())


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
    runs.extend(check_kubernetes_sizes(out))
    if runs:  # a generated tree: it must hold no secrets, whatever the specs said
        runs.append(secret_scan.run(out))
    return runs
