"""The validated model: what the user said, typed. Built by spec/validate.py, never by hand-written
YAML, so later stages can trust it: names are safe, durations parsed, values in range. What mlmon
derives from it (alert tiers and windows, rules, names) is planning's (plan/)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from mlmon_codegen.core.errors import NOWHERE, Site

# prometheus_client's default buckets; the runtime library creates exactly these plus every
# latency SLO threshold, so thresholds are always bucket bounds.
DEFAULT_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                           7.5, 10.0)
# The runtime's confidence histogram: these plus the spec's confidence threshold and floor, so
# the low-confidence quantile and the share under the floor read exact bucket bounds.
DEFAULT_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


Matcher = tuple[str, str, str]  # (label, op, value), op one of = != =~ !~; values escaped by the PromQL builder


@dataclass(frozen=True)
class Metrics:
    """The metric contract of one model: per role the metric name (None: the service does not
    expose it, and nothing reads it), the matchers that pick the role's series, and label names."""

    model_label: str  # the label mlmon's runtime writes the model name into
    model_value: str
    requests: str | None
    errors: str | None
    latency: str | None
    latency_buckets: tuple[float, ...]
    predicted_class: str | None
    confidence: str | None
    feature_value: str | None
    feature_missing: str | None
    ground_truth: str | None
    trained_at: str | None
    feature_category: str | None = "ml_feature_category_total"
    label_lag: str | None = "ml_ground_truth_lag_seconds"
    feature_min: str | None = None
    feature_max: str | None = None
    first_token_latency: str | None = None  # LLM serving: time to first token, a histogram in seconds
    inter_token_latency: str | None = None  # LLM serving: time between output tokens
    # Regression residual counters (e = predicted - actual): count, sum |e|, sum e^2, sum max(e, 0).
    residuals: str | None = "ml_residuals_total"
    residual_abs: str | None = "ml_residual_abs_sum_total"
    residual_squared: str | None = "ml_residual_squared_sum_total"
    residual_positive: str | None = "ml_residual_positive_sum_total"
    residual_relative: str | None = "ml_residual_relative_sum_total"  # sum |e| / |actual|, actual != 0
    residual_relative_count: str | None = "ml_residual_relative_total"  # rows with actual != 0
    residual_histogram: str | None = "ml_residual_abs_error"  # histogram of |e|: regression.slo's bad events
    # The bucket bounds of each histogram role SLOs may read but `latency` (first_token_latency, ...).
    other_latency_buckets: tuple[tuple[str, tuple[float, ...]], ...] = ()
    # The model's series: `model_label="model_value"` unless the spec selects otherwise; () when
    # its scrape job alone selects them (validation then puts the job here).
    select: tuple[Matcher, ...] | None = None
    role_matchers: tuple[tuple[str, tuple[Matcher, ...]], ...] = ()  # role → its own extra matchers
    requests_count_successes: bool = False  # the requests counter leaves out failed requests
    class_label: str = "predicted_class"
    actual_class_label: str = "actual_class"
    feature_label: str = "feature"
    category_label: str = "category"
    error_type_label: str | None = "error_type"  # None: the errors carry no type label
    version_label: str | None = "model_version"

    def bucket_bounds(self, role: str) -> tuple[float, ...]:
        """The bucket bounds of one latency histogram role (`latency`, `first_token_latency`, ...)."""
        if role == "latency":
            return self.latency_buckets
        return dict(self.other_latency_buckets).get(role, ())

    def matchers(self, role: str | None = None) -> list[Matcher]:
        """The matchers of one role's series (the model's selector, then the role's own)."""
        select = self.select if self.select is not None else ((self.model_label, "=", self.model_value),)
        own = dict(self.role_matchers).get(role, ()) if role else ()
        return [*select, *own]


def range_floor(lo: float) -> float:
    """The bucket edge for a range's min: the float just below it.

    Buckets are `le`, so a bucket at `lo` itself would count `lo` as out of range, and training
    data often sits exactly on its min (a 0 age, a 0 count). With the next float down,
    x <= edge holds exactly when x < lo, so the range is the closed [min, max] a reader expects.
    """
    return math.nextafter(float(lo), -math.inf)


