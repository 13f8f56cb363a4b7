"""tests/<model>.test.yml: promtool unit tests, one firing and one quiet scenario per SLO tier.

The input series are synthetic: a steady request rate with a fixed error ratio, at twice the
tier's threshold (fires) and at half of it (stays quiet). Custom SLIs read metrics mlmon does
not know, so they get no generated scenario; nor do timeslice SLOs, whose slices promtool records
at the file's evaluation interval rather than the slice's (tests/test_timeslices.py runs theirs).
A grouped SLO (group_by) fires with two groups, one at twice the threshold and one at half: only
the first may fire, and its alert carries its labels.

What promtool spends is rules x evaluations x test groups: each test group loads the rule file
again and evaluates every rule at every tick up to its last eval_time. So the series start in the
steady state (counters from 0 at a fixed slope: every window's rate, extrapolated or not, gives
the same ratio once it holds two samples) and each case is read at the first tick past its `for`,
two or three evaluations whatever the windows; and cases of SLOs that read different metrics share
a test group, so a model has about two groups per tier, not two per tier and SLO.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import LADDER_MS, format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import alert_text, burnrate, sli
from mlmon_codegen.plan.burnrate import Tier
from mlmon_codegen.plan.records import RulePlan
from mlmon_codegen.spec import model as m

REQUESTS_PER_STEP = 1_000_000  # large enough that a 99.999% objective's threshold is whole errors
BURNING, HEALTHY = "burning", "healthy"  # the group label values of a grouped SLO's cases


def evaluation_interval_ms(model: m.Model) -> int:
    """One interval per file, coarse on purpose: a case is read at its first tick with data (past
    its `for`), so a coarse interval means few evaluations, and the steady input gives every
    window its ratio at any tick. Series are sampled finer where a short window needs it
    (`_sample_ms`). group_eval_order keeps alerts reading the same instant's recordings."""
    slowest = max((2 * t.short_ms for s in model.slos for t in burnrate.alert_tiers(s)), default=0)
    wanted = max(600_000, slowest // 24)
    return max(c for c in LADDER_MS if c <= wanted)


def _sample_ms(window_ms: int, interval: int) -> int:
    """The sampling interval of a case's series: at least five samples per window (so `rate`
    always has two, on either engine's range bounds), and dividing the evaluation interval, so a
    sample falls on every tick and no rate is extrapolated past its last sample."""
    return max(c for c in LADDER_MS if c <= max(1000, window_ms // 5) and interval % c == 0)


def _counter(per_step: int, steps: int) -> str:
    return f"0+{per_step}x{steps}"


def _up(model: m.Model) -> str:
    job = sli.scrape_job(model)
    # A model no known job scrapes has no `up`; the series stands in for another job's target.
    return q.selector("up", {"job": job or "other", "instance": "model:8000"})


def _example(regex: str) -> str | None:
    """A value the regex matches in full, for the common shapes ("5..", "5xx|503", "2.*")."""
    first = regex.split("|")[0]
    for candidate in (regex, first, first.replace(".*", "").replace(".+", "0").replace(".", "0"), "5xx", "500"):
        if re.fullmatch(regex, candidate):
            return candidate
    return None


def _labels(model: m.Model, role: str, extra: dict[str, str] | None = None) -> dict[str, str] | None:
    """Labels of a synthetic series the role's selector matches; None when no simple value fits."""
    out: dict[str, str] = {}
    for label, op, value in model.metrics.matchers(role):
        if op == "=":
            out[label] = value
        elif op == "=~":
            example = _example(value)
            if example is None:
                return None
            out[label] = example
        # != and !~: a series without the label matches them (its value is empty)
    # The matchers' values win: an error type that is the status label must still match `5..`.
    return {**out, **{k: v for k, v in (extra or {}).items() if k not in out}}


def _requests_and_errors(model: m.Model, good: str, bad: str,
                         group: dict[str, str] | None = None) -> list[dict[str, str]] | None:
    """Series of `good` successful and `bad` failed requests, in the shape the spec declares."""
    met = model.metrics
    assert met.requests is not None and met.errors is not None
    typed = {met.error_type_label: "internal"} if met.error_type_label else {}
    err_labels = _labels(model, "errors", {**typed, **(group or {})})
    ok_labels = _labels(model, "requests", group)
    if err_labels is None or ok_labels is None:
        return None
    if met.errors == met.requests:  # errors are the requests counter's failed series
        return [{"series": q.selector(met.requests, ok_labels), "values": good},
                {"series": q.selector(met.errors, {**ok_labels, **err_labels}), "values": bad}]
    return [{"series": q.selector(met.requests, ok_labels), "values": good},
            {"series": q.selector(met.errors, err_labels), "values": bad}]


def _series(model: m.Model, slo: m.SLO, errors_per_step: int, steps: int,
            group: dict[str, str] | None = None) -> list[dict[str, str]] | None:
    """`up` first, then the SLI's series (of one group: `group` holds its label values)."""
    met = model.metrics
    good = REQUESTS_PER_STEP - errors_per_step
    up = {"series": _up(model), "values": f"1x{steps}"}
    if slo.kind == "availability":
        counted = good if met.requests_count_successes or met.errors == met.requests else REQUESTS_PER_STEP
        pair = _requests_and_errors(model, _counter(counted, steps), _counter(errors_per_step, steps), group)
        return None if pair is None else [up, *pair]
    if slo.kind == "latency":
        histogram = getattr(met, slo.histogram)
        assert slo.threshold_s is not None and histogram is not None
        sel = _labels(model, slo.histogram, group)
        if sel is None:
            return None
        le = q.number(slo.threshold_s)
        return [up,
                {"series": q.selector(naming.count(histogram), sel), "values": _counter(REQUESTS_PER_STEP, steps)},
                {"series": q.selector(naming.bucket(histogram), {**sel, "le": le}), "values": _counter(good, steps)}]
    assert slo.kind == "accuracy" and met.ground_truth is not None
    right = _labels(model, "ground_truth", {met.class_label: "a", met.actual_class_label: "a", **(group or {})})
    wrong = _labels(model, "ground_truth", {met.class_label: "a", met.actual_class_label: "b", **(group or {})})
    if right is None or wrong is None:
        return None
    return [up,
            {"series": q.selector(met.ground_truth, right), "values": _counter(good, steps)},
            {"series": q.selector(met.ground_truth, wrong), "values": _counter(errors_per_step, steps)}]


def _align(ms: int, interval: int) -> int:
    return -(-ms // interval) * interval


def _errors_per_step(tier: Tier, fires: bool) -> int:
    ratio_wanted = min(1.0, tier.threshold * 2) if fires else tier.threshold / 2
    # Three significant digits: the description shows the ratio with four (humanizePercentage),
    # and a ratio whose fifth digit is a 5 would round either way with Prometheus' float error.
    return round(REQUESTS_PER_STEP * float(f"{ratio_wanted:.3g}"))


def _group(slo: m.SLO, value: str) -> dict[str, str]:
    """The label values of one group of a grouped SLO: every group label holds `value`."""
    return {label: value for label in slo.group_by}


def _metrics_read(model: m.Model, slo: m.SLO) -> frozenset[str]:
    """The metric names an SLO's scenario series carry (besides `up`): cases of SLOs that read
    disjoint names cannot see each other's series, so they may share a test group."""
    met = model.metrics
    if slo.kind == "latency":
        histogram = getattr(met, slo.histogram)
        return frozenset({naming.count(histogram), naming.bucket(histogram)})
    if slo.kind == "accuracy":
        return frozenset({met.ground_truth or ""})
    return frozenset({met.requests or "", met.errors or ""})


@dataclass(frozen=True)
class Case:
    """One scenario before it is placed in a test group: its series are drawn once the group's
    sampling interval and length are known."""

    name: str
    window_ms: int  # the shortest window it reads: the group samples at least five times in it
    eval_ms: int
    metrics: frozenset[str]
    series: Callable[[int], list[dict[str, str]] | None]  # samples → input series
    alert_tests: list[dict[str, Any]]


def _tier_case(model: m.Model, slo: m.SLO, tier: Tier, project: m.Project, fires: bool) -> Case | None:
    errors_per_step = _errors_per_step(tier, fires)
    ratio = errors_per_step / REQUESTS_PER_STEP
    interval = evaluation_interval_ms(model)
    step = _sample_ms(tier.short_ms, interval)
    # The first tick past 0 already reads the steady ratio in both windows; pending there,
    # firing `for` later.
    eval_ms = interval + _align(tier.for_ms or 0, interval)
    name = naming.burn_alert(slo.name, tier.name, model.alert_prefix)
    expected = []
    # A grouped SLO's case has the group that burns (or, quiet, the healthy one) and, firing, a
    # healthy group too: only the burning group's alert may fire.
    group = _group(slo, BURNING if fires else HEALTHY)
    if fires:
        # The long window's events at the first tick past 0: every sample up to it (exactly, as
        # the counters start at 0 and a sample falls on the tick), or the window's share of them.
        events = REQUESTS_PER_STEP * max(1, min(interval, tier.long_ms) // step - 1)
        if events < (slo.min_events or 0):
            return None  # not enough traffic to fire: the quiet case still runs
        labels = {**alert_text.burn_labels(model, slo, tier), **group}
        # `$labels` in an annotation are the expression's, `max by (model, slo, group)`, not the rule's labels.
        annotations = _rendered(alert_text.burn_annotations(project, model, slo, tier, percent(ratio)),
                                {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name, **group})
        if annotations is None:
            return None  # the spec's own template reads more than labels; promtool runs the quiet case
        expected = [{"exp_labels": labels, "exp_annotations": annotations}]

    def series(steps: int) -> list[dict[str, str]] | None:
        drawn = _series(model, slo, errors_per_step, steps, group)
        if drawn is not None and slo.group_by and fires:
            healthy = _series(model, slo, _errors_per_step(tier, False), steps, _group(slo, HEALTHY))
            drawn = None if healthy is None else [*drawn, *healthy[1:]]  # [1:]: one `up` is enough
        return drawn

    if series(1) is None:
        return None
    if slo.group_by and fires:
        what = f"fires for the group at 2x its threshold, not for the one at 0.5x ({', '.join(slo.group_by)})"
    else:
        what = "fires at 2x its threshold" if fires else "stays quiet at 0.5x its threshold"
    return Case(f"{slo.name} {tier.name} {what}", tier.short_ms, eval_ms, _metrics_read(model, slo), series,
                [{"eval_time": format_ms(eval_ms), "alertname": name, "exp_alerts": expected}])


def _test_groups(model: m.Model, cases: list[Case]) -> list[dict[str, Any]]:
    """Cases in as few promtool test groups as their series allow: each case joins the first
    group whose cases read none of its metrics. A group samples as finely as its finest case
    needs and runs to its latest eval_time."""
    placed: list[list[Case]] = []
    for case in cases:
        home = next((g for g in placed if not any(c.metrics & case.metrics for c in g)), None)
        if home is None:
            placed.append([case])
        else:
            home.append(case)
    interval = evaluation_interval_ms(model)
    groups = []
    for members in placed:
        step = min(_sample_ms(c.window_ms, interval) for c in members)
        steps = max(c.eval_ms for c in members) // step + 2
        series: dict[str, dict[str, str]] = {}
        for c in members:
            for s in c.series(steps) or []:
                # Only `up` is shared, with the same values in every case.
                assert series.setdefault(s["series"], s) == s, s
        groups.append({"name": "; ".join(c.name for c in members), "interval": format_ms(step),
                       "input_series": list(series.values()),
                       "alert_rule_test": [t for c in members for t in c.alert_tests]})
    return groups


# `{{ $labels.name }}` in an annotation the spec writes: the one template a test can expect.
LABEL_TEMPLATE = re.compile(r"\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def _rendered(annotations: dict[str, str], labels: dict[str, str]) -> dict[str, str] | None:
    """The annotations as Prometheus renders them for a result with `labels`; None when one holds
    a template other than a label's value. mlmon's own templates are already rendered by the caller."""
    out = {}
    for key, text in annotations.items():
        text = LABEL_TEMPLATE.sub(lambda mt: labels.get(mt.group(1), ""), text)  # Go's zero value
        if "{{" in text:
            return None
        out[key] = text
    return out


def _model_down_case(model: m.Model, project: m.Project, texts: bool = True) -> dict[str, Any] | None:
    """ModelDown firing `for` after every target went down. Without `texts`, its labels only: the
    annotations, equal up to the names, are checked on the first model of the shape."""
    if not model.model_down_enabled:
        return None
    name = naming.model_down_alert(model.alert_prefix)
    interval = evaluation_interval_ms(model)
    # Down from the first sample: pending at 0, firing at the first tick `for` later.
    eval_ms = max(interval, _align(model.model_down_for_ms, interval))
    # Every target down; for a model no known job scrapes, its series gone (another target up).
    up = "1" if sli.scrape_job(model) is None else "0"
    if sli.scrape_job(model) is None and not sli.exposed(model, "requests", "errors"):
        return None
    case = {
        "name": f"ModelDown fires when {'every target is down' if up == '0' else 'the series are gone'}",
        "interval": format_ms(interval),
        "input_series": [{"series": _up(model), "values": f"{up}x{eval_ms // interval + 2}"}],
    }
    labels = alert_text.base_labels(model, "critical")
    if not texts:
        firing = {"alertname": name, "alertstate": "firing"}
        return {**case, "promql_expr_test": [{
            "expr": q.selector("ALERTS", firing), "eval_time": format_ms(eval_ms),
            "exp_samples": [{"labels": q.selector("ALERTS", {**firing, **labels}), "value": 1}]}]}
    return {
        **case,
        "alert_rule_test": [{"eval_time": format_ms(eval_ms), "alertname": name,
                             "exp_alerts": [{
                                 "exp_labels": labels,
                                 "exp_annotations": {
                                     "summary": alert_text.model_down_summary(model),
                                     "description": alert_text.model_down_description(model),
                                     **alert_text.links(project, model, name)}}]}],
    }


def _failing_but_up_case(model: m.Model) -> dict[str, Any] | None:
    """A service answering nothing but errors: ModelDown stays quiet (the SLOs page instead)."""
    assert model.no_traffic_for_ms is not None
    if not model.model_down_enabled or model.metrics.requests is None or model.metrics.errors is None:
        return None
    interval = evaluation_interval_ms(model)
    step = _sample_ms(model.no_traffic_for_ms, interval)
    # The rates exist from the first tick past 0: a rule that took the failures for silence would
    # be pending there and firing `for` later.
    eval_ms = interval + _align(model.model_down_for_ms, interval)
    steps = eval_ms // step + 2
    pair = _requests_and_errors(model, f"0x{steps}", _counter(REQUESTS_PER_STEP, steps))
    if pair is None:
        return None
    return {
        "name": "ModelDown stays quiet while the service is up and every request fails",
        "interval": format_ms(step),
        "input_series": [{"series": _up(model), "values": f"1x{steps}"}, *pair],
        "alert_rule_test": [{"eval_time": format_ms(eval_ms), "alertname": naming.model_down_alert(model.alert_prefix),
                             "exp_alerts": []}],
    }


def render(model: m.Model, project: m.Project, rules: RulePlan, tested_with: str | None = None) -> dict[str, Any]:
    """Tests for the model's planned rules (plan/rules.py). A model whose rules have the shape of
    `tested_with`'s (plan/shapes.py) gets only its own ModelDown case: the tier cases there prove
    its rules too, and `mlmon check` stays O(distinct shapes) for a fleet cut from one template."""
    shaped = tested_with is not None and tested_with != model.name
    down = _model_down_case(model, project, texts=not shaped)
    cases: list[dict[str, Any] | None] = [down]
    if shaped:
        if down is not None:
            down["name"] += f" (its texts and every tier of this rule shape: {naming.unit_test_file(tested_with)})"
        slos: tuple[m.SLO, ...] = ()
    else:
        slos = model.slos
        if model.no_traffic_for_ms:
            cases.append(_failing_but_up_case(model))
    tier_cases = [c for slo in slos if slo.kind != "custom" and not slo.timeslice
                  for tier in burnrate.alert_tiers(slo)
                  for c in (_tier_case(model, slo, tier, project, fires=True),
                            _tier_case(model, slo, tier, project, fires=False)) if c is not None]
    return {
        "rule_files": [f"../{naming.rules_file(model.name)}"],
        "evaluation_interval": format_ms(evaluation_interval_ms(model)),
        # Without this promtool evaluates groups in random order, and an alert may read the
        # previous tick's recording, which is stale when the interval exceeds the 5m lookback.
        "group_eval_order": [g.name for g in rules.groups],
        "tests": [*(c for c in cases if c is not None), *_test_groups(model, tier_cases)],
    }
