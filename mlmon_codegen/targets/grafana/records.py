"""The records a dashboard is made of, as plain data: panels, their queries, threshold steps, rows.

panels.py and ml_panels.py fill them in, dashboards.py lays them out and turns them into Grafana
JSON; this module imports neither, so content modules never import each other back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Grafana fills these at query time; the checks and `mlmon preview` substitute them.
RATE_INTERVAL = "$__rate_interval"
VERSION_VAR = "version"
DATASOURCE_VAR = "datasource"


def group_var(label: str) -> str:
    """The dashboard variable of an SLO group label (group_by): the label's own name, unless a
    variable mlmon defines already has it."""
    return f"group_{label}" if label in (VERSION_VAR, DATASOURCE_VAR) else label

GREEN, ORANGE, RED = "green", "orange", "red"
BURN_UNIT = "suffix:x"  # a burn rate reads as "6x": how many times faster than the budget allows


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Step:
    """A Grafana threshold step: from `value` upwards the colour is `color` (None: the base)."""

    value: float | None
    color: str


@dataclass(frozen=True)
class Panel:
    """One panel. `key` says what it shows, e.g. `slo/<slo>/burn-tiers` (plan/panel_keys.py names
    those alerts open); it is unique in its dashboard and gives the panel its id, which therefore
    stays put when other panels come or go."""

    title: str
    kind: str  # timeseries | stat | bargauge | table
    queries: tuple[Query, ...]
    w: int
    h: int
    unit: str = "none"
    steps: tuple[Step, ...] = ()
    lines: bool = False  # draw the threshold steps as lines on a time series
    description: str = ""
    min: float | None = None
    max: float | None = None
    key: str = field(kw_only=True)


@dataclass(frozen=True)
class Section:
    """A Grafana row: a title and the panels under it; `key`, one word, names the row."""

    title: str
    panels: tuple[Panel, ...]
    key: str = field(kw_only=True)


def steps_from(*pairs: tuple[float | None, str]) -> tuple[Step, ...]:
    """Threshold steps from (value, colour) pairs, the first with value None (the base colour)."""
    return tuple(Step(v, c) for v, c in pairs)
