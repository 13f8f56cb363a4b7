"""tests/<model>.test.yml: promtool unit tests, one firing and one quiet scenario per SLO tier.

The input series are synthetic: a steady request rate with a fixed error ratio, at twice the
tier's threshold (fires) and at half of it (stays quiet). Custom SLIs read metrics mlmon does
not know, so they get no generated scenario.
"""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import LADDER_MS, format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import alert_text, burnrate
from mlmon_codegen.plan.burnrate import Tier
from mlmon_codegen.plan.records import RulePlan
from mlmon_codegen.spec import model as m

REQUESTS_PER_STEP = 1_000_000  # large enough that a 99.999% objective's threshold is whole errors


def evaluation_interval_ms(model: m.Model) -> int:
    """One interval per file, coarse on purpose.

    The input ratios are steady, so a rate read at any evaluation instant is exact whatever the
    interval; what costs is evaluations x rules (a 1m interval made a 30d SLO's file take half a
    minute; a 90d spec with 50 features took minutes at 10m). Each case is read at the first
    instant past twice its short window, so the slowest tier needs about 24 evaluations.
    group_eval_order keeps alerts reading the same instant's recordings.
    """
    slowest = max((2 * t.short_ms for s in model.slos for t in burnrate.tiers(s)), default=0)
    wanted = max(600_000, slowest // 24)
    return max(c for c in LADDER_MS if c <= wanted)


def _counter(per_step: int, steps: int) -> str:
    return f"0+{per_step}x{steps}"


def _up(model: m.Model) -> str:
    return q.selector("up", {"job": naming.job(model.name), "instance": "model:8000"})


def _series(model: m.Model, slo: m.SLO, errors_per_step: int, steps: int) -> list[dict[str, str]]:
    met = model.metrics
    sel = {met.model_label: met.model_value}
    good = REQUESTS_PER_STEP - errors_per_step
    up = {"series": _up(model), "values": f"1x{steps}"}
    if slo.kind == "availability":
        return [up,
                {"series": q.selector(met.requests, sel), "values": _counter(REQUESTS_PER_STEP, steps)},
                {"series": q.selector(met.errors, {**sel, "error_type": "internal"}),
                 "values": _counter(errors_per_step, steps)}]
    if slo.kind == "latency":
        assert slo.threshold_s is not None
        le = q.number(slo.threshold_s)
        return [up,
                {"series": q.selector(naming.count(met.latency), sel), "values": _counter(REQUESTS_PER_STEP, steps)},
                {"series": q.selector(naming.bucket(met.latency), {**sel, "le": le}), "values": _counter(good, steps)}]
    assert slo.kind == "accuracy"
    return [up,
            {"series": q.selector(met.ground_truth, {**sel, "predicted_class": "a", "actual_class": "a"}),
             "values": _counter(good, steps)},
            {"series": q.selector(met.ground_truth, {**sel, "predicted_class": "a", "actual_class": "b"}),
             "values": _counter(errors_per_step, steps)}]


def _step_ms(tier: Tier) -> int:
    # Several samples per short window, without simulating days at one-minute resolution.
    return max(1000, tier.short_ms // 5 // 1000 * 1000)


def _align(ms: int, interval: int) -> int:
    return -(-ms // interval) * interval


def _tier_case(model: m.Model, slo: m.SLO, tier: Tier, project: m.Project, fires: bool) -> dict[str, Any]:
    step = _step_ms(tier)
    ratio_wanted = min(1.0, tier.threshold * 2) if fires else tier.threshold / 2
    # Three significant digits: the description shows the ratio with four (humanizePercentage),
    # and a ratio whose fifth digit is a 5 would round either way with Prometheus' float error.
    ratio_wanted = float(f"{ratio_wanted:.3g}")
    errors_per_step = round(REQUESTS_PER_STEP * ratio_wanted)
    ratio = errors_per_step / REQUESTS_PER_STEP
    min_events = slo.min_events or 0
    # The ratio is steady from the first sample, so both windows read it once the short one
    # is full; running the whole long window (3d at 30d) only made the file slow.
    interval = evaluation_interval_ms(model)
    # Pending from the first instant with a full short window; firing `for` later.
    eval_ms = _align(2 * tier.short_ms, interval) + _align(slo.for_ms or 0, interval)
    steps = eval_ms // step + 2
    name = naming.burn_alert(slo.name, tier.name)
    expected = []
    if fires and REQUESTS_PER_STEP * tier.long_ms / step >= min_events:
        expected = [{
            "exp_labels": alert_text.burn_labels(model, slo, tier),
            "exp_annotations": {
                "summary": alert_text.burn_summary(model, slo, tier),
                "description": alert_text.burn_description(slo, tier, percent(ratio)),
                **alert_text.links(project, model, name),
            },
        }]
    return {
        "name": f"{slo.name} {tier.name} {'fires at 2x' if fires else 'stays quiet at 0.5x'} its threshold",
        "interval": format_ms(step),
        "input_series": _series(model, slo, errors_per_step, steps),
        "alert_rule_test": [{"eval_time": format_ms(eval_ms), "alertname": name, "exp_alerts": expected}],
    }


def _model_down_case(model: m.Model, project: m.Project) -> dict[str, Any]:
    interval = evaluation_interval_ms(model)
    eval_ms = _align(model.model_down_for_ms, interval) + interval
    return {
        "name": "ModelDown fires when every target is down",
        "interval": format_ms(interval),
        "input_series": [{"series": _up(model), "values": f"0x{eval_ms // interval + 2}"}],
        "alert_rule_test": [{"eval_time": format_ms(eval_ms), "alertname": naming.MODEL_DOWN_ALERT,
                             "exp_alerts": [{
                                 "exp_labels": alert_text.base_labels(model, "critical"),
                                 "exp_annotations": {
                                     "summary": alert_text.model_down_summary(model),
                                     "description": alert_text.model_down_description(model),
                                     **alert_text.links(project, model, naming.MODEL_DOWN_ALERT)}}]}],
    }


def _failing_but_up_case(model: m.Model) -> dict[str, Any]:
    """A service answering nothing but errors, its requests counter counting successes only:
    ModelDown stays quiet (the SLOs page instead)."""
    assert model.no_traffic_for_ms is not None
    interval = evaluation_interval_ms(model)
    # At least five samples per no-traffic window, or the rate is empty and nothing could fire.
    step = max(1000, model.no_traffic_for_ms // 5 // 1000 * 1000)
    eval_ms = _align(model.no_traffic_for_ms + model.model_down_for_ms, interval) + interval
    steps = eval_ms // step + 2
    met = model.metrics
    sel = {met.model_label: met.model_value}
    return {
        "name": "ModelDown stays quiet while the service is up and every request fails",
        "interval": format_ms(step),
        "input_series": [{"series": _up(model), "values": f"1x{steps}"},
                         {"series": q.selector(met.requests, sel), "values": f"0x{steps}"},
                         {"series": q.selector(met.errors, {**sel, "error_type": "internal"}),
                          "values": _counter(REQUESTS_PER_STEP, steps)}],
        "alert_rule_test": [{"eval_time": format_ms(eval_ms), "alertname": naming.MODEL_DOWN_ALERT,
                             "exp_alerts": []}],
    }


def render(model: m.Model, project: m.Project, rules: RulePlan, tested_with: str | None = None) -> dict[str, Any]:
    """Tests for the model's planned rules (plan/rules.py). A model whose rules have the shape of
    `tested_with`'s (plan/shapes.py) gets only its own ModelDown case: the tier cases there prove
    its rules too, and `mlmon check` stays O(distinct shapes) for a fleet cut from one template."""
    cases: list[dict[str, Any]] = [_model_down_case(model, project)]
    if tested_with is not None and tested_with != model.name:
        cases[0]["name"] += f" (every tier of this rule shape is tested in {naming.unit_test_file(tested_with)})"
        slos: tuple[m.SLO, ...] = ()
    else:
        slos = model.slos
        if model.no_traffic_for_ms:
            cases.append(_failing_but_up_case(model))
    for slo in slos:
        if slo.kind == "custom":
            continue
        for tier in burnrate.tiers(slo):
            cases.append(_tier_case(model, slo, tier, project, fires=True))
            cases.append(_tier_case(model, slo, tier, project, fires=False))
    return {
        "rule_files": [f"../{naming.rules_file(model.name)}"],
        "evaluation_interval": format_ms(evaluation_interval_ms(model)),
        # Without this promtool evaluates groups in random order, and an alert may read the
        # previous tick's recording, which is stale when the interval exceeds the 5m lookback.
        "group_eval_order": [g.name for g in rules.groups],
        "tests": cases,
    }
