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
    ratio: str | None  # set only for ratio-only custom SLIs


def model_matchers(model: m.Model) -> list[q.Matcher]:
    return [(model.metrics.model_label, "=", model.metrics.model_value)]


def window_queries(model: m.Model, slo: m.SLO, window_ms: int) -> WindowQueries:
    met = model.metrics
    sel = model_matchers(model)
    if slo.kind == "availability":
        errors = q.or_zero(q.agg("sum", q.rate(q.selector(met.errors, sel), window_ms)))
        total = q.agg("sum", q.rate(q.selector(met.requests, sel), window_ms))
        return WindowQueries(errors, total, None)
    if slo.kind == "latency":
        assert slo.threshold_s is not None
        total = q.agg("sum", q.rate(q.selector(naming.count(met.latency), sel), window_ms))
        good = q.agg("sum", q.rate(q.selector(naming.bucket(met.latency), [*sel, q.le_matcher(slo.threshold_s)]),
                                   window_ms))
        # No `or vector(0)` on `good`: a missing bucket must leave the SLI empty, which the
        # no-data alert reports, rather than count every request as slow.
        return WindowQueries(q.binop(total, "-", good), total, None)
    if slo.kind == "accuracy":
        labelled = q.rate(q.selector(met.ground_truth, sel), window_ms)
        wrong = q.label_equal_filter(labelled, "predicted_class", "actual_class", keep_equal=False)
        return WindowQueries(q.or_zero(q.agg("sum", wrong)), q.agg("sum", labelled), None)
    assert slo.custom is not None
    c = slo.custom
    if c.error_ratio_query is not None:
        return WindowQueries(None, None, q.agg("max", q.substitute_window(c.error_ratio_query, window_ms)))
    assert c.error_query is not None and c.total_query is not None
    return WindowQueries(q.agg("sum", q.substitute_window(c.error_query, window_ms)),
                         q.agg("sum", q.substitute_window(c.total_query, window_ms)), None)


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
