"""Regression models under promtool: the MAE, RMSE, mean error and MAPE the rules record equal
numpy's over the same synthetic residuals, RegressionMAEHigh and RegressionMAPEHigh fire when their
statistic exceeds its max (and not before, nor on too few labels), and the runtime's residual
counters equal numpy's sums. Expected
numbers come from the inputs here, never from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import promtool_test

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.runtime import GroundTruthStore, LabelResult, ModelMetrics
from mlmon_codegen.runtime.metrics import unservable
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

TOL = 1e-9
MAE_MAX, RMSE_MAX, MAPE_MAX, FOR_MIN, WINDOW_MIN = 2.0, 3.0, 0.05, 15, 60  # FOR_MIN: drift.for's default
SPEC = f"""\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: price, team: pricing}}
model: {{task: regression}}
scrape: {{targets: ["price:8000"]}}
regression: {{window: 1h, mae_max: {MAE_MAX}, rmse_max: {RMSE_MAX}, mape_max: {MAPE_MAX}}}
"""
SEL = 'model_name="price"'
BASE = 'model="price", team="pricing", severity="warning"'
# Batches at minute 5, 15, 25, ...: never on a window's edge, so Prometheus 2 (closed ranges) and
# 3 (left-open) see the same batches in every window.
BATCH_MINUTES = list(range(5, 360, 10))
MINUTES = 370
SHIFT_MIN = 180  # from here on the model errs more


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("regression")
    (root / "price.yaml").write_text(SPEC)
    return root / "price.yaml"


@pytest.fixture(scope="module")
def rule_path(spec_path) -> Path:
    fleet = load_and_validate([spec_path]).fleet
    path = spec_path.parent / "rules.yml"
    path.write_text(dump_yaml(rules.render(fleet.models[0], fleet.project)))
    return path


def residuals(size: int, seed: int) -> list[np.ndarray]:
    """predicted - actual per batch: biased by +0.3 with spread 1, then spread 4 from SHIFT_MIN."""
    rng = np.random.default_rng(seed)
    actual = [rng.uniform(10, 100, size) for _ in BATCH_MINUTES]
    predicted = [a + rng.normal(0.3, 1.0 if t < SHIFT_MIN else 4.0, size)
                 for a, t in zip(actual, BATCH_MINUTES, strict=True)]
    return [p - a for p, a in zip(predicted, actual, strict=True)]


def cumulative(per_batch: list[float]) -> str:
    """A counter's per-minute values: each batch's amount added at its minute."""
    by_minute = dict(zip(BATCH_MINUTES, per_batch, strict=True))
    total, out = 0.0, []
    for minute in range(MINUTES + 1):
        total += by_minute.get(minute, 0.0)
        out.append(repr(total))
    return " ".join(out)


def in_window(values: list[np.ndarray], end_min: int) -> np.ndarray:
    kept = [v for t, v in zip(BATCH_MINUTES, values, strict=True) if end_min - WINDOW_MIN < t <= end_min]
    return np.concatenate(kept)


def counter_series(res: list[np.ndarray]) -> list[dict[str, str]]:
    sums = {"ml_residuals_total": [float(len(e)) for e in res],
            "ml_residual_abs_sum_total": [float(np.abs(e).sum()) for e in res],
            "ml_residual_squared_sum_total": [float(np.square(e).sum()) for e in res],
            "ml_residual_positive_sum_total": [float(np.maximum(e, 0).sum()) for e in res]}
    return [{"series": f"{name}{{{SEL}}}", "values": cumulative(v)} for name, v in sums.items()]


def near(expr: str, value: float, minute: int) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {TOL}", "eval_time": f"{minute}m",
            "exp_samples": [{"labels": '{model="price"}', "value": 1}]}


def at_least(expr: str, value: float, minute: int) -> dict[str, Any]:
    return {"expr": f"{expr} >= bool {value!r}", "eval_time": f"{minute}m",
            "exp_samples": [{"labels": '{model="price"}', "value": 1}]}


def alerts(name: str, minute: int, firing: bool) -> dict[str, Any]:
    expr = f'ALERTS{{alertname="{name}", alertstate="firing"}}'
    labels = f'ALERTS{{alertname="{name}", alertstate="firing", {BASE}}}'
    return {"expr": expr, "eval_time": f"{minute}m", "exp_samples": [{"labels": labels, "value": 1}] if firing else []}


def run_promtool(rule_path: Path, tests: list[dict[str, Any]]) -> None:
    promtool_test(rule_path, tests, "regression")


def test_mae_rmse_and_mean_error_match_numpy(rule_path):
    res = residuals(30, seed=11)
    checks = []
    for end in (120, 300):
        e = in_window(res, end)
        checks += [near("mlmon_ml:regression_mae:increase1h", float(np.mean(np.abs(e))), end),
                   near("mlmon_ml:regression_rmse:increase1h", float(np.sqrt(np.mean(e ** 2))), end),
                   near("mlmon_ml:regression_mean_error:increase1h", float(np.mean(e)), end),
                   # The count alone is increase()'s extrapolated estimate (exact in Prometheus 2, scaled by
                   # 60/59 in 3's left-open range); the ratios above cancel that factor.
                   at_least("mlmon_ml:regression_labels:increase1h", float(len(e)), end)]
    run_promtool(rule_path, [{"interval": "1m", "input_series": counter_series(res), "promql_expr_test": checks}])


def labelled(size: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(predicted - actual, actual) per batch; two actual values of 0 in each (MAPE skips them),
    a spread of 1 and then of 8 from SHIFT_MIN."""
    rng = np.random.default_rng(seed)
    actual = [np.concatenate([rng.uniform(20, 100, size - 2), [0.0, 0.0]]) for _ in BATCH_MINUTES]
    errors = [rng.normal(0.3, 1.0 if t < SHIFT_MIN else 8.0, size) for t in BATCH_MINUTES]
    return errors, actual


