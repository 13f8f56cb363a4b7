"""The drift tests' sample size n (`mlmon_ml:feature_samples:*`, `mlmon_ml:predictions:*`) is the
exact count of the window's events, not increase()'s extrapolation, wherever the samples allow it:
a series sampled at t - w, a series born at 0 inside the window; a series back from a scrape gap,
a counter reset and a series created above 0 fall back to increase(). Under promtool 2.42 and 3.5,
on samples every 45 s (so that evaluations fall between samples, where increase() extrapolates);
every expected count is read off the input series here.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import invoke_mlmon, promtool_test

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

MODEL = "sized"
STEP_S = 45
WINDOW_S = 600
LOOKBACK_S = 300  # Prometheus's default: how far back an instant selector (and `offset`) looks
SPEC = f"""\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: {MODEL}, team: ml}}
model: {{classes: [a, b]}}
scrape: {{targets: ["127.0.0.1:9"]}}
features:
  x: {{type: numeric}}
  color: {{type: categorical}}
drift: {{window: {WINDOW_S // 60}m, min_samples: 1}}
predictions: {{}}
"""
SAMPLES = f"mlmon_ml:feature_samples:increase{WINDOW_S // 60}m"
PREDICTIONS = f"mlmon_ml:predictions:increase{WINDOW_S // 60}m"
COUNT = f'ml_feature_value_count{{model_name="{MODEL}", feature="x"}}'
Values = list[float | str | None]  # None: no sample; "stale": a staleness marker (a failed scrape)


@pytest.fixture(scope="module")
def rule_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("sized")
    spec = tmp / f"{MODEL}.yaml"
    spec.write_text(SPEC)
    rows = ["x,color,label"] + [f"{i % 7 + 0.5},{('red', 'blue')[i % 3 == 0]},{'ab'[i % 2]}" for i in range(70)]
    (tmp / "ref.csv").write_text("\n".join(rows) + "\n")
    res = invoke_mlmon("baseline", "--data", str(tmp / "ref.csv"), "--spec", str(spec))
    assert res.returncode == 0, res.stderr
    fleet = load_and_validate([spec]).fleet
    return dump_yaml(rules.render(fleet.models[0], fleet.project))


def notation(values: Values) -> str:
    return " ".join("_" if v is None else str(v) for v in values)


def at(values: Values, t: float) -> float | None:
    """What an instant selector reads at t: the last sample at or before t within the lookback,
    nothing when that is a staleness marker."""
    for i in range(min(int(t // STEP_S), len(values) - 1), -1, -1):
        if t - i * STEP_S >= LOOKBACK_S:
            return None
        if values[i] is not None:
            return None if values[i] == "stale" else float(values[i])  # type: ignore[arg-type]
    return None


def in_window(values: Values, t: float) -> list[float]:
    """The samples a range selector [w] reads at t (Prometheus 3's (t - w, t]; none here sits on t - w)."""
    return [float(v) for i, v in enumerate(values)  # type: ignore[arg-type]
            if v not in (None, "stale") and t - WINDOW_S < i * STEP_S <= t]


def events(values: Values, t: float) -> float:
    """The counter's increments between the last sample at or before t - w and the last at or before
    t, a reset counted as a restart from 0."""
    start = at(values, t - WINDOW_S)
    seen = ([start] if start is not None else [0.0]) + in_window(values, t)
    return sum(b - a if b >= a else b for a, b in itertools.pairwise(seen))


def run(tmp: Path, text: str, series: dict[str, Values], checks: list[dict[str, Any]]) -> None:
    (tmp / "rules.yml").write_text(text)
    case = {"interval": f"{STEP_S}s", "input_series": [{"series": s, "values": notation(v)} for s, v in series.items()],
            "promql_expr_test": checks}
    promtool_test(tmp / "rules.yml", [case])


def exactly(name: str, value: float, t: float, **labels: str) -> dict[str, Any]:
    assert t % 60 == 0  # read at an evaluation of the rules (every minute), not the one before
    shown = ", ".join(f'{k}="{v}"' for k, v in {**labels, "model": MODEL}.items())
    return {"expr": f"{name}{{{shown}}}", "eval_time": f"{t:g}s",
            "exp_samples": [{"labels": f"{name}{{{shown}}}", "value": value}]}


def as_increase(t: float) -> dict[str, Any]:
    """n is increase() of the one count series: the recorded value minus the engine's own increase is 0."""
    assert t % 60 == 0
    expr = f'sum({SAMPLES}{{feature="x"}}) - sum(increase({COUNT}[{WINDOW_S}s]))'
    return {"expr": expr, "eval_time": f"{t:g}s", "exp_samples": [{"labels": "{}", "value": 0}]}


def test_a_series_sampled_at_the_window_start_counts_from_that_sample(generation, rule_text, tmp_path):
    count = [0, 4, 9, *(9 + 5 * i for i in range(1, 40))]
    t = 26 * 60
    n = at(count, t) - at(count, t - WINDOW_S)  # type: ignore[operator]
    assert n == events(count, t) and n > 0
    run(tmp_path, rule_text, {COUNT: count}, [exactly(SAMPLES, n, t, feature="x")])


def test_series_born_at_zero_in_the_window_count_their_value(generation, rule_text, tmp_path):
    """A cold start: every series appears at 0 (the runtime creates them so), then counts; n is the
    value now, for the histogram, the categories (summed) and the predicted classes."""
    born = 14
    x = [None] * born + [0, 0, 3, 7, 12, 20, 21, 30, 41]
    red = [None] * born + [0, 0, 2, 2, 5, 9, 9, 9, 14]
    unknown = [None] * born + [0, 0, 0, 1, 1, 1, 4, 4, 4]  # "__unknown__": created at 0 as well
    cls_b = [None] * born + [0, 0, 1, 3, 8, 8, 13, 13, 21]
    t = 16 * 60  # 15 s after a sample: increase() would extrapolate over them
    assert t % STEP_S and at(x, t - WINDOW_S) is None
    cat = 'ml_feature_category_total{{model_name="{}", feature="color", category="{}"}}'
    pred = 'ml_prediction_class_total{{model_name="{}", predicted_class="{}"}}'
    series = {COUNT: x, cat.format(MODEL, "red"): red, cat.format(MODEL, "__unknown__"): unknown,
              pred.format(MODEL, "b"): cls_b}
    for values in series.values():
        assert at(values, t) == events(values, t)  # all of a born series' counts are in the window
    run(tmp_path, rule_text, series, [
        exactly(SAMPLES, at(x, t), t, feature="x"),  # type: ignore[arg-type]
        exactly(SAMPLES, at(red, t) + at(unknown, t), t, feature="color"),  # type: ignore[operator]
        exactly(PREDICTIONS, at(cls_b, t), t)])  # type: ignore[arg-type]


def test_a_series_back_from_a_scrape_gap_is_not_taken_for_a_new_one(generation, rule_text, tmp_path):
    """The target was down at t - w (failed scrapes write staleness markers) and comes back with its
    cumulative count: n is increase(), not the 10 000 events of the service's life."""
    count: Values = [10_000 + 5 * i for i in range(6)] + ["stale"] * 12 + [10_200 + 7 * i for i in range(12)]
    t = 20 * 60
    assert at(count, t - WINDOW_S) is None and min(in_window(count, t)) > 0
    assert at(count, t) > 100 * (at(count, t) - min(in_window(count, t)))  # type: ignore[operator]
    run(tmp_path, rule_text, {COUNT: count}, [as_increase(t)])


def test_a_counter_reset_in_the_window_falls_back_to_increase(generation, rule_text, tmp_path):
    """A restart inside the window, after which the count grows past the one at t - w: x - x offset w
    is no decrease, but it is not the window's count either."""
    count = [20 * i for i in range(18)] + [0, 150, 300, 450, 500, 600]
    t = 17 * 60
    before, now = at(count, t - WINDOW_S), at(count, t)
    assert before is not None and now is not None and now > before  # no fall between the two samples
    assert now - before < events(count, t)
    run(tmp_path, rule_text, {COUNT: count}, [as_increase(t)])


def test_a_restart_just_after_the_window_start_counts_from_the_new_zero(generation, rule_text, tmp_path):
    """The counter fell between the sample at t - w and the window's first (a restart, the runtime
    back at 0), then grew past it: n is the new process's count, every event there is to see."""
    count = [20 * i for i in range(18)] + [50 * i for i in range(14)]
    t = 23 * 60
    before, first = at(count, t - WINDOW_S), min(in_window(count, t))
    assert before is not None and first == 0 < before < at(count, t)  # type: ignore[operator]
    run(tmp_path, rule_text, {COUNT: count}, [exactly(SAMPLES, events(count, t), t, feature="x")])


def test_a_series_created_at_its_first_event_falls_back_to_increase(generation, rule_text, tmp_path):
    """Other instrumentation may create a series at its first event (at 1, not 0): nothing tells it
    from a series back from a gap, so increase() it is (the runtime never does this)."""
    count: Values = [None] * 10 + [1, 4, 6, 10, 15, 15, 21]
    t = 14 * 60
    assert at(count, t - WINDOW_S) is None and min(in_window(count, t)) == 1
    run(tmp_path, rule_text, {COUNT: count}, [as_increase(t)])


def test_every_sample_size_uses_the_exact_count(rule_text):
    """One helper for every n: each feature's and the predictions' count is the exact form."""
    doc = yaml.safe_load(rule_text)
    exprs = {(r["record"], r["labels"].get("feature")): r["expr"] for g in doc["groups"] for r in g["rules"]
             if r.get("record", "").startswith(("mlmon_ml:feature_samples:increase", "mlmon_ml:predictions:"))}
    assert len(exprs) == 4  # x, color, predictions over the drift and the skew windows
    for expr in exprs.values():
        assert " offset " in expr and "resets(" in expr and "min_over_time(" in expr
