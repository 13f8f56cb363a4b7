"""Feature histograms with per-feature bucket edges, as one prometheus_client collector.

prometheus_client's Histogram has one bucket set per metric, but drift rules need each feature's
own baseline edges under the one metric `ml_feature_value{feature=...}`. The exposition format
allows that (buckets are per series), so this collector keeps plain counts and renders them at
scrape time. One lock per recorded prediction, not one per observation, keeps the hot path cheap.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample

from mlmon_codegen.spec import model as m

# A category the baseline never saw: one shared label value keeps cardinality bounded.
UNKNOWN = "__unknown__"


def le_text(bound: float) -> str:
    """Python's repr, which plan/promql.le_matcher matches ("1.0" for 1, "0.25" for 0.25)."""
    return repr(float(bound))


class _Numeric:
    __slots__ = ("counts", "edges", "le", "sum")

    def __init__(self, edges: tuple[float, ...]):
        self.edges = list(edges)
        self.le = [le_text(e) for e in edges]
        self.counts = [0] * (len(edges) + 1)  # per bin, not cumulative; the last is (edges[-1], +Inf)
        self.sum = 0.0


class FeatureCollector:
    """Counts per feature: numeric bins, categories, missing values."""

    def __init__(self, features: tuple[m.Feature, ...], met: m.Metrics):
        self._met = met
        self._lock = threading.Lock()
        self._numeric: dict[str, _Numeric] = {f.name: _Numeric(f.edges) for f in features if f.kind == "numeric"}
        # __unknown__ exists at zero from the start: increase() never counts a series' first
        # sample, so a series born with the first unseen value would lose that value after every start.
        self._categorical: dict[str, dict[str, int]] = {
            f.name: dict.fromkeys((*f.categories, UNKNOWN), 0) for f in features if f.kind == "categorical"}
        self._missing: dict[str, int] = {f.name: 0 for f in features}
        # (name, kind-specific state) in spec order: the loop in observe() does no lookups by kind.
        self._order: list[tuple[str, _Numeric | dict[str, int]]] = [
            (f.name, self._numeric[f.name] if f.kind == "numeric" else self._categorical[f.name]) for f in features]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._order]

    def observe(self, values: Mapping[str, Any]) -> None:
        """One prediction's inputs. Absent, None and NaN are missing; ±inf is counted in the
        outer bins (it is out of range) but kept out of the sum, which would stay inf forever."""
        get = values.get
        with self._lock:
            for name, state in self._order:
                v = get(name)
                if v is None or v != v:  # v != v: NaN
                    self._missing[name] += 1
                elif type(state) is _Numeric:
                    try:
                        x = float(v)
                    except (TypeError, ValueError):
                        self._missing[name] += 1  # not a number: the model saw no usable value
                        continue
                    if x != x:
                        self._missing[name] += 1
                        continue
                    state.counts[bisect_left(state.edges, x)] += 1
                    if x - x == 0:  # finite
                        state.sum += x
                else:
                    key = str(v)
                    if key in state:
                        state[key] += 1
                    else:
                        state[UNKNOWN] += 1

    def collect(self) -> Iterator[Metric]:
        met = self._met
        labels = [met.model_label, "feature"]
        with self._lock:
            numeric = [(name, list(s.le), list(s.counts), s.sum) for name, s in self._numeric.items()]
            categorical = [(name, dict(c)) for name, c in self._categorical.items()]
            missing = dict(self._missing)
        if numeric:
            hist = HistogramMetricFamily(met.feature_value, "Model input values, in the training baseline's bins",
                                         labels=labels)
            for name, le, counts, total in numeric:
                cumulative, running = [], 0
                for bound, c in zip([*le, "+Inf"], counts, strict=True):
                    running += c
                    cumulative.append((bound, running))
                # _count and _sum by hand: prometheus_client drops both when the first bucket is
                # negative (any feature with negative values, or a range min of 0), and the rules
                # read the sample count from _count.
                hist.add_metric([met.model_value, name], cumulative, None)
                series = {met.model_label: met.model_value, "feature": name}
                hist.samples.append(Sample(met.feature_value + "_count", series, running))
                hist.samples.append(Sample(met.feature_value + "_sum", series, total))
            yield hist
        if categorical:
            cat = CounterMetricFamily(met.feature_category, "Model input categories",
                                      labels=[*labels, "category"])
            for name, counts in categorical:
                for category, c in sorted(counts.items()):
                    cat.add_metric([met.model_value, name, category], c)
            yield cat
        if missing:
            miss = CounterMetricFamily(met.feature_missing, "Model inputs that were missing (absent, null or NaN)",
                                       labels=labels)
            for name, c in missing.items():
                miss.add_metric([met.model_value, name], c)
            yield miss
