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
    """The message, and the spelling to use instead in spec errors' `(hint: ...)` form: pydantic
    passes only str(error) on, so the hint rides in the text, rendered as every other hint is."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} (hint: {hint})" if hint else message)
        self.message, self.hint = message, hint


_FORMS = "use a number and a unit, e.g. 30s, 5m, 1h, 30d (units: ms, s, m, h, d, w, y)"
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
_FRACTION = re.compile(r"^\s*(\d*\.\d+)\s*(ms|s|m|h|d|w|y)\s*$")
# Unit words people write in prose; Prometheus only takes the letters.
_WORDS = {"millisecond": "ms", "msec": "ms", "second": "s", "sec": "s", "minute": "m", "min": "m",
          "hour": "h", "hr": "h", "day": "d", "week": "w", "wk": "w", "year": "y", "yr": "y"}
_WORDED = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$", re.IGNORECASE)


def _whole(ms: float) -> str | None:
    """A fractional duration in the largest unit that makes it whole (1.5h → 90m), or None."""
    for unit in _ORDER:
        count = ms / _UNITS_MS[unit]
        if count >= 1 and abs(count - round(count)) < 1e-9:
            return f"{round(count)}{unit}"
    return None


def _unitless(number: float) -> str:
    """The hint for a bare number: which units it plausibly meant (a YAML `15` is an integer)."""
    if number != int(number):
        guesses = [g for g in (_whole(number * _UNITS_MS[u]) for u in ("m", "h")) if g]
        return "durations need a unit: " + "? ".join(guesses) + "?" if guesses else _FORMS
    n = int(number)
    # Seconds and minutes are the usual intent; hours only for small counts (15h yes, 300h no), days
    # for the usual SLO periods (`window: 30` meant 30d).
    guesses = [f"{n}m", f"{n}s", *([f"{n}h"] if n <= 48 else []), *([f"{n}d"] if n in (7, 14, 28, 30, 90) else [])]
    return "durations need a unit: " + "? ".join(guesses) + "?"


def _why(text: object) -> tuple[str, str]:
    """Why `text` is not a duration, and the spelling it most likely meant (or "")."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return f"{text!r} is not a duration; {_FORMS}", ""
    if isinstance(text, (int, float)) or _NUMBER.match(text):
        return f"{text!r} has no unit", _unitless(float(text))
    squeezed = re.sub(r"\s+", "", text)
    if squeezed != text.strip() and _DURATION.match(squeezed) and squeezed:
        return f"{text!r} is not a duration: no spaces inside a duration", f"write {squeezed}"
    frac = _FRACTION.match(text)
    if frac:
        whole = _whole(float(frac.group(1)) * _UNITS_MS[frac.group(2)])
        return (f"{text!r} is not a duration: the number must be whole",
                f"use {whole}" if whole else "use a smaller unit")
    worded = _WORDED.match(text)
    if worded and worded.group(2).lower() in _WORDS:
        return f"{text!r} is not a duration; {_FORMS}", f"write {worded.group(1)}{_WORDS[worded.group(2).lower()]}"
    return f"{text!r} is not a duration; {_FORMS}", ""


def parse(text: str) -> int:
    """'1h30m' → 5_400_000. Raises DurationError saying what was given and what to write instead."""
    # YAML turns `15` into an int and `1.5` into a float: they arrive here, not as strings.
    if not isinstance(text, str):
        raise DurationError(*_why(text))
    return _parse_text(text)


@functools.lru_cache(maxsize=4096)  # a fleet's specs repeat the same few durations thousands of times
def _parse_text(text: str) -> int:
    m = _DURATION.match(text.strip())
    if not m or not text.strip():
        raise DurationError(*_why(text))
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
