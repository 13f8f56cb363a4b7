"""SLI queries per SLO kind: how many events were bad and how many there were, over a window.

Everything here returns PromQL text built with core/promql.py, so label values arrive escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec import model as m


@dataclass(frozen=True)
class WindowQueries:
    errors: str | None  # None when the user gave only an error ratio
    total: str | None
    ratio: str | None  # the ratio, when it has a form cheaper than errors / total (or is all a custom SLI gives)


def model_matchers(model: m.Model, role: str | None = None) -> list[q.Matcher]:
    """The matchers of the model's series of one metric role (README, "The metric contract")."""
    return model.metrics.matchers(role)


def scrape_job(model: m.Model) -> str | None:
    """The job whose `up` says whether the model's targets answer: mlmon's own, the existing one
    the spec names, or None (an unnamed job collects the series)."""
    return naming.job(model.name) if model.scrape.own_job else model.scrape.job


def exposed(model: m.Model, *roles: str) -> list[str]:
    """The roles among `roles` the service exposes, in the order given."""
    return [r for r in roles if getattr(model.metrics, r) is not None]


def series(model: m.Model, role: str, extra: list[q.Matcher] | None = None, suffix: str = "") -> str:
    """The selector of one role's series, e.g. series(model, "latency", suffix="_bucket")."""
    metric = getattr(model.metrics, role)
    assert metric is not None, f"{role} is not exposed; validation keeps rules from reading it"
    return q.selector(metric + suffix, [*model_matchers(model, role), *(extra or [])])


def role_rate(model: m.Model, role: str, window: int | str, extra: list[q.Matcher] | None = None,
              suffix: str = "") -> str:
    return q.rate(series(model, role, extra, suffix), window)


def requests_total(model: m.Model, window: int | str, by: tuple[str, ...] = (),
                   extra: list[q.Matcher] | None = None) -> str:
    """Requests per second, failed ones included: a counter of successes only gets the errors added
    (per group of `by`: either side may lack a group, e.g. a version that only failed)."""
    total = q.agg("sum", role_rate(model, "requests", window, extra), by=by)
    if not model.metrics.requests_count_successes or model.metrics.errors is None:
        return total
    errors = q.agg("sum", role_rate(model, "errors", window, extra), by=by)
    return q.binop(q.binop(q.binop(total, "+", errors), "or", total), "or", errors)


def _no_errors(errors: str, total: str, group: tuple[str, ...]) -> str:
    """`errors`, and 0 where there were events but no error counted yet.

    Ungrouped, `vector(0)` is that 0; grouped, it would be one series without the group labels,
    so each group of `total` gets its own 0 instead."""
    return q.or_zero_for(q.paren(errors), q.paren(total)) if group else q.or_zero(errors)


def window_queries(model: m.Model, slo: m.SLO, window_ms: int) -> WindowQueries:
    met = model.metrics
    by = slo.group_by  # () unless the SLO is split into groups: then every sum keeps them
    if slo.kind == "availability":
        total = requests_total(model, window_ms, by)
        errors = _no_errors(q.agg("sum", role_rate(model, "errors", window_ms), by=by), total, by)
        return WindowQueries(errors, total, None)
    if slo.kind == "latency":
        role = slo.histogram  # latency, or another histogram role (first_token_latency, ...)
        assert slo.threshold_s is not None and getattr(met, role) is not None
        total = q.agg("sum", role_rate(model, role, window_ms, suffix=naming.COUNT_SUFFIX), by=by)
        good = q.agg("sum", role_rate(model, role, window_ms, [q.le_matcher(slo.threshold_s)],
                                      naming.BUCKET_SUFFIX), by=by)
        # No `or vector(0)` on `good`: a missing bucket must leave the SLI empty, which the
        # no-data alert reports, rather than count every request as slow. The ratio as
        # 1 - good/total reads the count once, not twice as (total - good)/total would.
        return WindowQueries(q.binop(total, "-", good), total, q.one_minus(q.binop(good, "/", total)))
    if slo.kind == "accuracy":
        labelled = role_rate(model, "ground_truth", window_ms)
        wrong = q.label_equal_filter(labelled, met.class_label, met.actual_class_label, keep_equal=False)
        total = q.agg("sum", labelled, by=by)
        return WindowQueries(_no_errors(q.agg("sum", wrong, by=by), total, by), total, None)
    assert slo.custom is not None
    c = slo.custom
    # The user's query must keep the group labels (validation checks a leading aggregation).
    if c.error_ratio_query is not None:
        return WindowQueries(None, None, q.agg("max", q.substitute_window(c.error_ratio_query, window_ms), by=by))
    assert c.error_query is not None and c.total_query is not None
    return WindowQueries(q.agg("sum", q.substitute_window(c.error_query, window_ms), by=by),
                         q.agg("sum", q.substitute_window(c.total_query, window_ms), by=by), None)


def windows(slo: m.SLO) -> list[int]:
    """Every alert window of the SLO once, shortest first."""
    return sorted({t.long_ms for t in burnrate.tiers(slo)} | {t.short_ms for t in burnrate.tiers(slo)})


def period_base_window(slo: m.SLO, evaluation_interval_ms: int) -> int:
    """The recorded window the period ratio sums over time.

    Summing a recorded rate over the period counts every event the same number of times, so
    the ratio of the sums is event-weighted, and it reads one recorded series instead of 30
    days of raw counters. The window must cover the evaluation interval or events fall in gaps.
    """
    ws = windows(slo)
    return next((w for w in ws if w >= evaluation_interval_ms), ws[-1])
