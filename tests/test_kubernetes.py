"""`--target kubernetes`: every object passes the prometheus-operator CRD schemas (cloudcoil's
pydantic models, generated from the operator's CRDs) and the rules inside pass promtool."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as op_v1
from cloudcoil.models.prometheus_operator import v1alpha1 as op_v1alpha1
from conftest import ROOT, invoke_mlmon, run_mlmon
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmon_codegen.build.generate import render_all
from mlmon_codegen.check import promtool
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets import alertmanager as am_target
from mlmon_codegen.targets.kubernetes import alertmanager_config as extras

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
    assert "warning: alertmanager.time_intervals.business-hours[0].location:" in result.stderr  # said, not fatal
    kust = yaml.safe_load((out / "kubernetes" / "kustomization.yaml").read_text())
    on_disk = sorted(p.relative_to(out / "kubernetes").as_posix() for p in (out / "kubernetes").rglob("*.yaml")
                     if p.name != "kustomization.yaml")
    assert kust["resources"] == on_disk
    for rel in on_disk:
        assert crd_problems(yaml.safe_load((out / "kubernetes" / rel).read_text())) == [], rel
    # Deterministic: a second run (in this process, the first was another) is byte-identical.
    again = invoke_mlmon("generate", str(specs), "-o", str(out), "--target", "kubernetes", "--check")
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
    result = invoke_mlmon("generate", str(bad), "-o", str(tmp_path / "out"), "--target", "kubernetes")
    assert result.returncode == 2
    assert f"mlmon.yaml:{line}:17: kubernetes.rule_labels.release:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- AlertmanagerConfig translation

# Two teams' secrets under one basename, a basename no Secret key can be, and settings that have
# their own CRD field (a file shared by two receivers must keep one key).
VARIANT = {
    "/etc/alertmanager/secrets/pagerduty-ml-platform": "/etc/am/ml-platform/token",
    "{api_key_file: /etc/alertmanager/secrets/opsgenie-risk}":
        "{api_key_file: /etc/am/risk/token, api_url: 'https://api.eu.opsgenie.com/'}",
    "auth_password_file: /etc/alertmanager/secrets/smtp-password":
        "auth_password_file: /etc/alertmanager/secrets/smtp password@prod\n          require_tls: false",
    "- url: https://ci.example.com/api/v1/retrain":
        "- url: https://ci.example.com/api/v1/retrain\n          max_alerts: 5",
    "        location: Europe/Berlin\n": "        days_of_month: ['1:7', -1, 15]\n        location: Europe/Berlin\n",
}


@pytest.fixture(scope="module")
def variant(specs, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """The AlertmanagerConfigs of the example project with VARIANT applied, by team."""
    folder = tmp_path_factory.mktemp("variant") / "specs"
    shutil.copytree(specs, folder)
    text = (folder / "mlmon.yaml").read_text()
    for old, new in VARIANT.items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / "mlmon.yaml").write_text(text)
    configs = [a.data for a in render_all(load_and_validate([folder]).fleet, ("kubernetes",))
               if a.path.startswith("kubernetes/alertmanagerconfig/")]
    return {c["spec"]["route"]["matchers"][0]["value"]: c for c in configs}


def _secret_refs(obj: Any) -> list[str]:
    """Every key of the mlmon Secret an object reads, in document order."""
    if isinstance(obj, dict):
        if set(obj) == {"name", "key"} and obj["name"] == extras.KUBERNETES_SECRET:
            return [obj["key"]]
        return [k for v in obj.values() for k in _secret_refs(v)]
    if isinstance(obj, list):
        return [k for v in obj for k in _secret_refs(v)]
    return []


def _valid_secret_key(key: str) -> bool:
    return (re.fullmatch(r"[-._a-zA-Z0-9]+", key) is not None and len(key) <= 253 and key != "."
            and not key.startswith(".."))


def test_secret_keys_keep_unique_basenames_and_tell_shared_ones_apart():
    paths = ["/etc/am/team-b/token", "/etc/am/team-a/token", "/etc/am/slack-url", "/etc/am/smtp password@prod",
             "/x/token", "/z/etc_am_team-a_token", "/..hidden/..key", "/" + "d/" * 200 + "long"]
    keys = extras.secret_keys(paths)
    assert keys["/etc/am/slack-url"] == "slack-url"  # unique and valid: readable as is
    assert keys["/etc/am/team-a/token"] != keys["/etc/am/team-b/token"]
    assert "team-a" in keys["/etc/am/team-a/token"] and "team-b" in keys["/etc/am/team-b/token"]
    assert "smtp_password_prod" in keys["/etc/am/smtp password@prod"]
    assert len(set(keys.values())) == len(paths)
    assert all(_valid_secret_key(k) for k in keys.values()), keys
    assert extras.secret_keys(reversed(paths)) == keys  # the same set, the same keys


@given(st.lists(st.text(alphabet="/._- @aAb1", min_size=1, max_size=30).map(lambda s: "/" + s), max_size=12))
@settings(max_examples=300, deadline=None)
def test_secret_keys_are_valid_and_unique_for_any_paths(paths):
    keys = extras.secret_keys(paths)
    assert set(keys) == set(paths)
    assert len(set(keys.values())) == len(keys)
    assert all(_valid_secret_key(k) for k in keys.values()), keys


def test_receivers_whose_files_share_a_basename_read_different_secret_keys(variant):
    (pager,) = _secret_refs(next(r for r in variant["ml-platform"]["spec"]["receivers"]
                                 if r["name"] == "ml-platform-pager"))
    risk = {r["name"]: _secret_refs(r) for r in variant["risk"]["spec"]["receivers"]}
    (opsgenie,), (smtp,) = risk["risk-pager"], risk["risk-tickets"]
    assert pager != opsgenie
    assert _valid_secret_key(smtp)
    # The annotation tells the cluster owner which file each key must hold.
    for team, config in variant.items():
        files = json.loads(config["metadata"]["annotations"][extras.SECRET_KEYS_ANNOTATION])
        assert sorted(files) == sorted(set(_secret_refs(config["spec"]))), team
    assert json.loads(variant["ml-platform"]["metadata"]["annotations"][extras.SECRET_KEYS_ANNOTATION])[pager] == \
        "/etc/am/ml-platform/token"
    risk_files = json.loads(variant["risk"]["metadata"]["annotations"][extras.SECRET_KEYS_ANNOTATION])
    assert risk_files[opsgenie] == "/etc/am/risk/token"
    assert risk_files[smtp] == "/etc/alertmanager/secrets/smtp password@prod"
    # Both teams' Slack/CI files keep their readable basename.
    assert risk_files["ci-retrain-token"] == "/etc/alertmanager/secrets/ci-retrain-token"
    for config in variant.values():
        assert crd_problems(config) == [], config["metadata"]["name"]


def test_every_receiver_setting_has_its_crd_field(variant):
    risk = {r["name"]: r for r in variant["risk"]["spec"]["receivers"]}
    assert risk["risk-pager"]["opsgenieConfigs"][0]["apiURL"] == "https://api.eu.opsgenie.com/"
    assert risk["risk-tickets"]["emailConfigs"][0]["requireTLS"] is False
    assert risk["retrain-ci"]["webhookConfigs"][0]["maxAlerts"] == 5
    pager = next(r for r in variant["ml-platform"]["spec"]["receivers"] if r["name"] == "ml-platform-pager")
    assert pager["pagerdutyConfigs"][0]["severity"] == am_target.PAGERDUTY_SEVERITY
    # A setting the translation does not know is a bug to report, not a field to drop.
    unknown = m.ReceiverConfig("slack", (("api_url_file", "/etc/am/slack"), ("icon_emoji", ":robot:")))
    with pytest.raises(ValueError, match="icon_emoji"):
        extras._notifier("slack", unknown, {"/etc/am/slack": "slack"})


def test_days_of_month_are_start_end_ranges(variant):
    (interval,) = variant["risk"]["spec"]["muteTimeIntervals"]
    assert interval["timeIntervals"][0]["daysOfMonth"] == [{"start": 1, "end": 7}, {"start": -1, "end": -1},
                                                           {"start": 15, "end": 15}]
    assert crd_problems(variant["risk"]) == []


def test_inhibitions_are_kept_for_each_team(variant):
    for team, config in variant.items():
        rules = config["spec"]["inhibitRules"]
        assert len(rules) == len(am_target.inhibit_rules())
        own = {"name": "team", "value": team, "matchType": "="}
        assert all(own in r["sourceMatch"] and own in r["targetMatch"] for r in rules)
        model_down = next(r for r in rules if {"name": "alertname", "value": "ModelDown", "matchType": "="}
                          in r["sourceMatch"])
        assert model_down["equal"] == ["model"]
        drift = next(r for r in rules if {"name": "alertname", "value": "FeatureDriftSevere", "matchType": "="}
                     in r["sourceMatch"])
        assert {"name": "alertname", "value": "FeatureDrift", "matchType": "="} in drift["targetMatch"]
        assert drift["equal"] == ["model", "feature"]


def test_a_time_zone_the_operator_cannot_carry_is_a_located_warning(specs):
    warnings = [str(w) for w in load_and_validate([specs]).warnings]
    (warning,) = [w for w in warnings if "time_intervals" in w]
    line = next(i for i, t in enumerate((specs / "mlmon.yaml").read_text().splitlines(), 1) if "location:" in t)
    assert f"mlmon.yaml:{line}:" in warning
    assert "warning: alertmanager.time_intervals.business-hours[0].location:" in warning
    assert "'business-hours' is in Europe/Berlin" in warning and "UTC" in warning
    # Without a `kubernetes:` section, or in UTC, there is nothing to warn about.
    assert not [w for w in load_and_validate([ROOT / "specs"]).warnings if "time_intervals" in str(w)]


def test_a_utc_location_is_no_warning(specs, tmp_path):
    folder = tmp_path / "specs"
    shutil.copytree(specs, folder)
    text = (folder / "mlmon.yaml").read_text().replace("location: Europe/Berlin", "location: UTC")
    (folder / "mlmon.yaml").write_text(text)
    assert not [w for w in load_and_validate([folder]).warnings if "time_intervals" in str(w)]


def _configmap(name: str, payload_bytes: int) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                           "data": {"d.json": "x" * payload_bytes}})


def test_object_sizes_the_api_server_or_client_side_apply_would_refuse(tmp_path):
    from mlmon_codegen.check.tree import K8S_CLIENT_SIDE_APPLY_MAX, K8S_OBJECT_MAX, check_kubernetes_sizes

    folder = tmp_path / "kubernetes" / "configmap"
    folder.mkdir(parents=True)
    (folder / "small.yaml").write_text(_configmap("small", 1000))
    assert [r.ok for r in check_kubernetes_sizes(tmp_path)] == [True]
    (folder / "large.yaml").write_text(_configmap("large", K8S_CLIENT_SIDE_APPLY_MAX))  # just over, with metadata
    [run] = check_kubernetes_sizes(tmp_path)
    assert run.ok and "1 over 256 KiB" in run.note and "--server-side" in run.note
    assert run.command == ["kubernetes", "object", "sizes"]
    (folder / "huge.yaml").write_text(_configmap("huge", K8S_OBJECT_MAX))
    [run] = check_kubernetes_sizes(tmp_path)
    assert not run.ok
    assert "kubernetes/configmap/huge.yaml" in run.output and "large.yaml" not in run.output
    assert check_kubernetes_sizes(tmp_path / "nothing-here") == []