def mape_series(res: list[np.ndarray], actual: list[np.ndarray]) -> list[dict[str, str]]:
    rel = {"ml_residual_relative_sum_total": [float(np.sum(np.abs(e[a != 0]) / np.abs(a[a != 0])))
                                              for e, a in zip(res, actual, strict=True)],
           "ml_residual_relative_total": [float(np.sum(a != 0)) for a in actual]}
    return [*counter_series(res), *({"series": f"{name}{{{SEL}}}", "values": cumulative(v)} for name, v in rel.items())]


def window_mape(res: list[np.ndarray], actual: list[np.ndarray], end_min: int, span: int = WINDOW_MIN) -> float:
    """span 60: Prometheus 2's [t - 1h, t]; 59: 3's (t - 1h, t], whose first sample is at t - 59m, so
    a batch there is left out."""
    kept = [t for t in BATCH_MINUTES if end_min - span < t <= end_min]
    e = np.concatenate([v for t, v in zip(BATCH_MINUTES, res, strict=True) if t in kept])
    a = np.concatenate([v for t, v in zip(BATCH_MINUTES, actual, strict=True) if t in kept])
    return float(np.mean(np.abs(e[a != 0]) / np.abs(a[a != 0])))


def test_mape_matches_numpy_and_its_alert_fires_when_it_exceeds_its_max(rule_path):
    res, actual = labelled(30, seed=14)
    first = [next(t for t in range(WINDOW_MIN, MINUTES + 1) if window_mape(res, actual, t, span) > MAPE_MAX)
             for span in (WINDOW_MIN, WINDOW_MIN - 1)]  # Prometheus 2 and 3
    early, late = min(first), max(first)
    assert early > SHIFT_MIN and late + FOR_MIN <= MINUTES and len(in_window(res, early)) >= 100
    assert window_mape(res, actual, 120) == window_mape(res, actual, 120, 59)  # no batch at 61 or 241
    run_promtool(rule_path, [{"interval": "1m", "input_series": mape_series(res, actual), "promql_expr_test": [
        near("mlmon_ml:regression_mape:increase1h", window_mape(res, actual, 120), 120),
        near("mlmon_ml:regression_mape:increase1h", window_mape(res, actual, 300), 300),
        alerts("RegressionMAPEHigh", early - 1, False),
        alerts("RegressionMAPEHigh", early + FOR_MIN - 1, False),
        alerts("RegressionMAPEHigh", late + FOR_MIN, True)]}])


