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
          "feature_category": None, "ground_truth": None, "label_lag": None, "trained_at": None,
          "residuals": None, "residual_abs": None, "residual_squared": None, "residual_positive": None,
          "residual_relative": None, "residual_relative_count": None, "residual_histogram": None}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    source: str  # where the names, labels and buckets were read
    metrics: dict[str, Any]
    notes: str = ""  # what the instrumentation lacks (a null role) and what to check before relying on it


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
        {"select": {}, "labels": {"class": "result_class", "version": "model_version", "error_type": "status"},
         "requests": {"name": "ml_predictions_total", "counts": "successes"},
         "errors": {"name": "http_requests_total",
                                                        "matchers": {"status": {"regex": "5.."}}},
         "latency": "ml_prediction_latency_seconds",
         "latency_buckets": [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
         **_NO_ML, "predicted_class": "ml_predictions_total", "confidence": "ml_prediction_confidence"}),
    Preset(
        "instrumentator", "prometheus-fastapi-instrumentator defaults, the /predict handler",
        "https://pypi.org/project/prometheus-fastapi-instrumentator/ and repo "
        "trallnag/prometheus-fastapi-instrumentator: src/prometheus_fastapi_instrumentator/metrics.py (default()), "
        "instrumentation.py (bucket defaults), middleware.py (status grouping), v8.0.2 to 8.1.0",
        {"select": {}, "labels": {"version": None, "error_type": "status"},
         "requests": {"name": "http_requests_total", "matchers": {"handler": "/predict"}},
         "errors": {"name": "http_requests_total",
                    "matchers": {"handler": "/predict", "status": {"regex": "5.."}}},
         "latency": {"name": "http_request_duration_seconds", "matchers": {"handler": "/predict"}},
         "latency_buckets": [0.1, 0.5, 1.0], **_NO_ML},
        "no model or version label: the scrape job selects the service (give scrape.job). A latency "
        "threshold must be 100ms, 500ms or 1s, the per-handler histogram's only bounds. Another route: "
        "override the handler matchers of requests, errors and latency. status=~\"5..\" matches the "
        "grouped \"5xx\" and exact codes alike."),
    Preset(
        "bentoml", "BentoML (1.4) service metrics, the /predict endpoint",
        "https://docs.bentoml.com/en/latest/build-with-bentoml/observability/metrics.html and repo "
        "bentoml/BentoML: src/bentoml/_internal/server/http/instruments.py, "
        "src/bentoml/_internal/utils/metrics.py (DEFAULT_BUCKET), configuration/v2/default_configuration.yaml",
        {"model_label": "service_name", "labels": {"version": "service_version", "error_type": "http_response_code"},
         "requests": {"name": "bentoml_service_request_total", "matchers": {"endpoint": "/predict"}},
         "errors": {"name": "bentoml_service_request_total",
                    "matchers": {"endpoint": "/predict", "http_response_code": {"regex": "5.."}}},
         "latency": {"name": "bentoml_service_request_duration_seconds", "matchers": {"endpoint": "/predict"}},
         "latency_buckets": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
                             180.0], **_NO_ML},
        "the model is the Bento's service_name (metrics.model_value when it is not metadata.name). The "
        "buckets are BentoML's defaults since early 2025 (before: prometheus_client's, 5ms to 10s); a "
        "service's own metrics.duration buckets replace them. Probes (/healthz, /readyz) are counted, "
        "hence the endpoint matcher."),
    Preset(
        "mlserver", "MLServer (1.7) inference counters and its REST latency histogram, one model per server",
        "https://mlserver.readthedocs.io/en/latest/user-guide/metrics.html and repo SeldonIO/MLServer: "
        "mlserver/handlers/dataplane.py (model_infer_request_*), mlserver/rest/app.py (rest_server_*)",
        {"select": {}, "model_label": "model", "labels": {"version": "version", "error_type": None},
         "requests": {"name": "model_infer_request_success_total", "counts": "successes"},
         "errors": "model_infer_request_failure_total",
         "latency": {"name": "rest_server_request_duration_seconds",
                     "matchers": {"path": {"regex": ".*/infer"}}},  # the two infer route templates
         "latency_buckets": [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
         **_NO_ML},
        "no per-model latency histogram: model_infer_request_duration is a summary (mean only), so "
        "latency is the REST server's histogram of the infer route, which has no model label. Hence "
        "select: {} and one model per server (give scrape.job). Several models on one server: "
        "select: null (model=metadata.name) and latency: null. The path matcher takes both REST infer "
        "routes (with and without /versions/); gRPC requests are not in that histogram."),
    Preset(
        "triton", "NVIDIA Triton Inference Server per-model counters (no latency histogram)",
        "https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/metrics.html "
        "and repo triton-inference-server/core: src/metrics.cc, src/metric_model_reporter.cc",
        {"model_label": "model", "labels": {"version": "version", "error_type": "reason"},
         "requests": {"name": "nv_inference_request_success", "counts": "successes"},
         "errors": "nv_inference_request_failure", "latency": None, **_NO_ML},
        "latency: null. Triton's default latency metrics are cumulative microsecond counters (a mean, "
        "no share under a threshold); its only histogram, nv_inference_first_response_histogram_ms, is "
        "opt-in (--metrics-config histogram_latencies=true) and in milliseconds, which mlmon's "
        "second-based thresholds cannot read. Errors are the sum over `reason`."),
    Preset(
        "torchserve", "TorchServe (0.12, metrics_mode: prometheus) per-model request counter",
        "repo pytorch/serve: docs/metrics.md, docs/metrics_api.md, ts/configs/metrics.yaml, "
        "frontend/server/src/main/java/org/pytorch/serve/util/NettyUtils.java; "
        "https://pytorch.org/serve/metrics.html",
        {"labels": {"version": "model_version", "error_type": None},
         "requests": "ts_inference_requests_total", "errors": None, "latency": None, **_NO_ML},
        "errors: null and latency: null. The only error counter, Requests5XX, is host-wide (no model "
        "label; management API responses too), and there is no latency histogram at all "
        "(ts_inference_latency_microseconds is a cumulative counter). On a one-model server, "
        "select: {} and errors: Requests5XX give an approximate availability SLO. Needs "
        "metrics_mode: prometheus; the default `log` mode serves none of these."),
    Preset(
        "vllm", "vLLM (0.33, V1 engine) request, first-token and inter-token latency histograms",
        "https://docs.vllm.ai/en/latest/design/metrics.html and the vllm 0.33.0 wheel: "
        "vllm/v1/metrics/loggers.py (PrometheusStatLogger), vllm/v1/metrics/buckets.py",
        {"labels": {"version": None, "error_type": None},
         "requests": "vllm:request_success_total",
         "errors": {"name": "vllm:request_success_total", "matchers": {"finished_reason": "error"}},
         "latency": "vllm:e2e_request_latency_seconds",
         "latency_buckets": [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
                             120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0],
         "first_token_latency": "vllm:time_to_first_token_seconds",
         "first_token_latency_buckets": [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0,
                                         2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0],
         "inter_token_latency": "vllm:inter_token_latency_seconds",
         "inter_token_latency_buckets": [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                                         2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0],
         **_NO_ML},
        "model_name is the served model name (metrics.model_value, e.g. Qwen/Qwen2.5-0.5B-Instruct). "
        "vllm:request_success_total counts every finished request; errors are finished_reason=error "
        "(aborts are not errors). Buckets are 0.33's defaults: custom_histogram_buckets replaces them, "
        "and older releases differ (time_per_output_token_seconds before inter_token_latency_seconds). "
        "inter_token_latency is per output step, so speculative decoding raises it. A latency SLO "
        "reads one of the three with `histogram:`."),
)}


def names() -> list[str]:
    return sorted(PRESETS)