@dataclass(frozen=True)
class Feature:
    """One model input, with its training baseline (from `<spec>.baseline.yaml`).

    Numeric: the service exposes `ml_feature_value{feature=name}` with exactly `edges` as bucket
    upper bounds (+Inf implied). Bin i is (edges[i-1], edges[i]], bin 0 is (-Inf, edges[0]] and the
    last bin is (edges[-1], +Inf), so `shares` has len(edges) + 1 entries summing to 1.
    Categorical: the service counts `ml_feature_category_total{feature=name, category=c}`.
    `metric`: the feature has a histogram of its own (no feature label); its buckets are `edges`.
    `gauges_only`: the service exposes only min/max gauges of it, which allow range checks, not drift.
    """

    name: str
    kind: str  # numeric | categorical
    edges: tuple[float, ...] = ()  # baseline quantile edges plus the expected range ends, sorted
    shares: tuple[float, ...] = ()  # reference share per bin, len(edges) + 1
    categories: tuple[str, ...] = ()
    category_shares: tuple[float, ...] = ()
    expected_range: tuple[float, float] | None = None  # values < min or > max are out of range
    allow_missing: bool = True
    missing_share: float = 0.0  # in the training data
    metric: str | None = None
    gauges_only: bool = False
    # Drift significance (see plan/drift.py): the resolved test (chi2 | ks | psi) and the reference's
    # observation count m (baseline rows without the missing ones); 0 = unknown, PSI alone judges.
    drift_test: str = "psi"
    reference_count: int = 0


@dataclass(frozen=True)
class DriftSettings:
    psi_warn: float = 0.1
    psi_page: float = 0.25
    drifted_share: float = 0.5  # share of features whose PSI is above psi_warn
    window_ms: int = 3_600_000
    min_samples: int = 100  # observations in the window before any drift alert may fire
    bins: int = 10
    epsilon: float = 1e-4  # PSI smoothing: an empty bin counts as this share, never log(0)
    for_ms: int = 900_000
    alpha: float = 0.01  # significance level of each feature's two-sample test (chi2 or KS)
    test: str = "auto"  # auto | chi2 | ks | psi; features resolve it into Feature.drift_test


@dataclass(frozen=True)
class MLSignals:
    """Settings for the ML rules (spec `drift`, `predictions`, `ground_truth`, `retraining`).

    Each section turns on its own rules only: `predictions`, `ground_truth` and `retraining` say
    whether the spec has that section (features and drift come with `features`)."""

    predictions: bool = True
    ground_truth: bool = True
    retraining: bool = True

    drift: DriftSettings = field(default_factory=DriftSettings)
    class_priors: tuple[tuple[str, float], ...] = ()  # from the baseline's label column
    # PredictionDrift's test (chi2 | psi) and the rows the priors were counted on (m; 0 = unknown).
    prediction_test: str = "psi"
    class_reference_count: int = 0
    skew_share: float = 0.95
    skew_window_ms: int = 3_600_000
    confidence_quantile: float = 0.25
    confidence_threshold: float = 0.6
    confidence_floor: float = 0.5  # recorded: share of predictions under this confidence
    confidence_window_ms: int = 3_600_000
    # Quality without labels: mean top-class confidence, against the training value when given.
    expected_accuracy: float | None = None
    expected_accuracy_drop: float = 0.05
    calibration_gap_max: float = 0.1  # |expected - realised accuracy| over the ground-truth window
    no_labels_for_ms: int | None = 6 * 3_600_000
    retrain_drift_for_ms: int | None = 6 * 3_600_000  # sustained drift
    retrain_accuracy_floor: float | None = 0.8
    retrain_accuracy_window_ms: int = 86_400_000
    retrain_max_age_ms: int | None = 30 * 86_400_000
    retrain_new_labels: int | None = 10_000
    out_of_range_max: float = 0.01
    missing_max: float = 0.05
    ground_truth_window_ms: int = 86_400_000
    min_labels: int = 100  # labels in the window before accuracy-based alerts may fire
    # A `regression:` section (model.task: regression): residual recordings and their alerts.
    regression: bool = False
    regression_window_ms: int = 86_400_000
    mae_max: float | None = None
    rmse_max: float | None = None
    mape_max: float | None = None  # a fraction: 0.1 is 10 %
    residual_buckets: tuple[float, ...] = ()  # the |e| histogram's bounds (the runtime's), with the SLO's threshold
    regression_min_labels: int = 100