def first_minute_over(res: list[np.ndarray], limit: float) -> int:
    """The first evaluation (whole minute) at which the window's MAE is above `limit`."""
    return next(t for t in range(WINDOW_MIN, MINUTES + 1) if float(np.mean(np.abs(in_window(res, t)))) > limit)


def test_mae_alert_fires_when_mae_exceeds_its_max_and_not_before(rule_path):
    res = residuals(30, seed=12)
    over = first_minute_over(res, MAE_MAX)
    assert over > SHIFT_MIN and over + FOR_MIN <= MINUTES  # the scenario: healthy first, then above the max
    assert len(in_window(res, over)) >= 100  # the default min_labels guard lets it fire
    few = residuals(5, seed=13)  # 30 labels per window: under min_labels in every window
    few_over = first_minute_over(few, MAE_MAX)
    assert few_over + FOR_MIN <= MINUTES and len(in_window(few, MINUTES)) < 100
    run_promtool(rule_path, [
        {"interval": "1m", "input_series": counter_series(res), "promql_expr_test": [
            alerts("RegressionMAEHigh", SHIFT_MIN, False),
            alerts("RegressionMAEHigh", over - 1, False),  # MAE still at or below the max
            alerts("RegressionMAEHigh", over + FOR_MIN - 1, False),  # above it, but pending for less than `for`
            alerts("RegressionMAEHigh", over + FOR_MIN, True),
        ]},
        {"interval": "1m", "input_series": counter_series(few), "promql_expr_test": [
            alerts("RegressionMAEHigh", MINUTES, False)]},
    ])


def test_runtime_counters_equal_numpy_sums(spec_path):
    mm = ModelMetrics.from_spec(spec_path)
    rng = np.random.default_rng(21)
    predicted, actual = rng.normal(50, 10, 500), rng.normal(50, 10, 500)
    for p, a in zip(predicted, actual, strict=True):
        assert mm.record_residual(float(p), float(a))
    # Ignored: NaN or infinite inputs, and a square that overflows.
    for p, a in ((math.nan, 1.0), (1.0, math.inf), (-math.inf, -math.inf), (1e200, -1e200)):
        assert not mm.record_residual(p, a)
    assert mm.record_ground_truth(3.0, 0.0)  # an actual of 0: counted, but no percentage error
    predicted, actual = np.append(predicted, 3.0), np.append(actual, 0.0)
    e = predicted - actual
    reg = mm.registry
    got = {name: reg.get_sample_value(name, {"model_name": "price"}) for name in (
        "ml_residuals_total", "ml_residual_abs_sum_total", "ml_residual_squared_sum_total",
        "ml_residual_positive_sum_total", "ml_residual_relative_sum_total", "ml_residual_relative_total")}
    assert got["ml_residuals_total"] == 501 and got["ml_residual_relative_total"] == 500
    assert got["ml_residual_relative_sum_total"] == pytest.approx(float(np.sum(np.abs(e[:500]) / np.abs(actual[:500]))),
                                                                  rel=1e-12)
    assert got["ml_residual_abs_sum_total"] == pytest.approx(float(np.abs(e).sum()), rel=1e-12)
    assert got["ml_residual_squared_sum_total"] == pytest.approx(float(np.square(e).sum()), rel=1e-12)
    assert got["ml_residual_positive_sum_total"] == pytest.approx(float(np.maximum(e, 0).sum()), rel=1e-12)


