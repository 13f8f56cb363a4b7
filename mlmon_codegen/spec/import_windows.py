"""A source tool's burn-rate alerts as mlmon tiers with their own windows (`alerts.<tier>`).

mlmon has two tiers of each kind: page-fast and page-slow, ticket-fast and ticket-slow. The
source's alerts are sorted into kinds by severity and, within a kind, by long window (the shorter
is the fast tier). A single-window alert (an OpenSLO AlertCondition) gets the SRE workbook's short
window, a twelfth of the long one: it fires when the single window would, and clears soon after
the burn stops. What does not fit (a third alert of a kind, an unknown severity) is said.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from mlmon_codegen.core import durations
from mlmon_codegen.spec.openslo import SourceWindow

KINDS = {"page": "page", "critical": "page", "high": "page",
         "ticket": "ticket", "warning": "ticket", "low": "ticket", "info": "ticket"}
TIERS = {"page": ("page-fast", "page-slow"), "ticket": ("ticket-fast", "ticket-slow")}
SHORT_DIVISOR = 12


def as_tiers(slo: str, whose: str, source: list[SourceWindow],
             objective: float) -> tuple[dict[str, Any], list[str]]:
    """The SLO's `alerts` entries for the source's windows (each tier's long, short, burn and `for`,
    and `tiers` when not all four are given), and notes on what was changed or left out."""
    notes: list[str] = []
    by_kind: dict[str, list[SourceWindow]] = {}
    budget = 1 - Fraction(str(objective)) / 100
    for w in source:
        kind = KINDS.get(w.severity.lower())
        if kind is None:
            notes.append(f"{slo}: {whose} alert {w.name or w.severity!r} has severity {w.severity!r}, which is "
                         f"neither page ({', '.join(k for k, v in KINDS.items() if v == 'page')}) nor ticket: "
                         "not converted")
            continue
        by_kind.setdefault(kind, []).append(w)
    alerts: dict[str, Any] = {}
    for kind, found in sorted(by_kind.items()):
        found.sort(key=lambda w: (w.long_ms, -w.factor))
        for tier, w in zip(TIERS[kind], found, strict=False):
            if w.factor * budget >= 1:
                notes.append(f"{slo}: {whose} alert {w.name or w.severity!r} ({w.factor:g}x over "
                             f"{durations.format_ms(w.long_ms)}) can never fire ({w.factor:g} × error budget "
                             f"{float(budget):g} is not below 1): {tier} is left out")
                continue
            short = w.short_ms or durations.round_clean(w.long_ms / SHORT_DIVISOR)
            if not w.short_ms:
                notes.append(f"{slo}: {whose} alert {w.name or tier!r} has one window; as {tier} it also needs "
                             f"a short window of {durations.format_ms(short)} (a twelfth), so it clears soon "
                             "after the burn stops")
            alerts[tier] = {"long": durations.format_ms(w.long_ms), "short": durations.format_ms(short),
                            "burn": int(w.factor) if float(w.factor).is_integer() else w.factor}
            if w.for_ms:
                alerts[tier]["for"] = durations.format_ms(w.for_ms)
        for w in found[2:]:
            notes.append(f"{slo}: {whose} alert {w.name or w.severity!r} ({w.factor:g}x over "
                         f"{durations.format_ms(w.long_ms)}) is a third {kind} alert; mlmon has two "
                         f"({', '.join(TIERS[kind])}): not converted")
    if alerts and len(alerts) < sum(map(len, TIERS.values())):
        alerts["tiers"] = [t for kind in ("page", "ticket") for t in TIERS[kind] if t in alerts]
    return alerts, notes
