"""Quality without labels under promtool: the expected accuracy (mean top-class confidence) the
rules record equals numpy's mean of the same synthetic confidences, ExpectedAccuracyDrop fires
once the confidences drop (and not before, nor on too few predictions), and the calibration gap
equals the numpy mean minus the labelled accuracy. Expected numbers come from the inputs here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import promtool_test

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

TOL = 1e-9
SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: churn, team: growth}
model: {classes: [stay, leave]}
scrape: {targets: ["churn:8000"]}
predictions: {expected_accuracy: 0.9, expected_accuracy_drop: 0.05, calibration_gap_max: 0.1}
ground_truth: {window: 1h}
"""
SEL = 'model_name="churn"'
BASE = 'model="churn", team="growth", severity="warning"'
# Batches arrive at minute 5, 15, 25, ...: never on a window's edge (whole multiples of 10 minutes),
# so Prometheus 2 (closed ranges) and 3 (left-open) see the same batches in every window.
BATCH_MINUTES = list(range(5, 360, 10))
MINUTES = 370


@pytest.fixture(scope="module")
def rule_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quality")
    (root / "churn.yaml").write_text(SPEC)
    fleet = load_and_validate([root / "churn.yaml"]).fleet
    path = root / "rules.yml"
    path.write_text(dump_yaml(rules.render(fleet.models[0], fleet.project)))
    return path


def batches(size: int, seed: int) -> list[np.ndarray]:
    """Confidences per batch: around 0.9 for three hours, then around 0.7."""
    rng = np.random.default_rng(seed)
    return [rng.beta(18, 2, size) if t < 180 else rng.beta(7, 3, size) for t in BATCH_MINUTES]


def cumulative(per_batch: list[float]) -> str:
    """A counter's per-minute values: each batch's amount added at its minute."""
    by_minute = dict(zip(BATCH_MINUTES, per_batch, strict=True))
    total, out = 0.0, []
    for minute in range(MINUTES + 1):
        total += by_minute.get(minute, 0.0)
        out.append(repr(total))
    return " ".join(out)


def in_window(values: list[np.ndarray], end_min: int, window_min: int = 60) -> np.ndarray:
    kept = [v for t, v in zip(BATCH_MINUTES, values, strict=True) if end_min - window_min < t <= end_min]
    return np.concatenate(kept)


def confidence_series(conf: list[np.ndarray]) -> list[dict[str, str]]:
    labels = f'{SEL}, predicted_class="stay"'
    sums, counts = [float(c.sum()) for c in conf], [float(len(c)) for c in conf]
    return [{"series": f"ml_prediction_confidence_sum{{{labels}}}", "values": cumulative(sums)},
            {"series": f"ml_prediction_confidence_count{{{labels}}}", "values": cumulative(counts)}]


def near(expr: str, value: float, at: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {TOL}", "eval_time": at,
            "exp_samples": [{"labels": '{model="churn"}', "value": 1}]}


def alerts(name: str, at: str, firing: bool) -> dict[str, Any]:
    expr = f'ALERTS{{alertname="{name}", alertstate="firing"}}'
    labels = f'ALERTS{{alertname="{name}", alertstate="firing", {BASE}}}'
    return {"expr": expr, "eval_time": at, "exp_samples": [{"labels": labels, "value": 1}] if firing else []}


def run_promtool(rule_path: Path, tests: list[dict[str, Any]]) -> None:
    promtool_test(rule_path, tests, "quality")


def test_expected_accuracy_matches_numpy_and_drop_alert(rule_path):
    conf = batches(30, seed=3)
    healthy, dropped = float(in_window(conf, 120).mean()), float(in_window(conf, 300).mean())
    assert healthy > 0.9 - 0.05 > dropped  # the scenario: above the alert's floor, then below it
    assert len(in_window(conf, 300)) >= 100  # the default min_samples guard lets it fire
    few = batches(5, seed=4)  # a sixth of the predictions: under min_samples in every window
    assert len(in_window(few, 300)) < 100 and float(in_window(few, 300).mean()) < 0.85
    run_promtool(rule_path, [
        {"interval": "1m", "input_series": confidence_series(conf), "promql_expr_test": [
            near("mlmon_ml:expected_accuracy:increase1h", healthy, "2h"),
            near("mlmon_ml:expected_accuracy:increase1h", dropped, "5h"),
            near("mlmon_ml:expected_accuracy:baseline", 0.9, "5h"),
            alerts("ExpectedAccuracyDrop", "2h", False),
            alerts("ExpectedAccuracyDrop", "3h", False),  # the last healthy window
            alerts("ExpectedAccuracyDrop", "5h", True),
        ]},
        {"interval": "1m", "input_series": confidence_series(few), "promql_expr_test": [
            alerts("ExpectedAccuracyDrop", "5h", False)]},
    ])


def test_calibration_gap_matches_numpy_and_alerts(rule_path):
    conf = batches(30, seed=5)
    # Labels: right 90% of the time throughout, so the dropped confidences under-promise by ~0.2.
    rng = np.random.default_rng(6)
    right = [rng.random(len(c)) < 0.9 for c in conf]
    gt = [{"series": f'ml_ground_truth_total{{{SEL}, predicted_class="stay", actual_class="{actual}"}}',
           "values": cumulative([float(np.sum(r == hit)) for r in right])}
          for actual, hit in (("stay", True), ("leave", False))]
    gaps = {end: float(in_window(conf, end).mean() - in_window(right, end).mean()) for end in (120, 300)}
    assert abs(gaps[120]) < 0.1 < abs(gaps[300])
    run_promtool(rule_path, [{"interval": "1m", "input_series": confidence_series(conf) + gt, "promql_expr_test": [
        near("mlmon_ml:calibration_gap:increase1h", gaps[120], "2h"),
        near("mlmon_ml:calibration_gap:increase1h", gaps[300], "5h"),
        alerts("CalibrationGap", "3h", False),
        alerts("CalibrationGap", "5h", True),
    ]}])
