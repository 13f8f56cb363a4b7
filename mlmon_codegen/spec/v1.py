"""The user-facing spec, `apiVersion: mlmon/v1`, as pydantic types.

These types describe what users write, including the seed article's compatible spellings. They
are never handed to the renderers: `spec/validate.py` turns them into the internal model
(`model.py`), so a future v2 can change the surface without touching the generators.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mlmon_codegen.plan import durations

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Characters that would end a PromQL string, a YAML scalar or a Go template early. The PromQL
# builder escapes them anyway; rejecting them here gives the user a clear message instead.
UNSAFE_TEXT = re.compile(r'["{}\\\x00-\x1f\x7f]')


def _name(value: str) -> str:
    if not NAME_RE.match(value) or len(value) > 63:
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 63 characters"
        )
    return value


def _duration(value: str) -> str:
    durations.parse(value)
    return value


def _label_name(value: str) -> str:
    if not LABEL_NAME_RE.match(value) or value.startswith("__"):
        raise ValueError(f"{value!r} is not a valid Prometheus label name")
    return value


def _metric_name(value: str) -> str:
    if not METRIC_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid Prometheus metric name")
    return value


def _safe_text(value: str) -> str:
    bad = UNSAFE_TEXT.search(value)
    if bad:
        raise ValueError(
            f"contains {bad.group()!r}, which could break or inject into PromQL, YAML or templates"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]
Duration = Annotated[str, AfterValidator(_duration)]
LabelName = Annotated[str, AfterValidator(_label_name)]
MetricName = Annotated[str, AfterValidator(_metric_name)]
SafeText = Annotated[str, AfterValidator(_safe_text)]
TierName = Literal["page-fast", "page-slow", "ticket-fast", "ticket-slow"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Metadata(Strict):
    name: Name
    team: Name
    labels: dict[LabelName, SafeText] = Field(default_factory=dict)
    description: SafeText = ""


class ModelInfo(Strict):
    version: SafeText | None = None
    task: Literal["classification", "regression"] = "classification"
    classes: list[SafeText] = Field(default_factory=list)


class KubernetesScrape(Strict):
    namespaces: list[Name] = Field(default_factory=list)
    role: Literal["pod", "endpoints"] = "pod"
    selector: dict[LabelName, SafeText] = Field(
        default_factory=dict, description="Kubernetes labels the pods (or endpoints) must carry"
    )
    port: SafeText | None = Field(None, description="container port name to scrape")


class Scrape(Strict):
    targets: list[SafeText] = Field(default_factory=list)
    kubernetes: KubernetesScrape | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    metrics_path: SafeText = "/metrics"
    scheme: Literal["http", "https"] = "http"


class Metrics(Strict):
    """The metric contract. Every name defaults to DESIGN.md's; override to fit an existing service."""

    model_label: LabelName = "model_name"
    model_value: SafeText | None = Field(None, description="defaults to metadata.name")
    requests: MetricName = "ml_prediction_requests_total"
    errors: MetricName = "ml_prediction_errors_total"
    latency: MetricName = "ml_prediction_latency_seconds"
    latency_buckets: list[float] | None = Field(
        None, description="required when `latency` names your own histogram: its bucket bounds"
    )
    predicted_class: MetricName = "ml_prediction_class_total"
    confidence: MetricName = "ml_prediction_confidence"
    feature_value: MetricName = "ml_feature_value"
    feature_missing: MetricName = "ml_feature_missing_total"
    ground_truth: MetricName = "ml_ground_truth_total"
    trained_at: MetricName = "ml_model_trained_timestamp_seconds"


class AlertOptions(Strict):
    tiers: list[TierName] | None = Field(None, description="default: every tier that can fire")
    for_: Duration | None = Field(None, alias="for")
    min_events: int | None = Field(
        None, ge=1, description="no burn alert unless the long window saw at least this many events"
    )


class CustomSLI(Strict):
    error_query: str | None = None
    total_query: str | None = None
    error_ratio_query: str | None = None


class SLO(Strict):
    objective: float | None = Field(None, description="percent of good events, e.g. 99.9")
    target: float | None = Field(None, description="seed-article spelling of objective")
    period: Duration | None = None
    window: Duration | None = Field(None, description="seed-article spelling of period")
    threshold: Duration | None = Field(None, description="latency: requests faster than this are good")
    p50_target_ms: float | None = None
    p90_target_ms: float | None = None
    p95_target_ms: float | None = None
    p99_target_ms: float | None = None
    p999_target_ms: float | None = None
    min_samples: int | None = Field(None, ge=1, description="accuracy: labels needed before alerting")
    sli: CustomSLI | None = None
    description: SafeText = ""
    alerts: AlertOptions = Field(default_factory=AlertOptions)


class ModelDownOptions(Strict):
    for_: Duration = Field("5m", alias="for")
    no_traffic_for: Duration | None = Field(
        "15m", description="also fire when no predictions at all arrive for this long; null disables"
    )


class Alerting(Strict):
    model_down: ModelDownOptions = Field(default_factory=ModelDownOptions)
    no_data_for: Duration = Field("10m", description="how long an SLI may lack data while up")


class ModelMonitor(Strict):
    """One model's monitoring: `apiVersion: mlmon/v1`, `kind: ModelMonitor`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True,
                              json_schema_extra={"title": "mlmon ModelMonitor"})
    api_version: Literal["mlmon/v1"] = Field(alias="apiVersion")
    kind: Literal["ModelMonitor"]
    metadata: Metadata
    model: ModelInfo = Field(default_factory=ModelInfo)
    scrape: Scrape = Field(default_factory=Scrape)
    metrics: Metrics = Field(default_factory=Metrics)
    slos: dict[Name, SLO] = Field(default_factory=dict)
    alerting: Alerting = Field(default_factory=Alerting)


class PrometheusSettings(Strict):
    scrape_interval: Duration = "15s"
    evaluation_interval: Duration = "30s"
    scrape_timeout: Duration | None = None
    external_labels: dict[LabelName, SafeText] = Field(default_factory=dict)
    alertmanagers: list[SafeText] = Field(default_factory=lambda: ["localhost:9093"])


class Urls(Strict):
    runbooks: SafeText = "https://runbooks.example.com/mlmon"
    grafana: SafeText = "https://grafana.example.com"


class ProjectMetadata(Strict):
    name: Name


class Project(Strict):
    """Shared settings: `apiVersion: mlmon/v1`, `kind: Project` (one per spec folder)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True,
                              json_schema_extra={"title": "mlmon Project"})
    api_version: Literal["mlmon/v1"] = Field(alias="apiVersion")
    kind: Literal["Project"]
    metadata: ProjectMetadata
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    urls: Urls = Field(default_factory=Urls)


KINDS: dict[str, type[Strict]] = {"ModelMonitor": ModelMonitor, "Project": Project}
