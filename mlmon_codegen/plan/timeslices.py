"""Timeslice budgeting (README, "Timeslices"): the SLO counts slices of time, not events.

Each slice is recorded once, by a group whose `interval` is the slice: 1 when its error ratio over
the slice exceeds 1 − the slice objective, else 0 (timeslices), or that error ratio itself
(ratio_timeslices). A window's error ratio is then the share of the window's slices that were bad,
`sum_over_time(slice[w]) / (w / slice)`, recorded under the usual window name so the burn alerts,
the period ratio and the dashboards read it as they read any SLO's.

A slice without events records nothing and so counts as good: no event failed in it. Dividing by
the number of slices the window holds, not by the samples found, keeps each bad slice worth exactly
1/n of a window on every Prometheus version (2.x ranges include their left edge, 3.x do not).
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.plan.records import Group, Recording
from mlmon_codegen.plan.sli import WindowQueries, window_queries, windows
from mlmon_codegen.spec import model as m

# rate() needs two samples inside each slice.
MIN_SCRAPES_PER_SLICE = 2
SLICE_HINT = "a slice of at most the shortest alert window that divides every window, e.g. 1m"


def _slice(slo: m.SLO) -> m.Timeslice:
    assert slo.timeslice is not None, "only timeslice SLOs have slices"
    return slo.timeslice


def slice_rule(model: m.Model, slo: m.SLO) -> Recording:
    ts = _slice(slo)
    wq = window_queries(model, slo, ts.window_ms)
    if wq.ratio is not None:
        ratio = wq.ratio
    else:
        assert wq.errors is not None and wq.total is not None
        ratio = q.binop(wq.errors, "/", wq.total)
    if ts.objective is None:
        # `>= 0` drops the NaN of a slice without events, which would poison every sum over it.
        expr = q.compare(q.paren(ratio), ">=", 0)
    else:
        expr = q.compare(q.paren(ratio), ">", round(1 - ts.objective / 100, 12), bool_=True)
    return Recording(naming.slo_slice_error(ts.window_ms), expr,
                     {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name}, slo.group_by)


def bad_share(model: m.Model, slo: m.SLO, range_ms: int) -> str:
    """The share of the slices in `range_ms` that were bad (or their mean error ratio)."""
    ts = _slice(slo)
    sel = q.selector(naming.slo_slice_error(ts.window_ms), {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name})
    # max: one series per group whatever replica labels a ruler adds (plan/rules.py's _one).
    bad = q.agg("max", q.call("sum_over_time", q.rng(sel, range_ms)),
                by=(naming.MODEL_LABEL, naming.SLO_LABEL, *slo.group_by))
    return q.binop(bad, "/", q.number(range_ms // ts.window_ms))


def window_ratio(model: m.Model, slo: m.SLO, window_ms: int) -> WindowQueries:
    """The SLO's error ratio over an alert window: its bad slices' share."""
    return WindowQueries(None, None, bad_share(model, slo, window_ms))


def groups(model: m.Model) -> list[Group]:
    """One group per slice length, evaluated once per slice; before the windows that read it."""
    by_slice: dict[int, list[Recording]] = {}
    for slo in model.slos:
        if slo.timeslice is not None:
            by_slice.setdefault(slo.timeslice.window_ms, []).append(slice_rule(model, slo))
    return [Group(naming.group(model.name, f"slo-slices-{format_ms(ms)}"), tuple(rules), ms)
            for ms, rules in sorted(by_slice.items())]


def problems(slo: m.SLO) -> list[tuple[str, str]]:
    """Why the slice does not fit the SLO's windows (reason, hint): it must fit whole in each."""
    if slo.timeslice is None:
        return []
    ms, text = slo.timeslice.window_ms, format_ms(slo.timeslice.window_ms)
    floor = MIN_SCRAPES_PER_SLICE * slo.scrape_interval_ms
    if ms < floor:
        return [(f"timeslice window {text} holds fewer than {MIN_SCRAPES_PER_SLICE} scrapes "
                 f"({format_ms(slo.scrape_interval_ms)} apart), so rate() has nothing to read in a slice",
                 f"at least {format_ms(floor)}")]
    ws = windows(slo)
    if not ws:
        return []  # the tiers' own problem says why there is no window
    if ms > ws[0]:
        return [(f"timeslice window {text} is longer than the shortest alert window ({format_ms(ws[0])}), "
                 "which would hold no whole slice", SLICE_HINT)]
    for what, w in [*(("the alert window", w) for w in ws), ("the period", slo.period_ms)]:
        if w % ms:
            return [(f"timeslice window {text} does not divide {what} {format_ms(w)}: a slice would straddle "
                     "its edge", SLICE_HINT)]
    return []