def test_store_joins_numeric_labels_into_residuals(spec_path, tmp_path):
    mm = ModelMetrics.from_spec(spec_path)
    store = GroundTruthStore(tmp_path / "gt.db", mm, clock=lambda: 1000.0)
    pairs = {"a": (12.5, 10.0), "b": (3.0, 7.25), "c": (0.1, 0.1)}
    for pid, (p, _) in pairs.items():
        assert store.log_prediction(pid, p, at=900.0)
    for pid, (_, a) in pairs.items():
        assert store.add_label(pid, a) is LabelResult.COUNTED
    assert store.add_label("a", 10.0) is LabelResult.DUPLICATE  # a replay counts nothing
    with pytest.raises(ValueError):
        store.add_label("b", "not a number")
    e = np.array([p - a for p, a in pairs.values()])
    reg = mm.registry
    assert reg.get_sample_value("ml_residuals_total", {"model_name": "price"}) == 3
    assert reg.get_sample_value("ml_residual_abs_sum_total", {"model_name": "price"}) == pytest.approx(
        float(np.abs(e).sum()), rel=1e-12)
    assert reg.get_sample_value("ml_residual_positive_sum_total", {"model_name": "price"}) == pytest.approx(
        float(np.maximum(e, 0).sum()), rel=1e-12)
    assert reg.get_sample_value("ml_ground_truth_lag_seconds_count", {"model_name": "price"}) == 3
    store.close()


def test_a_classifier_needs_no_residual_roles_and_a_regression_model_does(spec_path, tmp_path):
    fleet = load_and_validate([spec_path]).fleet
    model = fleet.models[0]
    assert unservable(model) is None
    other = tmp_path / "price.yaml"
    # No rmse_max: validation needs residual_squared only for it; the runtime always writes it.
    other.write_text(SPEC.replace(f", rmse_max: {RMSE_MAX}", "") + "metrics: {residual_squared: null}\n")
    lacking = load_and_validate([other]).fleet.models[0]
    assert "residual_squared" in (unservable(lacking) or "")


# ---------------------------------------------------------------- an SLO on |residual| <= threshold

SLO_SPEC = SPEC.replace("rmse_max: ", "slo: {objective: 95, threshold: 5, period: 7d}, rmse_max: ")
PER_MIN, BAD_FROM = 60, 60  # labels per minute; every one off by more than the threshold from minute 60