@dataclass(frozen=True)
class CustomSLI:
    """PromQL with `{{window}}` placeholders, written by the user and checked by promtool."""

    error_query: str | None
    total_query: str | None
    error_ratio_query: str | None


Pairs = tuple[tuple[str, str], ...]  # labels or annotations, sorted by name


@dataclass(frozen=True)
class Timeslice:
    """Timeslice budgeting: the SLO counts slices of `window_ms`. With `objective` (timeslices) a
    slice is bad when its error ratio exceeds 1 − objective; without (ratio_timeslices) it counts
    with its error ratio itself."""

    window_ms: int
    objective: float | None  # percent
    site: Site = NOWHERE  # `timeslice.window`, where a slice that does not fit the windows is reported


@dataclass(frozen=True)
class TierOptions:
    """A burn-rate tier's own alert settings (spec `alerts.<tier>`); None severity: the tier's."""

    severity: str | None = None
    labels: Pairs = ()
    annotations: Pairs = ()
    # The tier's own windows and burn rate (all three or none), replacing the policy's.
    long_ms: int | None = None
    short_ms: int | None = None
    burn: float | None = None
    for_ms: int | None = None  # None: the SLO's alerts.for


@dataclass(frozen=True)
class SLO:
    name: str
    kind: str  # availability | latency | accuracy | custom
    objective: float  # percent
    period_ms: int
    alert_tiers: tuple[str, ...] | None  # the tiers the spec names; None: every tier that can fire
    scrape_interval_ms: int  # the model's: no alert window may be shorter than a few scrapes
    description: str = ""
    threshold_s: float | None = None  # latency
    histogram: str = "latency"  # latency and regression.slo: the metrics role whose histogram the SLI reads
    custom: CustomSLI | None = None
    for_ms: int | None = None
    min_events: int | None = None
    site: Site = NOWHERE  # where a problem with its alert tiers is reported
    alerts_enabled: bool = True  # False: recordings only, no burn-rate alerts
    no_data_enabled: bool = True  # the SLO's SLINoData (the model's alerting.no_data also decides)
    alert_labels: Pairs = ()  # on its burn and no-data alerts
    alert_annotations: Pairs = ()
    tier_options: tuple[tuple[str, TierOptions], ...] = ()  # tier name → its options, sorted
    # One SLO per value of these labels: its recordings keep them, each group has its own alerts.
    group_by: tuple[str, ...] = ()
    timeslice: Timeslice | None = None  # None: the budget counts events (occurrences)

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
    """How the model's series are collected. No targets and no discovery: an existing scrape job
    (`job`, or none named) collects them, and mlmon writes no job of its own."""

    targets: tuple[str, ...]
    kubernetes: KubernetesScrape | None
    interval_ms: int
    timeout_ms: int | None
    metrics_path: str
    scheme: str
    job: str | None = None  # an existing job's name (its `up` series), when mlmon does not scrape

    @property
    def own_job(self) -> bool:
        return bool(self.targets) or self.kubernetes is not None


@dataclass(frozen=True)
class ReceiverConfig:
    """One notifier of a receiver. `settings` use Alertmanager's own field names; secrets appear
    only as `*_file` paths (a webhook's bearer token as `credentials_file`)."""

    kind: str  # slack | pagerduty | email | opsgenie | webhook
    settings: tuple[tuple[str, str | bool | int], ...]


@dataclass(frozen=True)
class Receiver:
    name: str
    configs: tuple[ReceiverConfig, ...]


@dataclass(frozen=True)
class TimeRange:
    """One entry of an Alertmanager time interval; empty fields match everything."""

    weekdays: tuple[str, ...] = ()
    times: tuple[tuple[str, str], ...] = ()
    days_of_month: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    location: str | None = None


