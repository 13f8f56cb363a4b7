"""The multi-window multi-burn-rate policy (the README's tier table), as pure arithmetic.

A tier is defined by the share of the error budget it lets burn before it fires, not by fixed
windows, so the same policy serves a 30d, 28d or 7d SLO. At W=30d it reproduces the SRE
Workbook's table (14.4/6/3/1 over 1h/6h/1d/3d with 5m/30m/2h/6h short windows).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from fractions import Fraction

from mlmon_codegen.core import durations
from mlmon_codegen.spec import model as m

SHORT_DIVISOR = 12
MIN_SCRAPES_PER_WINDOW = 4


@dataclass(frozen=True)
class TierPolicy:
    name: str
    budget_consumed: Fraction
    period_divisor: int
    severity: str


POLICY: tuple[TierPolicy, ...] = (
    TierPolicy("page-fast", Fraction(2, 100), 720, "critical"),
    TierPolicy("page-slow", Fraction(5, 100), 120, "critical"),
    TierPolicy("ticket-fast", Fraction(10, 100), 30, "warning"),
    TierPolicy("ticket-slow", Fraction(10, 100), 10, "warning"),
)


@dataclass(frozen=True)
class Tier:
    name: str
    severity: str
    long_ms: int
    short_ms: int
    factor: float  # burn rate: how many times faster than "exactly uses the budget over W"
    threshold: float  # error ratio that both windows must exceed: factor × (1 − objective)
    budget_consumed: float  # share of the budget burnt in `long` at exactly `factor`
    for_ms: int | None = None  # the alert's `for` (alert_tiers sets it)

    @property
    def long(self) -> str:
        return durations.format_ms(self.long_ms)

    @property
    def short(self) -> str:
        return durations.format_ms(self.short_ms)


def error_budget(objective_percent: float) -> Fraction:
    """1 − objective as an exact fraction: 99.9 → 1/1000, never 0.000999999."""
    return 1 - Fraction(str(objective_percent)) / 100


def _at_least(ms: int, floor_ms: int) -> int:
    if ms >= floor_ms:
        return ms
    return next((c for c in durations.LADDER_MS if c >= floor_ms), floor_ms)


def plan_tier(policy: TierPolicy, period_ms: int, objective_percent: float,
              scrape_interval_ms: int) -> tuple[Tier | None, str]:
    """The tier's windows and threshold, or None and the reason it cannot work."""
    floor = MIN_SCRAPES_PER_WINDOW * scrape_interval_ms
    long_ms = _at_least(durations.round_clean(period_ms / policy.period_divisor), floor)
    short_ms = _at_least(durations.round_clean(long_ms / SHORT_DIVISOR), floor)
    if short_ms >= long_ms:
        return None, (
            f"tier {policy.name}: its short window, raised to {MIN_SCRAPES_PER_WINDOW} scrape "
            f"intervals ({durations.format_ms(short_ms)}), reaches its long window "
            f"({durations.format_ms(long_ms)})"
        )
    factor = policy.budget_consumed * period_ms / long_ms
    threshold = factor * error_budget(objective_percent)
    if threshold >= 1:
        return None, (
            f"tier {policy.name} can never fire: burn factor {float(factor):.4g} × error budget "
            f"{float(error_budget(objective_percent)):.4g} = {float(threshold):.4g}, and an error "
            "ratio cannot exceed 1"
        )
    return Tier(policy.name, policy.severity, long_ms, short_ms, float(factor), float(threshold),
                float(policy.budget_consumed)), ""