def test_residual_slo_pages_when_the_share_over_the_threshold_burns_its_budget(tmp_path):
    """page-fast at 7d: windows 15m and 1m, factor 13.44, so it fires once more than 13.44 x 5% =
    67.2% of the labels in both windows are off by more than 5. Samples every 15 s, every label bad
    from minute 60: the 15m window's share at minute 60 + k is 4k/60 (4k/59 on Prometheus 3, whose
    left-open range holds 59 steps): quiet at k = 9 (60%, 61%), firing at k = 11 (73%, 75%)."""
    (tmp_path / "price.yaml").write_text(SLO_SPEC)
    fleet = load_and_validate([tmp_path / "price.yaml"]).fleet
    model = fleet.models[0]
    (slo,) = model.slos
    assert slo.name == "residual" and slo.objective == 95 and 5.0 in model.ml.residual_buckets
    path = tmp_path / "rules.yml"
    path.write_text(dump_yaml(rules.render(model, fleet.project)))
    threshold = 13.44 * 0.05
    assert 36 / 59 < threshold < 44 / 60
    steps = 4 * (BAD_FROM + 20)
    count = " ".join(str(PER_MIN // 4 * t) for t in range(steps + 1))
    within = " ".join(str(PER_MIN // 4 * min(t, 4 * BAD_FROM)) for t in range(steps + 1))
    series = [{"series": f'ml_residual_abs_error_count{{{SEL}}}', "values": count},
              {"series": f'ml_residual_abs_error_bucket{{{SEL}, le="5.0"}}', "values": within},
              {"series": f'ml_residual_abs_error_bucket{{{SEL}, le="+Inf"}}', "values": count}]
    name = "ResidualErrorBudgetBurnPageFast"
    labels = f'ALERTS{{alertname="{name}", alertstate="firing", model="price", team="pricing", severity="critical", ' \
             f'slo="residual", tier="page-fast"}}'

    def check(minute: int, firing: bool) -> dict[str, Any]:
        return {"expr": f'ALERTS{{alertname="{name}", alertstate="firing"}}', "eval_time": f"{minute}m",
                "exp_samples": [{"labels": labels, "value": 1}] if firing else []}

    run_promtool(path, [{"interval": "15s", "input_series": series, "promql_expr_test": [
        check(BAD_FROM, False), check(BAD_FROM + 9, False), check(BAD_FROM + 11, True)]}])


def test_runtime_observes_each_residual_in_the_histogram(tmp_path):
    (tmp_path / "price.yaml").write_text(SLO_SPEC)
    mm = ModelMetrics.from_spec(tmp_path / "price.yaml")
    errors = [0.5, -4.0, 5.0, 6.5, -12.0]
    for e in errors:
        assert mm.record_residual(100.0 + e, 100.0)
    reg = mm.registry
    sel = {"model_name": "price"}
    assert reg.get_sample_value("ml_residual_abs_error_count", sel) == len(errors)
    # |e| <= 5 is within the SLO (le is inclusive): 0.5, 4 and 5
    within = sum(abs(e) <= 5 for e in errors)
    assert reg.get_sample_value("ml_residual_abs_error_bucket", {**sel, "le": "5.0"}) == within
    assert reg.get_sample_value("ml_residual_abs_error_sum", sel) == pytest.approx(sum(abs(e) for e in errors))


def interpolated_quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """Prometheus' histogram_quantile: the rank q N located in its bucket, linear inside it (the
    first bucket from 0); cumulative has one count per bound, +Inf last."""
    rank = q * cumulative[-1]
    i = next(i for i, c in enumerate(cumulative) if c >= rank)
    lo, below = (0.0, 0.0) if i == 0 else (bounds[i - 1], cumulative[i - 1])
    return lo + (bounds[i] - lo) * (rank - below) / (cumulative[i] - below)


def test_residual_quantiles_are_the_histograms_interpolated_quantiles(tmp_path):
    (tmp_path / "price.yaml").write_text(SLO_SPEC)
    fleet = load_and_validate([tmp_path / "price.yaml"]).fleet
    model = fleet.models[0]
    path = tmp_path / "rules.yml"
    path.write_text(dump_yaml(rules.render(model, fleet.project)))
    bounds = list(model.ml.residual_buckets)
    rng = np.random.default_rng(31)
    per_min = np.abs(rng.normal(0, 3, (61, 40)))  # |e| of 40 labels a minute, from minute 2
    series, cum_end = [], []
    for b in [*bounds, math.inf]:
        # nothing at minutes 0 and 1: Prometheus 2's window [0, 1h] and 3's (0, 1h] see the same batches
        per_minute = [0, 0, *(int(np.sum(row <= b)) for row in per_min[2:])]
        values = np.cumsum(per_minute)
        le = "+Inf" if b == math.inf else repr(float(b))
        series.append({"series": f'ml_residual_abs_error_bucket{{{SEL}, le="{le}"}}',
                       "values": " ".join(map(str, values))})
        cum_end.append(float(values[60] - values[0]))  # the 1h window at minute 60: every minute after 0
    checks = [{"expr": f'abs(mlmon_ml:regression_residual_quantile:rate1h{{quantile="{qq:g}"}} - '
                       f'{interpolated_quantile(qq, bounds, cum_end)!r}) <= bool {TOL}', "eval_time": "60m",
               "exp_samples": [{"labels": f'{{model="price", quantile="{qq:g}"}}', "value": 1}]}
              for qq in (0.5, 0.9, 0.99)]
    run_promtool(path, [{"interval": "1m", "input_series": series, "promql_expr_test": checks}])
