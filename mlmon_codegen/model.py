"""The one internal model every generator reads. Built by spec/validate.py, never by hand-written
YAML, so renderers can trust it: names are safe, durations parsed, tiers planned."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlmon_codegen.plan.burnrate import Tier

# prometheus_client's default buckets; the runtime library creates exactly these plus every
# latency SLO threshold, so thresholds are always bucket bounds.
DEFAULT_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                           7.5, 10.0)


@dataclass(frozen=True)
class Metrics:
    model_label: str
    model_value: str
    requests: str
    errors: str
    latency: str
    latency_buckets: tuple[float, ...]
    predicted_class: str
    confidence: str
    feature_value: str
    feature_missing: str
    ground_truth: str
    trained_at: str


@dataclass(frozen=True)
class CustomSLI:
    """PromQL with `{{window}}` placeholders, written by the user and checked by promtool."""

    error_query: str | None
    total_query: str | None
    error_ratio_query: str | None


@dataclass(frozen=True)
class SLO:
    name: str
    kind: str  # availability | latency | accuracy | custom
    objective: float  # percent
    period_ms: int
    tiers: tuple[Tier, ...]
    description: str = ""
    threshold_s: float | None = None  # latency
    custom: CustomSLI | None = None
    for_ms: int | None = None
    min_events: int | None = None

    @property
    def budget(self) -> float:
        return round(1 - self.objective / 100, 12)


@dataclass(frozen=True)
class KubernetesScrape:
    namespaces: tuple[str, ...]
    role: str
    selector: tuple[tuple[str, str], ...]
    port: str | None


@dataclass(frozen=True)
class Scrape:
    targets: tuple[str, ...]
    kubernetes: KubernetesScrape | None
    interval_ms: int
    timeout_ms: int | None
    metrics_path: str
    scheme: str


@dataclass(frozen=True)
class Model:
    name: str
    team: str
    source: str  # the spec file, as given on the command line
    labels: tuple[tuple[str, str], ...]
    description: str
    version: str | None
    task: str
    classes: tuple[str, ...]
    scrape: Scrape
    metrics: Metrics
    slos: tuple[SLO, ...]
    model_down_for_ms: int
    no_traffic_for_ms: int | None
    no_data_for_ms: int


@dataclass(frozen=True)
class Project:
    name: str
    source: str
    scrape_interval_ms: int
    evaluation_interval_ms: int
    scrape_timeout_ms: int | None
    external_labels: tuple[tuple[str, str], ...]
    alertmanagers: tuple[str, ...]
    runbook_base_url: str
    grafana_base_url: str


DEFAULT_PROJECT = Project(
    name="mlmon", source="(defaults)", scrape_interval_ms=15_000, evaluation_interval_ms=30_000,
    scrape_timeout_ms=None, external_labels=(), alertmanagers=("localhost:9093",),
    runbook_base_url="https://runbooks.example.com/mlmon",
    grafana_base_url="https://grafana.example.com",
)


@dataclass(frozen=True)
class Fleet:
    """Everything one run compiles: the project settings and every model, sorted by name."""

    project: Project
    models: tuple[Model, ...] = field(default_factory=tuple)
