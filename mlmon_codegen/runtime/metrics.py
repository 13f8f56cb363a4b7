"""ModelMetrics: the metrics a model service exposes, made from the same internal model as the rules.

Names, the model-selecting label, latency buckets (which contain every SLO threshold) and the
feature bins all come from `mlmon_codegen.spec.model.Model`, so the service and the generated rules
cannot disagree. Labelled children are created once and cached: the hot path is a dict lookup
and the increments.

Unknown values never crash and never grow cardinality without bound: a predicted or actual class
outside the spec's `model.classes` (or beyond MAX_CLASSES when the spec lists none) is recorded
as class `__unknown__`, and so is a categorical feature value the baseline never saw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlmon_codegen.runtime.features import UNKNOWN, FeatureCollector
from mlmon_codegen.spec import ml as ml_spec
from mlmon_codegen.spec import model as m

MAX_CLASSES = 100  # distinct class labels when the spec lists no classes
# Truth pairs created at zero up front: (classes + 1)², so only for specs with up to 31 classes.
MAX_ZERO_TRUTH_SERIES = 1024
MAX_ERROR_TYPES = 50  # distinct error_type labels; more become "other"
# Label lag runs from minutes to days (human review, delayed outcomes).
LABEL_LAG_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0, 172800.0,
                     604800.0)

T = TypeVar("T")


def confidence_buckets(model: m.Model) -> tuple[float, ...]:
    """Defaults plus the spec's confidence threshold and floor, so the rules read exact bounds."""
    extra = {model.ml.confidence_threshold, model.ml.confidence_floor} if model.ml else set()
    return tuple(sorted(set(m.DEFAULT_CONFIDENCE_BUCKETS) | extra))


@dataclass
class Prediction:
    """Filled in inside `ModelMetrics.predicting()`; recorded when the block ends."""

    features: Mapping[str, Any] | None = None
    predicted_class: str | None = None
    confidence: float | None = None
    error: str | None = None  # set to count the request as failed without raising

    def result(self, predicted_class: str, confidence: float | None = None) -> None:
        self.predicted_class, self.confidence = predicted_class, confidence


# The residual counters, exposed (and required) for a regression model only.
RESIDUAL_ROLES = ("residuals", "residual_abs", "residual_squared", "residual_positive", "residual_relative",
                  "residual_relative_count")  # counters; and the |e| histogram, "residual_histogram"

DEFAULT_LABELS = {"class_label": "predicted_class", "actual_class_label": "actual_class", "feature_label": "feature",
                  "category_label": "category", "error_type_label": "error_type", "version_label": "model_version"}


def unservable(model: m.Model) -> str | None:
    """Why this runtime cannot expose the model's metric contract, or None when it can.

    The runtime writes mlmon's own contract (README, "The metric contract"). A spec that describes
    another instrumentation (a preset, other label names, matchers, roles it lacks) is monitored,
    not served: its service is the user's own."""
    met = model.metrics
    roles = ("requests", "errors", "latency", "predicted_class", "confidence", "feature_value", "feature_missing",
             "feature_category", "ground_truth", "label_lag", "trained_at",
             *((*RESIDUAL_ROLES, "residual_histogram") if model.task == "regression" else ()))
    missing = [r for r in roles if getattr(met, r) is None]
    renamed = [k for k, v in DEFAULT_LABELS.items() if getattr(met, k) != v]
    if missing or renamed or met.select is not None or met.role_matchers or met.requests_count_successes \
            or any(f.metric or f.gauges_only for f in model.features):
        what = (f"roles it lacks ({', '.join(missing)})" if missing else
                f"label names of its own ({', '.join(renamed)})" if renamed else "selectors or shapes of its own")
        return f"{model.name}'s metrics section describes another instrumentation: {what}"
    return None