def plan_tiers(period_ms: int, objective_percent: float, scrape_interval_ms: int,
               wanted: tuple[str, ...] | None, own: tuple[str, ...] = ()) -> tuple[list[Tier], list[str]]:
    """Tiers to generate, plus problems; the tiers in `own` have their own windows (planned by
    `tiers`), so the policy neither plans nor judges them.

    When the user names tiers, each one must work. When they don't, the default is every tier
    that can work: a p50 latency SLO (50% budget) only gets the slow ticket, which is right.
    """
    tiers, problems, skipped = [], [], []
    for policy in POLICY:
        if (wanted is not None and policy.name not in wanted) or policy.name in own:
            continue
        tier, reason = plan_tier(policy, period_ms, objective_percent, scrape_interval_ms)
        if tier:
            tiers.append(tier)
        elif wanted is not None:
            problems.append(reason)
        else:
            skipped.append(reason)
    if not tiers and not problems and not own:
        problems.extend(skipped or ["no alert tier is enabled"])
    return tiers, problems


@functools.lru_cache(maxsize=4096)
def _planned(period_ms: int, objective: float, scrape_interval_ms: int, wanted: tuple[str, ...] | None,
             own: tuple[str, ...]) -> tuple[tuple[Tier, ...], tuple[str, ...]]:
    found, problems = plan_tiers(period_ms, objective, scrape_interval_ms, wanted, own)
    return tuple(found), tuple(problems)


def own_windows(slo: m.SLO) -> dict[str, m.TierOptions]:
    """The tiers the SLO gives its own windows (`alerts.<tier>.long`, `short`, `burn`), among those it wants."""
    return {name: o for name, o in slo.tier_options
            if o.long_ms is not None and (slo.alert_tiers is None or name in slo.alert_tiers)}


def _policy(slo: m.SLO) -> tuple[tuple[Tier, ...], tuple[str, ...]]:
    return _planned(slo.period_ms, slo.objective, slo.scrape_interval_ms, slo.alert_tiers,
                    tuple(sorted(own_windows(slo))))


def _own_windows(policy: TierPolicy, own: m.TierOptions, slo: m.SLO) -> Tier:
    """The tier with the windows and burn rate the spec gives it (another tool's, kept)."""
    assert own.long_ms is not None and own.short_ms is not None and own.burn is not None
    burn = Fraction(str(own.burn))
    return Tier(policy.name, policy.severity, own.long_ms, own.short_ms, float(burn),
                float(burn * error_budget(slo.objective)), float(burn * own.long_ms / slo.period_ms))


def tiers(slo: m.SLO) -> tuple[Tier, ...]:
    """The SLO's alert tiers, in the policy's order: the ones it names, or every one that can fire;
    a tier with its own windows has those."""
    own, planned = own_windows(slo), {t.name: t for t in _policy(slo)[0]}
    return tuple(_own_windows(p, own[p.name], slo) if p.name in own else planned[p.name]
                 for p in POLICY if p.name in own or p.name in planned)


def alert_tiers(slo: m.SLO) -> tuple[Tier, ...]:
    """The tiers that become burn alerts: none for a recordings-only SLO (its windows still come
    from `tiers`), each with the severity and `for` the spec gives it."""
    if not slo.alerts_enabled:
        return ()
    own = dict(slo.tier_options)
    return tuple(dataclasses.replace(t, severity=(own[t.name].severity if t.name in own else None) or t.severity,
                                     for_ms=(own[t.name].for_ms if t.name in own else None) or slo.for_ms)
                 for t in tiers(slo))


def tier_problems(slo: m.SLO) -> tuple[str, ...]:
    """Why a tier the SLO names (or gives its own windows) cannot work, or why it has no tier at all."""
    found = list(_policy(slo)[1])
    floor = MIN_SCRAPES_PER_WINDOW * slo.scrape_interval_ms
    for t in tiers(slo):
        if t.name not in own_windows(slo):
            continue
        if t.threshold >= 1:
            found.append(f"tier {t.name} can never fire: its burn {t.factor:.4g} × error budget "
                         f"{float(error_budget(slo.objective)):.4g} = {t.threshold:.4g}, and an error ratio "
                         "cannot exceed 1")
        elif t.short_ms < floor:
            found.append(f"tier {t.name}: its short window {t.short} holds fewer than {MIN_SCRAPES_PER_WINDOW} "
                         f"scrapes ({durations.format_ms(slo.scrape_interval_ms)} apart)")
    return tuple(found)
