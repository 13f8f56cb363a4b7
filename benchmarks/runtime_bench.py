"""Per-prediction cost of mlmon_codegen.runtime against bare prometheus_client calls.

Both sides record the same things for one prediction: the request, latency, predicted class,
confidence and every feature value into a 10-bin histogram. "bare" is what the seed articles
write (`metric.labels(...).observe(...)` on each call, one Histogram for all features);
"bare, bound" caches the labelled children, the fastest plain prometheus_client can do.
Targets: runtime <= 1.3x bare, and < 25 us per prediction with 4 features.

    .venv/bin/python benchmarks/runtime_bench.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.spec import model as m

N = 20_000
REPEATS = 5
EDGES = tuple(float(x) for x in range(1, 11))  # 10 bins plus the range ends' overflow bin
CLASSES = ("setosa", "versicolor", "virginica")


def metrics_model(n_features: int) -> m.Model:
    features = tuple(m.Feature(f"f{i}", "numeric", edges=EDGES) for i in range(n_features))
    met = m.Metrics("model_name", "bench", "ml_prediction_requests_total", "ml_prediction_errors_total",
                    "ml_prediction_latency_seconds", m.DEFAULT_LATENCY_BUCKETS, "ml_prediction_class_total",
                    "ml_prediction_confidence", "ml_feature_value", "ml_feature_missing_total",
                    "ml_ground_truth_total", "ml_model_trained_timestamp_seconds")
    scrape = m.Scrape(("bench:8000",), None, 15_000, None, "/metrics", "http")
    return m.Model("bench", "bench", "(bench)", (), "", "1", "classification", CLASSES, scrape, met, (),
                   300_000, None, 600_000, features=features)


def bare(n_features: int, bound: bool) -> Callable[[dict[str, float], str, float, float], None]:
    reg = CollectorRegistry()
    req = Counter("ml_prediction_requests_total", "r", ["model_name", "model_version"], registry=reg)
    lat = Histogram("ml_prediction_latency_seconds", "l", ["model_name"], registry=reg,
                    buckets=m.DEFAULT_LATENCY_BUCKETS)
    cls = Counter("ml_prediction_class_total", "c", ["model_name", "predicted_class"], registry=reg)
    conf = Histogram("ml_prediction_confidence", "c", ["model_name", "predicted_class"], registry=reg,
                     buckets=m.DEFAULT_CONFIDENCE_BUCKETS)
    feat = Histogram("ml_feature_value", "f", ["model_name", "feature"], registry=reg, buckets=EDGES)
    if not bound:
        def record(features: dict[str, float], c: str, p: float, s: float) -> None:
            req.labels("bench", "1").inc()
            lat.labels("bench").observe(s)
            cls.labels("bench", c).inc()
            conf.labels("bench", c).observe(p)
            for name, v in features.items():
                feat.labels("bench", name).observe(v)
        return record
    req_c, lat_c = req.labels("bench", "1"), lat.labels("bench")
    cls_c = {c: (cls.labels("bench", c), conf.labels("bench", c)) for c in CLASSES}
    feat_c = {f"f{i}": feat.labels("bench", f"f{i}") for i in range(n_features)}

    def record_bound(features: dict[str, float], c: str, p: float, s: float) -> None:
        req_c.inc()
        lat_c.observe(s)
        counter, hist = cls_c[c]
        counter.inc()
        hist.observe(p)
        for name, v in features.items():
            feat_c[name].observe(v)
    return record_bound


def runtime(n_features: int) -> Callable[[dict[str, float], str, float, float], None]:
    mm = ModelMetrics(metrics_model(n_features))

    def record(features: dict[str, float], c: str, p: float, s: float) -> None:
        mm.record(features, c, p, s)
    return record


def runtime_block(n_features: int) -> Callable[[dict[str, float], str, float, float], None]:
    """The context-manager form, which also measures the latency itself."""
    mm = ModelMetrics(metrics_model(n_features))

    def record(features: dict[str, float], c: str, p: float, s: float) -> None:
        with mm.predicting(features) as pred:
            pred.result(c, p)
    return record


def per_call_us(fn: Callable[[dict[str, float], str, float, float], None], inputs: list) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for features, c, p, s in inputs:
            fn(features, c, p, s)
        best = min(best, (time.perf_counter() - start) / len(inputs))
    return best * 1e6


def main() -> None:
    rng = random.Random(0)
    print(f"per prediction, best of {REPEATS} x {N} calls (microseconds)")
    print(f"{'features':>8} {'bare':>8} {'bare,bound':>10} {'runtime':>8} {'vs bare':>8} {'vs bound':>8} "
          f"{'with-block':>10}")
    for n in (4, 20):
        inputs = [({f"f{i}": rng.uniform(0, 11) for i in range(n)}, rng.choice(CLASSES), rng.random(),
                   rng.uniform(0, 0.2)) for _ in range(N)]
        b, bb, r = (per_call_us(bare(n, False), inputs), per_call_us(bare(n, True), inputs),
                    per_call_us(runtime(n), inputs))
        w = per_call_us(runtime_block(n), inputs)
        print(f"{n:>8} {b:8.2f} {bb:10.2f} {r:8.2f} {r / b:7.2f}x {r / bb:7.2f}x {w:10.2f}")


if __name__ == "__main__":
    main()
