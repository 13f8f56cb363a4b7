"""Named instrumentations (`metrics.preset`): the metric contract of services mlmon did not make.

Each preset is the `metrics:` section a user would otherwise write by hand, in the spec's own
words (v1.Metrics fields), with where its names come from. Fields the spec writes itself win
over the preset's, so a preset is a starting point, never a cage. A role set to None is one the
instrumentation does not expose: nothing mlmon generates reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Roles no HTTP-level or serving-framework instrumentation exposes (mlmon's runtime does).
_NO_ML = {"predicted_class": None, "confidence": None, "feature_value": None, "feature_missing": None,
          "feature_category": None, "ground_truth": None, "label_lag": None, "trained_at": None}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str  # where the names, labels and buckets were read
    metrics: dict[str, Any]


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "tutorial-a", "prometheus_client by hand, counting successful predictions only",
        "the 'Tracking Predictions' tutorial shape: ml_predictions_total{model_version, class_label}",
        {"select": {}, "labels": {"class": "class_label", "feature": "feature_name", "version": "model_version"},
         "requests": {"name": "ml_predictions_total", "counts": "successes"},
         "errors": "ml_prediction_errors_total", "latency": "ml_prediction_latency_seconds",
         "latency_buckets": [0.01, 0.05, 0.1, 0.5, 1.0],
         **_NO_ML, "predicted_class": "ml_predictions_total",
         "feature_min": "ml_feature_min", "feature_max": "ml_feature_max"}),
    Preset(
        "tutorial-b", "prometheus_client by hand beside an HTTP instrumentation",
        "the MLOps course shape: ml_predictions_total{model_version, result_class}, errors only as "
        'http_requests_total{status=~"5.."}',
        {"select": {}, "labels": {"class": "result_class", "version": "model_version"},
         "requests": {"name": "ml_predictions_total", "counts": "successes"},
         "errors": {"name": "http_requests_total",
                                                        "matchers": {"status": {"regex": "5.."}}},
         "latency": "ml_prediction_latency_seconds",
         "latency_buckets": [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
         **_NO_ML, "predicted_class": "ml_predictions_total", "confidence": "ml_prediction_confidence"}),
)}


def names() -> list[str]:
    return sorted(PRESETS)
