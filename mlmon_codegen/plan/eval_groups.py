"""Rule-group intervals fitted to the window a rule reads, to keep evaluation cheap at fleet scale.

A recording over a 3d window changes by a negligible share of itself in a few minutes, yet at the
global evaluation interval it re-reads three days of raw samples every 30s. Such rules go in a
group evaluated less often: the staleness this adds is at most interval / window of the window
(MAX_STALENESS), and the interval stays below Prometheus' 5m lookback so the recorded series
never has gaps. Pure functions, no I/O.
"""

from __future__ import annotations

# Candidate intervals, longest first; 4m is the last below the default 5m lookback delta. No 2m:
# it served only 18h windows (a 7-day period's ticket-slow tier), and a group of its own costs a
# model more than evaluating that one rule every minute.
LADDER_MS = (240_000, 60_000)
# A recording may lag its window by at most this share of the window.
MAX_STALENESS = 1 / 360


def interval_for(window_ms: int, evaluation_interval_ms: int) -> int:
    """The group interval for rules reading `window_ms`: the longest ladder step within the
    staleness bound, never shorter than the global evaluation interval."""
    for step in LADDER_MS:
        if step > evaluation_interval_ms and step <= window_ms * MAX_STALENESS:
            return step
    return evaluation_interval_ms


def period_interval(evaluation_interval_ms: int) -> int:
    """The period ratio and budget are for dashboards and reports, not alerts: the longest step."""
    return max(LADDER_MS[0], evaluation_interval_ms)
