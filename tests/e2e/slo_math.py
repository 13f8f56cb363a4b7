"""What the SLO math predicts for a fault injected into a steady stream of events.

Events arrive at a steady rate, which the fault may change by a factor `weight` (a slow service
answers fewer requests). Before the fault (from when Prometheus began to see them) a share `base`
of them is bad; from the fault on a share `bad` is. An alert over windows W fires
once, in every window, the bad events divided by all events exceed the threshold: the same
event-weighted ratio the recording rules compute.
"""

from __future__ import annotations

STEP = 0.01  # seconds


def window_ratio(dt: float, window: float, seen_before: float, bad: float, base: float = 0.0,
                 weight: float = 1.0) -> float:
    """Error ratio over `window`, `dt` seconds after the fault, with `seen_before` seconds of
    pre-fault events visible to Prometheus."""
    after = min(dt, window)
    before = max(0.0, min(window - after, seen_before))
    after *= weight
    total = after + before
    return (bad * after + base * before) / total if total > 0 else 0.0


def seconds_to_fire(windows_s: tuple[float, ...], threshold: float, seen_before: float, bad: float,
                    base: float = 0.0, weight: float = 1.0, limit: float = 3600.0) -> float:
    """Seconds after the fault when every window's ratio first exceeds `threshold`."""
    dt = 0.0
    while dt <= limit:
        if all(window_ratio(dt, w, seen_before, bad, base, weight) > threshold for w in windows_s):
            return dt
        dt += STEP
    raise ValueError(f"never fires within {limit}s (bad share {bad} vs threshold {threshold})")


# ---------------------------------------------------------------- drift


def bin_shares(values: list[float], edges: list[float]) -> list[float]:
    """Shares per bin as the runtime counts them: bin i holds edges[i-1] < v <= edges[i] (Prometheus' `le`)."""
    from bisect import bisect_left

    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect_left(edges, v)] += 1
    return [c / len(values) for c in counts]


def psi(actual: list[float], expected: list[float], epsilon: float) -> float:
    """The rule's PSI: Σ (a − e) · ln((a + ε) / (e + ε))."""
    import math

    return sum((a - e) * math.log((a + epsilon) / (e + epsilon)) for a, e in zip(actual, expected, strict=True))


def binned_ks(actual: list[float], expected: list[float]) -> float:
    """The rule's KS: the largest gap between the two CDFs at the bin edges."""
    gap = top = 0.0
    for a, e in zip(actual[:-1], expected[:-1], strict=True):
        gap += a - e
        top = max(top, abs(gap))
    return top


def seconds_to_drift(baseline: list[float], shifted: list[float], threshold: float, window: float,
                     seen_before: float, epsilon: float, weight: float = 1.0,
                     ks_critical: float | None = None) -> float:
    """Seconds after a shift until the PSI over `window` (a mix of clean and shifted inputs at a
    steady rate) exceeds `threshold` and, for a feature judged by the KS test, its binned KS
    exceeds `ks_critical` (the rules' verdict needs both)."""
    dt = 0.0
    while dt <= window:
        f = window_ratio(dt, window, seen_before, bad=1.0, weight=weight)  # the shifted share of the window's inputs
        mix = [(1 - f) * b + f * s for b, s in zip(baseline, shifted, strict=True)]
        significant = ks_critical is None or binned_ks(mix, baseline) > ks_critical
        if psi(mix, baseline, epsilon) > threshold and significant:
            return dt
        dt += STEP
    raise ValueError("the shift never drifts past the threshold")
