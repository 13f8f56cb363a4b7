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
               wanted: tuple[str, ...] | None) -> tuple[list[Tier], list[str]]:
    """Tiers to generate, plus problems.

    When the user names tiers, each one must work. When they don't, the default is every tier
    that can work: a p50 latency SLO (50% budget) only gets the slow ticket, which is right.
    """
    tiers, problems, skipped = [], [], []
    for policy in POLICY:
        if wanted is not None and policy.name not in wanted:
            continue
        tier, reason = plan_tier(policy, period_ms, objective_percent, scrape_interval_ms)
        if tier:
            tiers.append(tier)
        elif wanted is not None:
            problems.append(reason)
        else:
            skipped.append(reason)
    if not tiers and not problems:
        problems.extend(skipped or ["no alert tier is enabled"])
    return tiers, problems


@functools.lru_cache(maxsize=4096)
def _planned(period_ms: int, objective: float, scrape_interval_ms: int,
             wanted: tuple[str, ...] | None) -> tuple[tuple[Tier, ...], tuple[str, ...]]:
    found, problems = plan_tiers(period_ms, objective, scrape_interval_ms, wanted)
    return tuple(found), tuple(problems)


def tiers(slo: m.SLO) -> tuple[Tier, ...]:
    """The SLO's alert tiers: the ones it names, or every one that can fire."""
    return _planned(slo.period_ms, slo.objective, slo.scrape_interval_ms, slo.alert_tiers)[0]


def alert_tiers(slo: m.SLO) -> tuple[Tier, ...]:
    """The tiers that become burn alerts: none for a recordings-only SLO (its windows still come
    from `tiers`), each with the severity the spec gives it."""
    if not slo.alerts_enabled:
        return ()
    own = dict(slo.tier_options)
    return tuple(dataclasses.replace(t, severity=own[t.name].severity)
                 if t.name in own and own[t.name].severity else t for t in tiers(slo))


def tier_problems(slo: m.SLO) -> tuple[str, ...]:
    """Why a tier the SLO names cannot work, or why it has no tier at all."""
    return _planned(slo.period_ms, slo.objective, slo.scrape_interval_ms, slo.alert_tiers)[1]
