"""Multi-replica safety: a Thanos/Mimir ruler (or an HA pair writing to one store) sees every
series once per replica. The generated joins and re-recordings must still give one series and
one alert per model and SLO, with external labels set."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from conftest import ROOT, invoke_mlmon

SPEC = ROOT / "tests" / "scenarios" / "slo-99.9-30d.yaml"
PAGE_FAST = ('ALERTS{alertname="AvailabilityErrorBudgetBurnPageFast", alertstate="firing", model="workbook", '
             'severity="critical", slo="availability", team="sre", tier="page-fast"}')


def _test_file() -> dict:
    """Two replicas scrape the same service; the other ruler replica's recordings are in the store.
    10% errors is 100x the budget: page-fast (14.4x over 1h and 5m) must fire, once."""
    slo = 'model="workbook", slo="availability"'
    series = []
    for replica in ("a", "b"):
        series += [
            {"series": f'up{{job="mlmon-workbook", instance="workbook:8000", replica="{replica}"}}',
             "values": "1x120"},
            {"series": f'ml_prediction_requests_total{{model_name="workbook", replica="{replica}"}}',
             "values": "0+1000x120"},
            {"series": f'ml_prediction_errors_total{{model_name="workbook", replica="{replica}"}}',
             "values": "0+100x120"},
        ]
    for rec in ("error_ratio:rate5m", "error_ratio:rate1h"):
        series.append({"series": f'mlmon_slo:{rec}{{{slo}, replica="b"}}', "values": "0.1x120"})
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "name": "HA pair seen through a non-deduplicating querier",
            "interval": "1m",
            "external_labels": {"cluster": "demo", "replica": "a"},
            "input_series": series,
            "promql_expr_test": [
                {"expr": 'ALERTS{alertstate="firing", tier="page-fast"}', "eval_time": "1h30m",
                 "exp_samples": [{"labels": PAGE_FAST, "value": 1}]},
                # Recorded series carry model and slo only, never a replica's labels; both replicas'
                # counters count in the period ratio: 2 x 100 errors over 2 x 1000 requests a minute.
                {"expr": f"mlmon_slo:error_ratio:period{{{slo}}}", "eval_time": "1h30m",
                 "exp_samples": [{"labels": f"mlmon_slo:error_ratio:period{{{slo}}}", "value": 0.1}]},
            ],
        }],
    }


def _run(tmp_path: Path, rules_text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rules.yml").write_text(rules_text)
    (tmp_path / "replicas.test.yml").write_text(yaml.safe_dump(_test_file(), sort_keys=False))
    return subprocess.run(["promtool", "test", "rules", str(tmp_path / "replicas.test.yml")],
                          capture_output=True, text=True, timeout=120)


def _rules(tmp_path: Path) -> str:
    out = tmp_path / "out"
    result = invoke_mlmon("generate", str(SPEC), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return (out / "prometheus" / "rules" / "workbook.rules.yml").read_text()


def test_replicas_give_one_alert_and_one_series_per_slo(tmp_path):
    result = _run(tmp_path, _rules(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_replica_test_fails_for_naive_joins(tmp_path):
    """Control: the same rules without the per-(model, slo) dedup alert once per replica's series
    (the other replica's copy keeps its `replica` label), so the page is not the one expected."""
    naive = re.sub(r"max by \(model, slo\) \(([^()]*)\)", r"\1", _rules(tmp_path))
    result = _run(tmp_path, naive)
    assert result.returncode != 0
    got = (result.stdout + result.stderr).split("got:")[-1]
    assert 'replica="b"' in got and got.count("AvailabilityErrorBudgetBurnPageFast") == 2
