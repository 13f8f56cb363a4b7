"""The SLO math behind each planned tier, as numbers: what `mlmon explain` says in words.

Pure arithmetic over the internal model, with the SRE Workbook's formulas ("Alerting on SLOs"):
- error budget b = 1 − objective; a full outage spends it in b × W;
- a tier with burn factor f over a long window L fires at error ratio f × b; at a constant
  error ratio r it needs r × t / L > f × b in the long window, so it fires after L × f × b / r
  (the short window, being shorter, has crossed already);
- after a fault at ratio r ends, the alert stops once the short window's ratio falls below the
  threshold: S × (1 − f × b / r), at most S;
- at exactly f× burn the whole budget lasts W / f, and the tier fires after f × L / W of it.

A timeslice SLO's events are its slices (plan/timeslices.py): the same formulas hold with the
share of bad slices as the error ratio, and a tier fires once more than f × b × (L / slice) of the
long window's slices are bad (and as many of the short window's, in proportion).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mlmon_codegen.core.text import human, percent
from mlmon_codegen.plan import burnrate, series
from mlmon_codegen.spec import model as m

# Fewer failed requests than this page a human: one flaky client could wake someone up.
LOW_TRAFFIC_FAILURES = 10
# Kinds whose events are the service's requests, so the expected request rate applies.
REQUEST_KINDS = ("availability", "latency")
# What a bad event is, per SLO kind, and what "everything bad" (the full outage) means for it.
BAD_EVENTS = {"availability": "failed requests", "latency": "slow requests",
              "accuracy": "wrong predictions", "custom": "bad events"}
BAD_SHARE = {"availability": "of requests fail", "latency": "of requests are slow",
             "accuracy": "of labelled predictions are wrong", "custom": "of events are bad"}
ALL_BAD = {"availability": "every request fails", "latency": "every request is slow",
           "accuracy": "every labelled prediction is wrong", "custom": "every event is bad"}
# A tier that needs more than this share of bad events watches for a service (or model) so broken
# that other alerts would have said so long before: its SLO is too short or too loose to page on.
IMPLAUSIBLE_SHARE = 0.5


@dataclass(frozen=True)
class TierMath:
    name: str
    severity: str
    factor: float
    long_s: float
    short_s: float
    threshold: float  # error ratio both windows must exceed
    budget_consumed: float  # share of the budget burnt before it fires (at exactly `factor`)
    time_to_fire_full_s: float  # at 100% errors
    time_to_fire_double_s: float | None  # at twice the threshold; None when that is above 100%
    reset_s: float  # after a 100%-error fault ends
    exhaustion_s: float  # the whole budget at this burn rate
    failed_requests_to_page: int | None  # the fewest failures within the long window that fire it
    warnings: list[str] = field(default_factory=list)
    # Timeslices SLOs: the fewest bad slices in the long and in the short window that fire it.
    bad_slices_to_fire: tuple[int, int] | None = None


@dataclass(frozen=True)
class SLOMath:
    name: str
    kind: str
    objective: float  # percent
    period_s: float
    budget: float  # share of events that may fail
    budget_outage_s: float  # minutes of full outage the budget allows, in seconds
    budget_requests: float | None  # failed requests allowed at the expected traffic
    bad_events: str  # what this SLO's bad events are ("slow requests"), for the prose
    all_bad: str  # its full outage ("every request is slow")
    tiers: list[TierMath]
    skipped: list[str]  # default tiers left out, with the reason
    warnings: list[str] = field(default_factory=list)
    # group_by: one SLO per value of these labels, each with these same tiers and thresholds.
    group_by: list[str] = field(default_factory=list)
    group_values: dict[str, int] = field(default_factory=dict)  # values each label takes (or is assumed to)
    slice_s: float | None = None  # timeslice SLOs: the slice's length
    slice_objective: float | None = None  # percent of good events that makes a slice good; None: ratio slices
    budget_slices: float | None = None  # bad slices the budget allows in the period

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_to_fire(tier: burnrate.Tier, error_ratio: float) -> float | None:
    """Seconds from the start of a fault at a constant error ratio until both windows exceed
    the threshold; None when the ratio never gets there."""
    if error_ratio <= tier.threshold:
        return None
    return tier.long_ms / 1000 * tier.threshold / error_ratio


def reset_time(tier: burnrate.Tier, error_ratio: float = 1.0) -> float:
    """Seconds from the end of a long fault until the short window drops below the threshold."""
    return tier.short_ms / 1000 * max(0.0, 1 - tier.threshold / error_ratio)


def exhaustion_time(period_ms: int, factor: float) -> float:
    return period_ms / 1000 / factor


def slices_to_fire(tier: burnrate.Tier, slice_ms: int) -> tuple[int, int]:
    """The fewest bad slices in the long and the short window whose share exceeds the threshold."""
    return (math.floor(tier.threshold * (tier.long_ms // slice_ms)) + 1,
            math.floor(tier.threshold * (tier.short_ms // slice_ms)) + 1)


def _tier_math(slo: m.SLO, tier: burnrate.Tier, rps: float | None, detect_s: float) -> TierMath:
    full = time_to_fire(tier, 1.0)
    # Bad slices come whole: a full outage fires once enough of them have ended.
    slices = slices_to_fire(tier, slo.timeslice.window_ms) if slo.timeslice and slo.timeslice.objective else None
    reset = reset_time(tier)
    if slices is not None and full is not None:
        slice_s = slo.timeslice.window_ms / 1000
        full = max(slices) * slice_s
        # It clears once fewer than slices[1] bad slices are left in the short window.
        reset = (tier.short_ms // slo.timeslice.window_ms - slices[1] + 1) * slice_s
    double = time_to_fire(tier, 2 * tier.threshold) if 2 * tier.threshold <= 1 else None
    # The long window's ratio must exceed the threshold: more than threshold × requests in it.
    failed = math.floor(tier.threshold * rps * tier.long_ms / 1000) + 1 if rps else None
    warnings = []
    if full is None:
        warnings.append(f"{tier.name} can never fire: its threshold {tier.threshold:.4g} is not below 100% "
                        f"({ALL_BAD[slo.kind]})")
    elif tier.threshold > IMPLAUSIBLE_SHARE:
        warnings.append(
            f"{tier.name} fires only when {percent(tier.threshold)} {BAD_SHARE[slo.kind]}: a fault that "
            "large is an outage other alerts report first, and a smaller one never pages (lengthen the "
            "period, lower the objective, or drop the tier)")
    if full is not None and full < detect_s:
        warnings.append(
            f"{tier.name} should fire {human(full)} into a full outage, but a scrape plus a rule "
            f"evaluation take {human(detect_s)}: it fires later, after more than its "
            f"{percent(tier.budget_consumed)} of the budget is gone")
    if failed is not None and failed < LOW_TRAFFIC_FAILURES:
        warnings.append(
            f"{tier.name}: at the expected {rps:g} requests/s, {plural(failed, 'failed request')} "
            f"within {tier.long} fire it; with so little traffic a handful of errors pages "
            "(set alerts.min_events, or lower the objective)")
    return TierMath(
        name=tier.name, severity=tier.severity, factor=tier.factor, long_s=tier.long_ms / 1000,
        short_s=tier.short_ms / 1000, threshold=tier.threshold, budget_consumed=tier.budget_consumed,
        time_to_fire_full_s=full if full is not None else math.inf,
        time_to_fire_double_s=double,
        reset_s=reset, exhaustion_s=exhaustion_time(slo.period_ms, tier.factor),
        failed_requests_to_page=failed, warnings=warnings,
        bad_slices_to_fire=slices)


def _skipped(slo: m.SLO, scrape_ms: int) -> list[str]:
    """Default tiers the planner left out, and why (for instance a p50 SLO's fast tiers)."""
    if not slo.alerts_enabled:
        return ["burn-rate alerts: alerts.enabled is false, so this SLO has recordings only"]
    have = {t.name for t in burnrate.tiers(slo)}
    reasons = []
    for policy in burnrate.POLICY:
        if policy.name in have:
            continue
        tier, reason = burnrate.plan_tier(policy, slo.period_ms, slo.objective, scrape_ms)
        reasons.append(reason if tier is None else f"tier {policy.name} is not enabled for this SLO")
    return reasons


def explain_slo(model: m.Model, slo: m.SLO, project: m.Project) -> SLOMath:
    # A timeslice SLO's budget is in slices, whatever the traffic.
    rps = model.expected_rps if slo.kind in REQUEST_KINDS and slo.timeslice is None else None
    ts = slo.timeslice
    detect_s = (model.scrape.interval_ms + project.evaluation_interval_ms) / 1000
    budget = slo.budget
    outage_s = budget * slo.period_ms / 1000
    tiers = [_tier_math(slo, t, rps, detect_s) for t in burnrate.alert_tiers(slo)]
    warnings = []
    if outage_s < detect_s:
        warnings.append(f"a full outage spends the whole budget in {human(outage_s)}, faster than one scrape "
                        f"plus one rule evaluation ({human(detect_s)}): no alert can protect it")
    return SLOMath(
        name=slo.name, kind=slo.kind, objective=slo.objective, period_s=slo.period_ms / 1000,
        budget=budget, budget_outage_s=outage_s,
        budget_requests=budget * rps * slo.period_ms / 1000 if rps else None,
        bad_events=f"bad {human(ts.window_ms / 1000)} slices" if ts else BAD_EVENTS[slo.kind],
        all_bad="every slice is bad" if ts else ALL_BAD[slo.kind], tiers=tiers,
        skipped=_skipped(slo, model.scrape.interval_ms), warnings=warnings,
        group_by=list(slo.group_by), group_values=_group_values(model, slo),
        slice_s=ts.window_ms / 1000 if ts else None, slice_objective=ts.objective if ts else None,
        budget_slices=budget * (slo.period_ms // ts.window_ms) if ts else None)


def _group_values(model: m.Model, slo: m.SLO) -> dict[str, int]:
    """The values each group label takes, as the series estimate counts them."""
    counts = series.label_cardinality(model)
    return {label: counts[label] for label in slo.group_by}


def explain_model(model: m.Model, project: m.Project) -> list[SLOMath]:
    return [explain_slo(model, slo, project) for slo in model.slos]


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
