"""The records planning hands to every target: recording rules, alerts and their groups.

A target reads these and never another target's output: the rule file renders them, unit tests
expect their labels and annotations, runbooks pick a template by an alert's `kind`, series
estimates count a recording's `fanout`, dashboards link to an alert's panel. Plain data only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recording:
    name: str
    expr: str
    labels: dict[str, str]
    # Labels the expression keeps besides `labels`, one series per value (`feature`, `class`): what
    # the series estimate multiplies; a recording without fanout is one series.
    fanout: tuple[str, ...] = ()
    # Series the expression itself yields per fanout value (an `or` of labelled constants).
    series: int = 1


@dataclass(frozen=True)
class Alert:
    name: str
    # The alert family: "burn", "no_data", "model_down", or an ML family (a key of naming.ML_ALERTS).
    kind: str
    severity: str
    expr: str
    for_ms: int | None  # None: the rule has no `for`
    labels: dict[str, str]
    annotations: dict[str, str]
    slo: str | None = None
    tier: str | None = None


Rule = Recording | Alert


@dataclass(frozen=True)
class Group:
    name: str
    rules: tuple[Rule, ...]
    interval_ms: int | None = None  # None: the global evaluation interval


@dataclass(frozen=True)
class RulePlan:
    """Every rule of one model, in the groups and order its rule file holds them."""

    model: str
    groups: tuple[Group, ...]

    def alerts(self) -> list[Alert]:
        return [r for g in self.groups for r in g.rules if isinstance(r, Alert)]

    def recordings(self) -> list[Recording]:
        return [r for g in self.groups for r in g.rules if isinstance(r, Recording)]
