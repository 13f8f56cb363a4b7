"""`--target kubernetes`: every object passes the prometheus-operator CRD schemas (cloudcoil's
pydantic models, generated from the operator's CRDs) and the rules inside pass promtool."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as op_v1
from cloudcoil.models.prometheus_operator import v1alpha1 as op_v1alpha1
from conftest import ROOT, run_mlmon

from mlmon_codegen.generate import render_all
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.tools import promtool

CRDS: dict[str, Any] = {
    "PrometheusRule": op_v1.PrometheusRule, "ServiceMonitor": op_v1.ServiceMonitor,
    "PodMonitor": op_v1.PodMonitor, "AlertmanagerConfig": op_v1alpha1.AlertmanagerConfig,
}
MONITORS = ("PodMonitor", "ServiceMonitor")
KUBERNETES = """\
kubernetes:
  namespace: observability
  rule_labels: {release: kube-prometheus-stack, role: alert-rules}
  monitor_labels: {release: kube-prometheus-stack}
  alertmanager_config_labels: {alertmanagerConfig: mlmon}
  dashboard_labels: {grafana_dashboard: "1"}
  dashboard_namespace: grafana
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> Path:
    """The example specs (with the project's Alertmanager routing), a `kubernetes:` section and
    external labels as an HA pair would set them."""
    folder = tmp_path_factory.mktemp("specs") / "specs"
    shutil.copytree(ROOT / "specs", folder)
    project = (folder / "mlmon.yaml").read_text()
    project = project.replace("    cluster: demo\n", "    cluster: prod-eu\n    replica: a\n")
    (folder / "mlmon.yaml").write_text(project + KUBERNETES)
    return folder


@pytest.fixture(scope="module")
def objects(specs) -> list[dict[str, Any]]:
    """The PrometheusRules and monitors exactly as `--target kubernetes` writes them."""
    return [a.data for a in render_all(load_and_validate([specs]).fleet, ("kubernetes",))
            if a.path.startswith("kubernetes/") and a.data.get("kind") in ("PrometheusRule", *MONITORS)]


def _pruned(sent: Any, kept: Any, where: str = "") -> list[str]:
    """Fields of `sent` the schema dropped: the API server would prune them silently."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [where or "."]
        return [p for k, v in sent.items() for p in
                (_pruned(v, kept[k], f"{where}.{k}") if k in kept else [f"{where}.{k}"])]
    if isinstance(sent, list):
        return [p for i, (a, b) in enumerate(zip(sent, kept, strict=True)) for p in _pruned(a, b, f"{where}[{i}]")]
    return [] if sent == kept else [f"{where}: {sent!r} became {kept!r}"]


def configmap_problems(obj: dict[str, Any]) -> list[str]:
    """ConfigMap is core Kubernetes, not a CRD: check its shape and that each dashboard is JSON."""
    import json
    import re

    problems = []
    if obj["apiVersion"] != "v1" or set(obj) != {"apiVersion", "kind", "metadata", "data"}:
        problems.append("not a v1 ConfigMap with metadata and data only")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", obj["metadata"]["name"]):
        problems.append(f"bad name {obj['metadata']['name']!r}")
    for key, value in obj["data"].items():
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key) or not isinstance(value, str):
            problems.append(f"bad data key {key!r}")
        elif json.loads(value).get("uid") is None:
            problems.append(f"{key}: not a dashboard")
    return problems


def crd_problems(obj: dict[str, Any]) -> list[str]:
    """Schema errors (types, patterns, enums, required fields) plus any field the schema does not know."""
    if obj["kind"] == "ConfigMap":
        return configmap_problems(obj)
    model = CRDS[obj["kind"]]
    try:
        parsed = model.model_validate(obj)
    except Exception as exc:  # pydantic.ValidationError, listed per field
        return [str(exc)]
    return _pruned(obj, parsed.model_dump(by_alias=True, exclude_unset=True, mode="json"))


def test_every_object_passes_the_operator_crd_schema(objects):
    kinds = sorted({o["kind"] for o in objects})
    assert {"PrometheusRule", "ServiceMonitor", "PodMonitor"} <= set(kinds)
    for obj in objects:
        assert crd_problems(obj) == [], (obj["kind"], obj["metadata"]["name"])


def test_the_validator_catches_what_the_operator_would_refuse_or_prune(objects):
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    bad_interval = {**rule, "spec": {"groups": [{**rule["spec"]["groups"][0], "interval": "soon"}]}}
    assert crd_problems(bad_interval)
    unknown = {**rule, "spec": {**rule["spec"], "tenant": "x"}}
    assert crd_problems(unknown) == [".spec.tenant"]
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    wrong_place = {**monitor, "spec": {**monitor["spec"], "endpoints": monitor["spec"]["podMetricsEndpoints"]}}
    assert crd_problems(wrong_place) == [".spec.endpoints"]


def test_namespace_and_selector_labels_come_from_the_project(objects, specs):
    for obj in objects:
        assert obj["metadata"]["namespace"] == "observability"
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules = [o for o in objects if o["kind"] == "PrometheusRule"]
    assert all(o["metadata"]["labels"]["role"] == "alert-rules" for o in rules)
    monitors = [o for o in objects if o["kind"] != "PrometheusRule"]
    assert all("role" not in o["metadata"]["labels"] for o in monitors)
    extra = [a.data for a in render_all(load_and_validate([specs]).fleet, ("kubernetes",))
             if a.path.startswith("kubernetes/") and a.data["kind"] in ("AlertmanagerConfig", "ConfigMap")]
    configs = [o for o in extra if o["kind"] == "AlertmanagerConfig"]
    maps = [o for o in extra if o["kind"] == "ConfigMap"]
    assert configs and maps
    assert all(o["metadata"]["labels"]["alertmanagerConfig"] == "mlmon" for o in configs)
    assert all(o["metadata"]["namespace"] == "grafana" and o["metadata"]["labels"]["grafana_dashboard"] == "1"
               for o in maps)


def test_monitors_keep_the_job_label_the_rules_select(objects):
    """The rules' ModelDown reads up{job="mlmon-<model>"}; the monitor must produce that job."""
    for obj in objects:
        if obj["kind"] == "PrometheusRule":
            continue
        model = obj["metadata"]["labels"]["mlmon.io/model"]
        endpoints = obj["spec"].get("endpoints") or obj["spec"]["podMetricsEndpoints"]
        relabel = endpoints[0]["relabelings"]
        assert {"action": "replace", "targetLabel": "job", "replacement": f"mlmon-{model}"} in relabel
        rule = next(o for o in objects if o["kind"] == "PrometheusRule" and o["metadata"]["name"] ==
                    obj["metadata"]["name"])
        exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "ModelDown"]
        assert f'up{{job="mlmon-{model}"}}' in exprs[0]


