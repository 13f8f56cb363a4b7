"""Prometheus durations as integer milliseconds, so window arithmetic is exact."""

from __future__ import annotations

import functools
import math
import re

_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
             "m": 60_000, "s": 1000, "ms": 1}
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")

# Clean durations that windows are rounded to. Weeks are spelled in days (7d reads better in a
# rule name than 1w), and the ladder is dense enough that rounding moves a window by <= ~25%.
LADDER_MS = sorted(
    v * _UNITS_MS[u]
    for u, vs in {
        "s": [1, 2, 3, 5, 10, 15, 20, 30],
        "m": [1, 2, 3, 5, 10, 15, 20, 30, 45],
        "h": [1, 2, 3, 4, 6, 8, 12, 18],
        "d": [1, 2, 3, 4, 5, 6, 7, 10, 14, 21, 28, 30, 60, 90],
    }.items()
    for v in vs
)


class DurationError(ValueError):
    pass


def parse(text: str) -> int:
    """'1h30m' → 5_400_000. Raises DurationError with the accepted forms."""
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or not text.strip():
        raise DurationError(
            f"{text!r} is not a duration; use a number and a unit, e.g. 30s, 5m, 1h, 30d "
            "(units: ms, s, m, h, d, w, y)"
        )
    total = 0
    for i, unit in enumerate(_ORDER):
        value = m.group(2 * i + 2)
        if value:
            total += int(value) * _UNITS_MS[unit]
    if total <= 0:
        raise DurationError(f"{text!r} must be longer than zero")
    return total


@functools.lru_cache(maxsize=4096)
def format_ms(ms: int) -> str:
    """5_400_000 → '1h30m'; the inverse of parse, Prometheus-compatible, weeks as days."""
    if ms <= 0:
        raise DurationError("durations are positive")
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts)


@functools.lru_cache(maxsize=4096)  # every SLO of a fleet asks for the same few windows
def round_clean(ms: float) -> int:
    """Round to the nearest clean duration on a log scale (the scale errors are judged on)."""
    target = math.log(max(ms, 1.0))
    return min(LADDER_MS, key=lambda c: (abs(math.log(c) - target), c))