class ModelMetrics:
    def __init__(self, model: m.Model, version: str | None = None, registry: CollectorRegistry | None = None):
        reason = unservable(model)
        if reason is not None:
            raise ValueError(f"{reason}; mlmon's runtime exposes only its own metric contract")
        self.model = model
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        met = model.metrics
        key = met.model_label
        self.version = version or model.version or "unknown"
        reg = self.registry
        self._requests = Counter(met.requests, "Prediction requests", [key, "model_version"], registry=reg
                                 ).labels(met.model_value, self.version)
        self._errors = Counter(met.errors, "Failed prediction requests, by error type", [key, "error_type"],
                               registry=reg)
        self._latency = Histogram(met.latency, "Prediction latency", [key], buckets=met.latency_buckets,
                                  registry=reg).labels(met.model_value)
        self._classes = Counter(met.predicted_class, "Predictions by predicted class", [key, "predicted_class"],
                                registry=reg)
        self._confidence = Histogram(met.confidence, "Confidence of the predicted class", [key, "predicted_class"],
                                     buckets=confidence_buckets(model), registry=reg)
        self._ground_truth = Counter(met.ground_truth, "Labelled predictions, by predicted and actual class",
                                     [key, "predicted_class", "actual_class"], registry=reg)
        self._label_lag = Histogram(met.label_lag, "Seconds from a prediction to its ground-truth label", [key],
                                    buckets=LABEL_LAG_BUCKETS, registry=reg).labels(met.model_value)
        self._trained_at = Gauge(met.trained_at, "When the served model was trained (unix seconds)",
                                 [key, "model_version"], registry=reg)
        self._residuals: tuple[Any, ...] | None = None
        if model.task == "regression":
            helps = ("Labelled predictions (regression)", "Sum of |predicted - actual|",
                     "Sum of (predicted - actual)^2", "Sum of max(predicted - actual, 0)",
                     "Sum of |predicted - actual| / |actual|, actual not 0", "Labelled predictions, actual not 0")
            # Created at zero: increase() never counts a series' first sample.
            self._residuals = tuple(Counter(getattr(met, r), h, [key], registry=reg).labels(met.model_value)
                                    for r, h in zip(RESIDUAL_ROLES, helps, strict=True))
            buckets = model.ml.residual_buckets if model.ml and model.ml.residual_buckets else \
                ml_spec.DEFAULT_RESIDUAL_BUCKETS
            self._residual_hist = Histogram(met.residual_histogram, "|predicted - actual| of labelled predictions",
                                            [key], buckets=buckets, registry=reg).labels(met.model_value)
        self._features = FeatureCollector(model.features, met) if model.features else None
        if self._features:
            reg.register(self._features)
        self._known_classes = frozenset(model.classes)
        self._class_children: dict[str, tuple[Any, Any]] = {}
        self._error_children: dict[str, Any] = {}
        self._truth_children: dict[tuple[str, str], Any] = {}
        # Every series known up front exists at zero from the first scrape: increase() never counts
        # a series' first sample, so a series born with its first event would lose that event after
        # every start. Declared classes, __unknown__, and the truth pairs among them (when few).
        for c in model.classes:
            self._class(c)
        value = met.model_value
        self._classes.labels(value, UNKNOWN)
        self._confidence.labels(value, UNKNOWN)
        known = [*model.classes, UNKNOWN] if model.classes else []
        if len(known) ** 2 <= MAX_ZERO_TRUTH_SERIES:
            for predicted in known:
                for actual in known:
                    self._ground_truth.labels(value, predicted, actual)

    @classmethod
    def from_spec(cls, path: str | Path, model_name: str | None = None, version: str | None = None,
                  registry: CollectorRegistry | None = None) -> ModelMetrics:
        """Validate the spec exactly as `mlmon generate` does (SpecError on bad input)."""
        from mlmon_codegen.spec.validate import load_and_validate

        models = load_and_validate([Path(path)]).fleet.models
        if model_name is not None:
            models = tuple(x for x in models if x.name == model_name)
        if len(models) != 1:
            names = ", ".join(x.name for x in models) or "none"
            raise ValueError(f"{path}: expected one model{f' named {model_name!r}' if model_name else ''}, "
                             f"found {names}")
        return cls(models[0], version=version, registry=registry)

    # -- label children, cached -------------------------------------------------------------

    def class_label(self, name: str) -> str:
        """The label value a class is recorded under."""
        if self._known_classes:
            return name if name in self._known_classes else UNKNOWN
        return name if len(self._class_children) < MAX_CLASSES or name in self._class_children else UNKNOWN

    def _class(self, name: str) -> tuple[Any, Any]:
        child = self._class_children.get(name)
        if child is None:
            label = self.class_label(name)
            value = self.model.metrics.model_value
            child = (self._classes.labels(value, label), self._confidence.labels(value, label))
            # Unknown names share one child; caching each would let junk input grow the dict.
            if label != UNKNOWN or len(self._class_children) < 2 * MAX_CLASSES:
                self._class_children[name] = child
        return child

    def _error(self, error_type: str) -> Any:
        child = self._error_children.get(error_type)
        if child is None:
            label = error_type if len(self._error_children) < MAX_ERROR_TYPES else "other"
            child = self._errors.labels(self.model.metrics.model_value, label)
            if label != "other":
                self._error_children[error_type] = child
        return child

    # -- recording ----------------------------------------------------------------------------

    def record(self, features: Mapping[str, Any] | None = None, predicted_class: str | None = None,
               confidence: float | None = None, latency_s: float | None = None, error: str | None = None) -> None:
        """One prediction request: its inputs, outcome, latency and, when it failed, the error type."""
        self._requests.inc()
        if error is not None:
            self._error(error).inc()
        if latency_s is not None:
            self._latency.observe(latency_s)
        if predicted_class is not None:
            counter, conf = self._class_children.get(predicted_class) or self._class(predicted_class)
            counter.inc()
            # A NaN confidence would poison the histogram's sum and land in no bucket.
            if confidence is not None and 0.0 <= confidence <= 1.0:
                conf.observe(confidence)
        if features is not None and self._features is not None:
            self._features.observe(features)

    def record_error(self, error_type: str) -> None:
        """A request rejected before any prediction (bad input): counted as a failed request."""
        self._requests.inc()
        self._error(error_type).inc()

    @contextmanager
    def predicting(self, features: Mapping[str, Any] | None = None) -> Iterator[Prediction]:
        """Times the block; an exception is counted under its type name and re-raised."""
        p = Prediction(features)
        start = time.perf_counter()
        try:
            yield p
        except BaseException as exc:
            self.record(p.features, None, None, time.perf_counter() - start, p.error or type(exc).__name__)
            raise
        self.record(p.features, p.predicted_class, p.confidence, time.perf_counter() - start, p.error)

    def instrument(self, fn: Callable[..., tuple[str, float]]) -> Callable[..., tuple[str, float]]:
        """Decorator for `predict(features, ...) -> (predicted_class, confidence)`."""

        @wraps(fn)
        def wrapper(features: Mapping[str, Any], *args: Any, **kwargs: Any) -> tuple[str, float]:
            with self.predicting(features) as p:
                predicted, confidence = fn(features, *args, **kwargs)
                p.result(predicted, confidence)
            return predicted, confidence

        return wrapper

    def record_label(self, predicted_class: str, actual_class: str, lag_s: float | None = None) -> None:
        """One ground-truth label joined to its prediction (GroundTruthStore calls this once per id)."""
        key = (predicted_class, actual_class)
        child = self._truth_children.get(key)
        if child is None:
            labels = (self.class_label(predicted_class), self.class_label(actual_class))
            child = self._ground_truth.labels(self.model.metrics.model_value, *labels)
            if UNKNOWN not in labels:
                self._truth_children[key] = child
        child.inc()
        if lag_s is not None and math.isfinite(lag_s):
            self._label_lag.observe(max(lag_s, 0.0))

    def record_residual(self, predicted: float, actual: float, lag_s: float | None = None) -> bool:
        """One ground-truth value joined to a regression model's prediction (GroundTruthStore calls
        this once per id). A NaN or infinite value is ignored: one would poison the sums for good.
        True when it was counted."""
        if self._residuals is None:
            raise ValueError(f"{self.model.name} is not a regression model (model.task: {self.model.task})")
        try:
            y = float(actual)
            e = float(predicted) - y
        except (TypeError, ValueError):
            return False
        if not math.isfinite(e) or not math.isfinite(e * e):  # also inf - inf, and a square that overflows
            return False
        n, a, sq, pos, rel, rel_n = self._residuals
        self._residual_hist.observe(abs(e))
        n.inc()
        a.inc(abs(e))
        sq.inc(e * e)
        pos.inc(max(e, 0.0))
        if y != 0 and math.isfinite(abs(e) / abs(y)):  # a tiny actual may overflow the ratio
            rel.inc(abs(e) / abs(y))
            rel_n.inc()
        if lag_s is not None and math.isfinite(lag_s):
            self._label_lag.observe(max(lag_s, 0.0))
        return True

    def record_ground_truth(self, predicted: Any, actual: Any, lag_s: float | None = None) -> bool:
        """One label joined to its prediction, for either task: a classifier's classes go to the
        confusion counter, a regression model's numbers to the residual counters. True when counted."""
        if self.model.task == "regression":
            return self.record_residual(predicted, actual, lag_s)
        self.record_label(str(predicted), str(actual), lag_s)
        return True

    def set_trained_at(self, unix_seconds: float) -> None:
        # Exposed only once set: a 0 would read as a model trained in 1970 and trip staleness alerts.
        self._trained_at.labels(self.model.metrics.model_value, self.version).set(unix_seconds)

    def exposition(self) -> bytes:
        """The text a scrape of /metrics returns."""
        return generate_latest(self.registry)
