"""Alert control (what SLO authors expect from Sloth and Pyrra): recordings-only SLOs, families
turned off, ML alerts disabled by name, a name prefix, per-SLO and per-tier labels, annotations
and severity, the SLO's description on its alerts, and the seed article's `slos:`-only file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.core import naming

MODEL = "iris-full"
PREFIX = "Fraud"
DESCRIPTION = "Fraud scores reach the checkout in time"
DISABLED = ["PredictionSkew", "RetrainOnStaleModel"]


def _controlled_spec() -> dict[str, Any]:
    spec = yaml.safe_load((ROOT / "specs" / f"{MODEL}.yaml").read_text())
    spec["slos"]["availability"] = {
        "objective": 99.9, "period": "30d", "description": DESCRIPTION,
        "alerts": {"labels": {"component": "scoring"},
                   "annotations": {"playbook": "see the {{ $labels.slo }} playbook"},
                   "page-fast": {"severity": "warning", "labels": {"escalation": "fast"}}}}
    spec["slos"]["latency"]["alerts"] = {"enabled": False}
    spec["alerting"] = {"name_prefix": PREFIX, "disable": DISABLED, "no_data": {"for": "15m"}}
    return spec


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("alert-control")
    specs = root / "specs"
    specs.mkdir()
    for name in ("mlmon.yaml", f"{MODEL}.baseline.yaml"):
        shutil.copy(ROOT / "specs" / name, specs / name)
    # A dashboard and runbooks of the model's own: what `alerting.disable` must leave no trace in.
    project = specs / "mlmon.yaml"
    project.write_text(project.read_text() + "dashboards: per_model\nrunbooks: per_model\n")
    (specs / f"{MODEL}.yaml").write_text(yaml.safe_dump(_controlled_spec(), sort_keys=False))
    r = invoke_mlmon("generate", str(specs), "-o", str(root / "out"))
    assert r.returncode == 0, r.stderr
    return root


def _rules(out: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load((out / naming.rules_file(MODEL)).read_text())
    return [r for g in data["groups"] for r in g["rules"]]


def _alerts(out: Path) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in _rules(out) if "alert" in r}


def test_generated_tree_passes_check_with_every_control(generated: Path) -> None:
    # The prefixed names, tier severity and the SLO's labels and annotations in the generated unit
    # tests all run under promtool, with Alertmanager's config and routing tests.
    r = invoke_mlmon("check", str(generated / "out"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "promtool test rules" in r.stdout


def test_prefix_renames_every_alert(generated: Path) -> None:
    out = generated / "out"
    names = list(_alerts(out))
    assert names and all(n.startswith(PREFIX) for n in names)
    tests = yaml.safe_load((out / naming.unit_test_file(MODEL)).read_text())["tests"]
    tested = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])}
    assert tested and tested <= set(names)
    runbooks = {p.stem for p in (out / "runbooks" / MODEL).glob("*.md")}
    assert runbooks == set(names)
    am = yaml.safe_load((out / naming.ALERTMANAGER_CONFIG).read_text())
    by_name = [m for rule in am["inhibit_rules"] for m in rule["source_matchers"] + rule["target_matchers"]
               if m.startswith("alertname")]
    assert by_name and all(f'"{PREFIX}' in m for m in by_name)


def test_recordings_only_slo_keeps_recordings_and_its_no_data_alert(generated: Path) -> None:
    rules = _rules(generated / "out")
    recorded = {r["record"] for r in rules if "record" in r and r.get("labels", {}).get("slo") == "latency"}
    assert naming.slo_error_ratio(300_000) in recorded
    latency_alerts = [r["alert"] for r in rules if "alert" in r and r.get("labels", {}).get("slo") == "latency"]
    assert latency_alerts == [naming.no_data_alert("latency", PREFIX)]
    no_data = _alerts(generated / "out")[naming.no_data_alert("latency", PREFIX)]
    assert no_data["for"] == "15m"


def test_disabled_ml_alerts_are_gone_everywhere(generated: Path) -> None:
    out = generated / "out"
    gone = {f"{PREFIX}{n}" for n in DISABLED}
    assert not gone & set(_alerts(out))
    assert not any((out / "runbooks" / MODEL / f"{n}.md").exists() for n in gone)
    assert (out / "runbooks" / MODEL / f"{PREFIX}FeatureDrift.md").exists()  # the others stay
    # No remaining alert links to the panels only the disabled alerts opened.
    dashboard = json.loads((out / naming.dashboard_file(MODEL)).read_text())
    ids = {p["id"]: p.get("title") for p in _panels(dashboard)}
    linked = {int(a["annotations"]["dashboard_url"].split("viewPanel=")[1])
              for a in _alerts(out).values() if "viewPanel=" in a["annotations"]["dashboard_url"]}
    assert linked <= set(ids)
    explained = invoke_mlmon("explain", "--json", str(generated / "specs"))
    listed = {a["name"] for x in json.loads(explained.stdout)["models"] for a in x["alerts"]}
    assert f"{PREFIX}FeatureDrift" in listed and not gone & listed


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in dashboard["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def test_slo_labels_annotations_and_description_reach_burn_and_no_data_alerts(generated: Path) -> None:
    alerts = _alerts(generated / "out")
    fast = alerts[naming.burn_alert("availability", "page-fast", PREFIX)]
    slow = alerts[naming.burn_alert("availability", "page-slow", PREFIX)]
    no_data = alerts[naming.no_data_alert("availability", PREFIX)]
    assert fast["labels"]["severity"] == "warning" and slow["labels"]["severity"] == "critical"
    assert fast["labels"]["escalation"] == "fast" and "escalation" not in slow["labels"]
    for alert in (fast, slow, no_data):
        assert alert["labels"]["component"] == "scoring"
        assert alert["annotations"]["slo_description"] == DESCRIPTION
        assert alert["annotations"]["playbook"] == "see the {{ $labels.slo }} playbook"
    runbook = (generated / "out" / naming.runbook_file(MODEL, slow["alert"])).read_text()
    assert DESCRIPTION in runbook


def test_tier_severity_fires_under_promtool(generated: Path, tmp_path: Path) -> None:
    """A hand-written promtool test: every request fails, so page-fast fires with the severity
    the spec gives it, and the recordings-only latency SLO records its ratio but never alerts."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    rules = generated / "out" / naming.rules_file(MODEL)
    sel = f'model_name="{MODEL}"'
    test = {
        "rule_files": [str(rules)], "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f'up{{job="{naming.job(MODEL)}", instance="a"}}', "values": "1x90"},
                {"series": f"ml_prediction_requests_total{{{sel}}}", "values": "0+100x90"},
                {"series": f"ml_prediction_errors_total{{{sel}}}", "values": "0+100x90"},
                {"series": f'ml_prediction_latency_seconds_bucket{{{sel}, le="0.1"}}', "values": "0x90"},
                {"series": f"ml_prediction_latency_seconds_count{{{sel}}}", "values": "0+100x90"},
            ],
            "promql_expr_test": [
                {"expr": f'ALERTS{{alertname="{naming.burn_alert("availability", "page-fast", PREFIX)}", '
                         'alertstate="firing"}', "eval_time": "80m",
                 "exp_samples": [{"labels": _alerts_labels(
                     alertname=naming.burn_alert("availability", "page-fast", PREFIX), alertstate="firing",
                     component="scoring", escalation="fast", model=MODEL, severity="warning",
                     slo="availability", team="ml-platform", tier="page-fast"), "value": 1}]},
                {"expr": f'{naming.slo_error_ratio(300_000)}{{slo="latency"}}', "eval_time": "80m",
                 "exp_samples": [{"labels": f'{naming.slo_error_ratio(300_000)}{{model="{MODEL}", slo="latency"}}',
                                  "value": 1}]},
                {"expr": 'ALERTS{slo="latency", tier!=""}', "eval_time": "80m", "exp_samples": []},
            ],
        }],
    }
    path = tmp_path / "control.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    run = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def _alerts_labels(**labels: str) -> str:
    return "ALERTS{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_model_down_and_no_data_families_turn_off(tmp_path: Path) -> None:
    spec = _controlled_spec()
    spec["alerting"] = {"model_down": {"enabled": False}, "no_data": {"enabled": False}}
    shutil.copy(ROOT / "specs" / f"{MODEL}.baseline.yaml", tmp_path / f"{MODEL}.baseline.yaml")
    (tmp_path / f"{MODEL}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    r = invoke_mlmon("generate", str(tmp_path), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    names = set(_alerts(tmp_path / "out"))
    assert naming.burn_alert("availability", "page-slow") in names
    assert not {n for n in names if n.endswith(("SLINoData", naming.MODEL_DOWN_ALERT))}


def test_no_data_for_and_its_older_spelling_conflict(tmp_path: Path) -> None:
    spec = _controlled_spec()
    spec["alerting"] = {"no_data_for": "5m", "no_data": {"for": "15m"}}
    shutil.copy(ROOT / "specs" / f"{MODEL}.baseline.yaml", tmp_path / f"{MODEL}.baseline.yaml")
    (tmp_path / f"{MODEL}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    r = invoke_mlmon("validate", str(tmp_path / f"{MODEL}.yaml"))
    assert r.returncode == 2
    assert "alerting.no_data_for: both `no_data_for` and `no_data.for` are set" in r.stderr


SEED = """\
slos:
  fraud_detector:
    availability: {target: 99.9, window: 30d}
    latency: {p99_target_ms: 100}
"""


def test_seed_file_form_generates_a_model_and_notes_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text(SEED)
    v = invoke_mlmon("validate", str(tmp_path / "slo.yaml"))
    assert v.returncode == 0, v.stderr
    note = [line for line in v.stderr.splitlines() if "note: seed form" in line]
    assert len(note) == 1 and note[0].startswith(f"{tmp_path / 'slo.yaml'}:2:3: warning:")
    assert "team: default" in note[0] and "no scrape section" in note[0]
    r = invoke_mlmon("generate", str(tmp_path), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    names = set(_alerts_of(tmp_path / "out", "fraud_detector"))
    assert {naming.burn_alert("availability", "page-fast"), naming.no_data_alert("latency-p99")} <= names
    assert not (tmp_path / "out" / "prometheus" / "prometheus.yml").read_text().count(naming.job("fraud_detector"))


def test_seed_file_form_locates_problems_in_the_seed(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text("slos:\n  fraud_detector:\n    availability: {target: 100}\n")
    r = invoke_mlmon("validate", str(tmp_path / "slo.yaml"))
    assert r.returncode == 2
    assert f"{tmp_path / 'slo.yaml'}:3:" in r.stderr and "slos.availability.target" in r.stderr


def _alerts_of(out: Path, model: str) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((out / naming.rules_file(model)).read_text())
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}
