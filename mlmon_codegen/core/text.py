"""How numbers read in prose: percentages and durations for people, the same in every artifact."""

from __future__ import annotations

import math
import re

from mlmon_codegen.core.durations import format_ms


def percent(ratio: float, digits: int = 4) -> str:
    """Go's humanizePercentage (%.4g of the percentage), so alert texts match what Alertmanager shows."""
    return f"{ratio * 100:.{digits}g}%"


def human(seconds: float) -> str:
    """52s, 4m56s, 2d2h: two units are enough for a person. Sub-10s values keep 2-3 digits."""
    if math.isinf(seconds):
        return "never"
    if seconds < 10:
        return f"{seconds:.2g}s" if seconds < 1 else f"{seconds:.3g}s"
    text = format_ms(round(seconds) * 1000)
    return "".join(re.findall(r"\d+(?:ms|[dhms])", text)[:2])