def test_pod_role_gives_a_pod_monitor_with_the_spec_selector(objects):
    pod = next(o for o in objects if o["kind"] == "PodMonitor")
    fraud = yaml.safe_load((ROOT / "specs" / "fraud-detector.yaml").read_text())["scrape"]["kubernetes"]
    assert pod["spec"]["selector"]["matchLabels"] == fraud["selector"]
    assert pod["spec"]["namespaceSelector"]["matchNames"] == fraud["namespaces"]
    assert pod["spec"]["podMetricsEndpoints"][0]["port"] == fraud["port"]


def test_object_names_are_dns_labels_even_for_underscored_models(objects):
    import re

    for obj in objects:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"]), obj["metadata"]["name"]
    assert len({(o["kind"], o["metadata"]["name"]) for o in objects}) == len(objects)


def test_rules_inside_the_prometheus_rules_pass_promtool(objects, tmp_path):
    files = []
    for obj in objects:
        if obj["kind"] == "PrometheusRule":
            f = tmp_path / f"{obj['metadata']['name']}.yml"
            f.write_text(yaml.safe_dump(obj["spec"], sort_keys=False))
            files.append(f)
    run = promtool.check_rules(files)
    assert run.ok, run.output


def test_cli_writes_the_tree_with_a_kustomization_over_every_object(specs, tmp_path):
    out = tmp_path / "out"
    result = run_mlmon("generate", str(specs), "-o", str(out), "--target", "kubernetes")
    assert result.returncode == 0, result.stderr
    kust = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())
    on_disk = sorted(p.relative_to(out / "kubernetes").as_posix() for p in (out / "kubernetes").rglob("*.yaml")
                     if p.name != "kustomization.yaml")
    assert kust["resources"] == on_disk
    for rel in on_disk:
        assert crd_problems(yaml.safe_load((out / "kubernetes" / rel).read_text())) == [], rel
    # Deterministic: a second run is byte-identical.
    again = run_mlmon("generate", str(specs), "-o", str(out), "--target", "kubernetes", "--check")
    assert again.returncode == 0, again.stdout + again.stderr


def test_every_kubernetes_artifact_is_covered_by_the_validator(specs):
    """A new object kind (AlertmanagerConfig, dashboard ConfigMap) must not slip past validation."""
    artifacts = [a for a in render_all(load_and_validate([specs]).fleet, ("kubernetes",))
                 if a.path.startswith("kubernetes/") and a.path != "kubernetes/kustomization.yaml"]
    assert artifacts
    assert {"PrometheusRule", "PodMonitor", "ServiceMonitor", "AlertmanagerConfig", "ConfigMap"} == {
        a.data["kind"] for a in artifacts}
    for a in artifacts:
        assert crd_problems(a.data) == [], a.path


def test_bad_kubernetes_settings_are_located_errors(specs, tmp_path):
    bad = tmp_path / "specs"
    shutil.copytree(specs, bad)
    text = (bad / "mlmon.yaml").read_text().replace("release: kube-prometheus-stack, role", "release: 'a b', role")
    (bad / "mlmon.yaml").write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "'a b'" in t)
    result = run_mlmon("generate", str(bad), "-o", str(tmp_path / "out"), "--target", "kubernetes")
    assert result.returncode == 2
    assert f"mlmon.yaml:{line}:17: kubernetes.rule_labels.release:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
