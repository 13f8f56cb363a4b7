"""The local stack's pieces that need no server: config rewriting, the webhook recorder, the
prediction math of the end-to-end tests, and `mlmon up`'s input errors. (The stack itself runs
in tests/e2e/.)"""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path

from e2e.slo_math import psi, seconds_to_fire, window_ratio

from mlmon_codegen.core import naming
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack import configs
from mlmon_codegen.stack.webhook import WebhookRecorder
from mlmon_codegen.targets import alertmanager, prometheus_config

ROOT = Path(__file__).resolve().parents[1]


def fleet():
    return load_and_validate([ROOT / "specs"]).fleet


def test_prometheus_copy_changes_addresses_only() -> None:
    original = prometheus_config.render(fleet())
    local, dropped = configs.prometheus_config(original, {"mlmon-iris-full": "127.0.0.1:1234"}, "127.0.0.1:9")
    assert dropped == ["mlmon-fraud_detector", "mlmon-iris-classifier"]  # Kubernetes discovery; no service asked
    (job,) = local["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:1234"]}]
    assert {k: v for k, v in job.items() if k != "static_configs"} == {
        k: v for k, v in next(j for j in original["scrape_configs"] if j["job_name"] == "mlmon-iris-full").items()
        if k != "static_configs"}
    assert local["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9"]}]}]}
    assert local["global"] == original["global"] and local["rule_files"] == original["rule_files"]


def test_a_model_that_cannot_run_here_loses_its_rules_too() -> None:
    """Its rules loaded, ModelDown would page for a model that is simply not running locally."""
    f = fleet()
    original = prometheus_config.render(f)
    rule_files = {naming.job(x.name): naming.from_prometheus_config(naming.rules_file(x.name)) for x in f.models}
    local, dropped = configs.prometheus_config(original, {"mlmon-iris-full": "127.0.0.1:1234"}, "127.0.0.1:9",
                                               rule_files)
    assert local["rule_files"] == [rule_files["mlmon-iris-full"]]
    assert set(original["rule_files"]) == set(rule_files.values())  # the mapping names prometheus.yml's entries
    assert dropped == ["mlmon-fraud_detector", "mlmon-iris-classifier"]


def test_alertmanager_copy_sends_every_receiver_to_the_recorder() -> None:
    f = fleet()
    assert f.project.alertmanager is not None
    original = alertmanager.render_config(f, f.project.alertmanager)
    local = configs.alertmanager_config(original, "http://127.0.0.1:5")
    assert local["route"] == original["route"] and local["inhibit_rules"] == original["inhibit_rules"]
    by_name = {r["name"]: r for r in local["receivers"]}
    assert set(by_name) == {r["name"] for r in original["receivers"]}
    for r in original["receivers"]:
        if any(k.endswith("_configs") for k in r):
            assert by_name[r["name"]] == {"name": r["name"], "webhook_configs": [
                {"url": f"http://127.0.0.1:5/{r['name']}", "send_resolved": True}]}
        else:
            assert by_name[r["name"]] == {"name": r["name"]}  # the null receiver stays silent


def test_webhook_recorder_records_by_receiver() -> None:
    rec = WebhookRecorder()
    try:
        body = {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "ModelDown"}}]}
        req = urllib.request.Request(f"{rec.url}/team-pager", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        assert [d.receiver for d in rec.received(alertname="ModelDown")] == ["team-pager"]
        assert rec.received("other") == [] and rec.received(alertname="ModelDown", status="resolved") == []
    finally:
        rec.close()


def test_full_outage_fires_at_threshold_times_window() -> None:
    # With full windows of clean events the ratio after dt seconds of total failure is dt / W:
    # the tier fires at threshold × its longest window (9s for 0.3 over 30s and 5s).
    assert math.isclose(seconds_to_fire((5.0, 30.0), 0.3, seen_before=1e9, bad=1.0), 9.0, abs_tol=0.02)
    # A short clean history fills the long window less, so the same tier fires sooner.
    assert seconds_to_fire((5.0, 30.0), 0.3, seen_before=10.0, bad=1.0) < 5.0
    assert window_ratio(3.0, 30.0, seen_before=1e9, bad=0.5, base=0.1) == (0.5 * 3 + 0.1 * 27) / 30
    # A fault that halves the traffic halves the weight of the bad events: it fires later.
    assert window_ratio(3.0, 30.0, seen_before=1e9, bad=1.0, weight=0.5) == 1.5 / 28.5
    assert seconds_to_fire((5.0, 30.0), 0.3, 1e9, 1.0, weight=0.5) > 9.0


def test_psi_is_zero_without_drift_and_grows_with_it() -> None:
    base = [0.25, 0.25, 0.25, 0.25]
    assert psi(base, base, 1e-4) == 0
    assert 0 < psi([0.3, 0.2, 0.25, 0.25], base, 1e-4) < psi([0.5, 0.0, 0.25, 0.25], base, 1e-4)


def test_up_without_generated_output_is_a_usage_error(mlmon, tmp_path: Path) -> None:
    result = mlmon("up", str(tmp_path / "nowhere"), "--for", "1s")
    assert result.returncode == 2
    assert "prometheus.yml: not found" in result.stderr and "Traceback" not in result.stderr


def test_the_webhook_log_says_when_which_model_and_which_alert() -> None:
    from mlmon_codegen.stack.webhook import Delivery, describe

    body = {"status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "PredictionSkew", "model": "iris-full", "severity": "warning"}},
        {"status": "resolved", "labels": {"alertname": "ModelDown", "model": "iris-classifier"}}]}
    line = describe(Delivery(0.0, "ml-tickets", body))
    assert line.startswith("1970-01-01T00:00:00Z webhook ml-tickets: ")
    assert "firing PredictionSkew{model=iris-full}" in line and "resolved ModelDown{model=iris-classifier}" in line
    assert "severity" not in line