@dataclass(frozen=True)
class Routing:
    """Receiver per severity (None: the default receiver) and for action="retrain" alerts."""

    critical: str | None = None
    warning: str | None = None
    info: str | None = None
    retrain: str | None = None
    retrain_continue: bool = False
    tickets_only_during: str | None = None


@dataclass(frozen=True)
class Alertmanager:
    receivers: tuple[Receiver, ...]
    time_intervals: tuple[tuple[str, tuple[TimeRange, ...]], ...]
    teams: tuple[tuple[str, Routing], ...]
    default_receiver: str | None
    group_by: tuple[str, ...]
    group_wait_ms: int
    group_interval_ms: int
    repeat_interval_ms: int


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
    features: tuple[Feature, ...] = ()
    ml: MLSignals | None = None  # None: the spec asks for no ML-signal rules
    expected_rps: float | None = None  # typical request rate, for `mlmon explain`'s traffic numbers
    routing: Routing | None = None  # the model's own Alertmanager routing, team's merged in; None: the team's
    site: Site = NOWHERE  # metadata.name, where a problem with the whole model is reported
    alert_prefix: str = ""  # alerting.name_prefix, before every generated alert name
    model_down_enabled: bool = True
    no_data_enabled: bool = True
    disabled_ml_alerts: tuple[str, ...] = ()  # keys of naming.ML_ALERTS the spec turns off, sorted
    # How many values each SLO group label takes, for series estimates (slo_defaults.group_values).
    group_values: tuple[tuple[str, int], ...] = ()

    def __hash__(self) -> int:
        # Models key per-model caches (the dashboard layout) thousands of times per run; the
        # generated hash walked every field each time. Equal models have equal names.
        return hash(self.name)


@dataclass(frozen=True)
class KubernetesSettings:
    """prometheus-operator: the namespace of generated objects and the labels its selectors match."""

    namespace: str = "monitoring"
    rule_labels: tuple[tuple[str, str], ...] = ()
    monitor_labels: tuple[tuple[str, str], ...] = ()
    alertmanager_config_labels: tuple[tuple[str, str], ...] = ()
    dashboard_labels: tuple[tuple[str, str], ...] = (("grafana_dashboard", "1"),)
    dashboard_namespace: str = "monitoring"


@dataclass(frozen=True)
class RulerSettings:
    """Group options only Mimir or Thanos rulers understand (promtool 2.42 rejects them)."""

    mimir_source_tenants: tuple[str, ...] = ()
    mimir_query_offset_ms: int | None = None
    thanos_partial_response_strategy: str = "abort"


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
    kubernetes: KubernetesSettings = field(default_factory=lambda: KubernetesSettings())
    rulers: RulerSettings = field(default_factory=lambda: RulerSettings())
    series_budget_per_model: int | None = None  # generate refuses a model above it
    templates_dir: str | None = None  # the team's prose templates, searched before templates/
    alertmanager: Alertmanager | None = None  # None: the project configures no Alertmanager routing
    targets: tuple[str, ...] = ()  # optional targets every generate writes (`targets:`), sorted
    dashboards: str = "shared"  # shared | per_model (`dashboards:`)
    runbooks: str = "shared"  # shared | per_model (`runbooks:`)

    @property
    def shared_dashboards(self) -> bool:
        return self.dashboards == "shared"

    @property
    def shared_runbooks(self) -> bool:
        return self.runbooks == "shared"

    def runbook_team(self, team: str) -> str | None:
        """The team whose own runbook templates (`teams/<team>/runbooks/`) its shared runbooks use."""
        if not (self.shared_runbooks and self.templates_dir):
            return None
        return team if (Path(self.templates_dir) / "teams" / team / "runbooks").is_dir() else None


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

    @property
    def sources(self) -> str:
        """The input files, for the header of an artifact built from the whole fleet."""
        return ", ".join(sorted({self.project.source, *(x.source for x in self.models)} - {DEFAULT_PROJECT.source}))
