"""The user-facing spec, `apiVersion: mlmon/v1`, as pydantic types.

These types describe what users write, including the seed article's compatible spellings. They
are never handed to the renderers: `spec/validate.py` turns them into the internal model
(`model.py`), so a future v2 can change the surface without touching the generators.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from mlmon_codegen.core import durations, naming
from mlmon_codegen.spec import ml

# \Z, not $: `$` also matches before a trailing newline, so "m1\n" would pass and reach file names.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*\Z")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
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


def _duration(value: object) -> object:
    # Before pydantic's str check, so a YAML number (`for: 15`) gets the unit hint, not "not a string".
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        durations.parse(value)  # type: ignore[arg-type]
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
Duration = Annotated[str, BeforeValidator(_duration)]
LabelName = Annotated[str, AfterValidator(_label_name)]
MetricName = Annotated[str, AfterValidator(_metric_name)]
SafeText = Annotated[str, AfterValidator(_safe_text)]


def _label_value(value: str) -> str:
    if not value:  # Prometheus drops a label whose value is empty, so the alert would lack it
        raise ValueError("a label value cannot be empty (Prometheus drops the label); remove the label instead")
    return value


LabelValue = Annotated[str, AfterValidator(_safe_text), AfterValidator(_label_value)]
# The tier names a spec may list; plan/burnrate.POLICY must define exactly these (a test checks),
# here because validation sits below planning and names them in its did-you-mean hints.
TIER_NAMES = ("page-fast", "page-slow", "ticket-fast", "ticket-slow")
TierName = Literal[TIER_NAMES]  # type: ignore[valid-type]


class Strict(BaseModel):
    # allow_inf_nan=False: a NaN objective passes every `<`/`>` check and poisons the math.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)


class Metadata(Strict):
    name: Name
    team: Name
    labels: dict[LabelName, LabelValue] = Field(default_factory=dict)
    description: SafeText = ""


class ModelInfo(Strict):
    version: SafeText | None = None
    task: Literal["classification", "regression"] = "classification"
    classes: list[SafeText] = Field(default_factory=list)
    expected_rps: float | None = Field(
        None, gt=0, description="typical requests per second; `mlmon explain` turns budgets into requests"
    )


class KubernetesScrape(Strict):
    namespaces: list[Name] = Field(default_factory=list)
    role: Literal["pod", "endpoints"] = "pod"
    selector: dict[LabelName, SafeText] = Field(
        default_factory=dict, description="Kubernetes labels the pods (or endpoints) must carry"
    )
    port: SafeText | None = Field(None, description="container port name to scrape")


class Scrape(Strict):
    job: SafeText | None = Field(
        None, description="an existing scrape job that already collects the series: mlmon writes no scrape job")
    targets: list[SafeText] = Field(default_factory=list)
    kubernetes: KubernetesScrape | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    metrics_path: SafeText = "/metrics"
    scheme: Literal["http", "https"] = "http"


class MatchOp(Strict):
    """A matcher other than equality; exactly one field. (A plain string value means `=`.)"""

    regex: str | None = Field(None, description='`=~`: the value matches this regex, e.g. "5.."')
    not_: SafeText | None = Field(None, alias="not", description="`!=`")
    not_regex: str | None = Field(None, description="`!~`")


MatchValue = SafeText | MatchOp
Matchers = dict[LabelName, MatchValue]


def _role_name(value: str) -> str:
    if "{" in value:
        raise ValueError(
            f"{value!r} is a PromQL selector; a role takes a metric name, with its matchers apart: "
            "errors: {name: http_requests_total, matchers: {status: {regex: \"5..\"}}}")
    return _metric_name(value)


RoleName = Annotated[str, AfterValidator(_role_name)]


class Role(Strict):
    """One metric role in full: the metric, and matchers that pick the role's series of it."""

    name: RoleName
    matchers: Matchers = Field(default_factory=dict, description='e.g. {status: {regex: "5.."}} or {handler: /predict}')
    counts: Literal["all", "successes"] | None = Field(
        None, description="requests only: `successes` when failed requests are not counted (total = requests + errors)")


def _role_input(value: object) -> object:
    # A bare name is the short form of {name: ...}; checked here so that a bad name gets one
    # message at the role's own field, not one per member of a union.
    if isinstance(value, str):
        return Role(name=_role_name(value))
    return value


# A role is a metric name, a Role, or null: the service does not expose it (no rules, alerts or panels read it).
RoleSpec = Annotated[Role | None, BeforeValidator(_role_input, json_schema_input_type=MetricName | Role | None)]


class MetricLabels(Strict):
    """The label names the roles use, when they are not mlmon's runtime's."""

    class_: LabelName = Field("predicted_class", alias="class",
                              description="predicted class, on predicted_class and ground_truth")
    actual_class: LabelName = Field("actual_class", description="true class, on ground_truth")
    feature: LabelName = Field("feature", description="feature name, on feature_value/missing/category/min/max")
    category: LabelName = Field("category", description="category, on feature_category")
    error_type: LabelName | None = Field(
        "error_type", description="error type, on errors (e.g. status); null: errors carry no type")
    version: LabelName | None = Field("model_version", description="model version, on requests: the dashboard "
                                      "shows traffic by version; never a selector")


class Metrics(Strict):
    """The metric contract (README, "The metric contract"): every name defaults to what mlmon's runtime
    exposes; override them, their label names and matchers to fit an existing service."""

    preset: SafeText | None = Field(
        None, description="a named instrumentation (README: presets); fields given here win")
    model_label: LabelName = "model_name"
    model_value: SafeText | None = Field(None, description="defaults to metadata.name")
    select: Matchers | None = Field(
        None, description="matchers that pick this model's series (default: {model_label: model_value}); "
        "{} when the scrape job alone selects them")
    labels: MetricLabels = Field(default_factory=MetricLabels)
    requests: RoleSpec = "ml_prediction_requests_total"
    errors: RoleSpec = "ml_prediction_errors_total"
    latency: RoleSpec = "ml_prediction_latency_seconds"
    latency_buckets: list[float] | None = Field(
        None, description="required when `latency` names your own histogram: its bucket bounds")
    first_token_latency: RoleSpec = Field(
        None, description="a histogram of the time to the first token (LLM serving), in seconds")
    first_token_latency_buckets: list[float] | None = Field(
        None, description="its bucket bounds: required when an SLO reads it")
    inter_token_latency: RoleSpec = Field(
        None, description="a histogram of the time between output tokens (LLM serving), in seconds")
    inter_token_latency_buckets: list[float] | None = Field(
        None, description="its bucket bounds: required when an SLO reads it")
    predicted_class: RoleSpec = "ml_prediction_class_total"
    confidence: RoleSpec = "ml_prediction_confidence"
    feature_value: RoleSpec = "ml_feature_value"
    feature_missing: RoleSpec = "ml_feature_missing_total"
    feature_category: RoleSpec = "ml_feature_category_total"
    feature_min: RoleSpec = Field(None, description="a gauge of each feature's latest minimum (range checks only)")
    feature_max: RoleSpec = Field(None, description="a gauge of each feature's latest maximum (range checks only)")
    ground_truth: RoleSpec = "ml_ground_truth_total"
    label_lag: RoleSpec = "ml_ground_truth_lag_seconds"
    trained_at: RoleSpec = "ml_model_trained_timestamp_seconds"
    # Regression models (`regression:`): counters of residuals e = predicted - actual. The signed sum
    # cannot be a counter (it falls), so the positive parts are counted: sum(e) = 2 sum(e+) - sum(|e|).
    residuals: RoleSpec = Field("ml_residuals_total", description="labelled predictions of a regression model")
    residual_abs: RoleSpec = Field("ml_residual_abs_sum_total", description="sum of |predicted - actual|")
    residual_squared: RoleSpec = Field("ml_residual_squared_sum_total",
                                       description="sum of (predicted - actual)^2")
    residual_positive: RoleSpec = Field("ml_residual_positive_sum_total",
                                        description="sum of max(predicted - actual, 0): the overpredictions")
    # MAPE skips actual values of 0 (no percentage of nothing), so it has its own count.
    residual_relative: RoleSpec = Field("ml_residual_relative_sum_total",
                                        description="sum of |predicted - actual| / |actual| over actual values not 0")
    residual_relative_count: RoleSpec = Field("ml_residual_relative_total",
                                              description="labelled predictions whose actual value is not 0")
    residual_histogram: RoleSpec = Field("ml_residual_abs_error",
                                         description="a histogram of |predicted - actual| (regression.slo reads it)")


def template_text(value: str) -> str:
    """An annotation is a Go template the user writes: left as written, but every `{{` must close
    before the next one opens, so that a typo is a located error here and not promtool's later."""
    depth_at = None
    i = 0
    while i < len(value):
        pair = value[i:i + 2]
        if pair == "{{":
            if depth_at is not None:
                raise ValueError(f"`{{{{` at character {i + 1} opens before the one at {depth_at + 1} closes")
            depth_at, i = i, i + 2
        elif pair == "}}":
            if depth_at is None:
                raise ValueError(f"`}}}}` at character {i + 1} closes no `{{{{`")
            depth_at, i = None, i + 2
        else:
            i += 1
    if depth_at is not None:
        raise ValueError(f"`{{{{` at character {depth_at + 1} never closes with `}}}}`")
    return value


AnnotationText = Annotated[str, AfterValidator(template_text)]
AlertLabels = dict[LabelName, LabelValue]
AlertAnnotations = dict[LabelName, AnnotationText]
Severity = Literal["critical", "warning", "info"]


class TierAlertOptions(Strict):
    """One burn-rate tier's own severity, labels and annotations (on top of the SLO's)."""

    severity: Severity | None = Field(None, description="default: the tier's (page: critical, ticket: warning)")
    labels: AlertLabels = Field(default_factory=dict)
    annotations: AlertAnnotations = Field(default_factory=dict)
    long: Duration | None = Field(None, description="the tier's own long window, with short and burn (another "
                                  "tool's windows, kept): replaces the policy's")
    short: Duration | None = Field(None, description="the tier's own short window, with long and burn")
    burn: float | None = Field(None, gt=0, description="the burn rate both own windows must exceed")
    for_: Duration | None = Field(None, alias="for", description="this tier's `for`; default alerts.for")


class AlertOptions(Strict):
    enabled: bool = Field(True, description="false: recordings only, no burn-rate alerts (Sloth's no-alerts)")
    no_data: bool = Field(True, description="false: no SLINoData alert for this SLO")
    tiers: list[TierName] | None = Field(None, description="default: every tier that can fire")
    for_: Duration | None = Field(None, alias="for")
    min_events: int | None = Field(
        None, ge=1, description="no burn alert unless the long window saw at least this many events"
    )
    labels: AlertLabels = Field(default_factory=dict, description="on this SLO's burn and no-data alerts")
    annotations: AlertAnnotations = Field(
        default_factory=dict, description="Go templates, as Prometheus reads them; on burn and no-data alerts")
    page_fast: TierAlertOptions | None = Field(None, alias="page-fast")
    page_slow: TierAlertOptions | None = Field(None, alias="page-slow")
    ticket_fast: TierAlertOptions | None = Field(None, alias="ticket-fast")
    ticket_slow: TierAlertOptions | None = Field(None, alias="ticket-slow")


class CustomSLI(Strict):
    error_query: str | None = None
    total_query: str | None = None
    error_ratio_query: str | None = None


class Timeslice(Strict):
    """A slice of time judged as a whole: budgeting counts slices, not events."""

    window: Duration = Field(description="each slice's length, e.g. 1m; at most the shortest alert window, "
                             "and a divisor of every alert window and of the period")
    objective: float | None = Field(
        None, description="timeslices: percent of good events that makes a slice good, e.g. 95; "
        "ratio_timeslices takes none (each slice counts with its own ratio)")


class SLO(Strict):
    objective: float | None = Field(None, description="percent of good events, e.g. 99.9 (with timeslices: "
                                    "of good slices)")
    target: float | None = Field(None, description="seed-article spelling of objective")
    period: Duration | None = None
    window: Duration | None = Field(None, description="seed-article spelling of period")
    threshold: Duration | None = Field(None, description="latency: requests faster than this are good")
    histogram: Literal["latency", "first_token_latency", "inter_token_latency"] = Field(
        "latency", description="latency: the metrics role whose histogram the SLO reads")
    p50_target_ms: float | None = None
    p90_target_ms: float | None = None
    p95_target_ms: float | None = None
    p99_target_ms: float | None = None
    p999_target_ms: float | None = None
    min_samples: int | None = Field(None, ge=1, description="accuracy: labels needed before alerting")
    sli: CustomSLI | None = None
    description: SafeText = ""
    alerts: AlertOptions = Field(default_factory=AlertOptions)
    group_by: list[LabelName] | None = Field(
        None, description="one SLO per value of these labels (model_version, endpoint, tenant): each group gets "
        "its own budget and burn alerts; default slo_defaults.group_by, [] for one SLO over every series")
    budgeting: Literal["occurrences", "timeslices", "ratio_timeslices"] = Field(
        "occurrences", description="occurrences: the budget counts events; timeslices: good and bad slices "
        "of `timeslice.window`; ratio_timeslices: the mean of the slices' error ratios")
    timeslice: Timeslice | None = None


class SLODefaults(Strict):
    """What every SLO of the model takes unless it says otherwise."""

    group_by: list[LabelName] = Field(default_factory=list, description="the SLOs' group_by")
    group_values: dict[LabelName, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="series estimates (`mlmon stats`, the budget): how many values "
        "each group label takes; default 3")


class ModelDownOptions(Strict):
    enabled: bool = True
    for_: Duration = Field("5m", alias="for")
    no_traffic_for: Duration | None = Field(
        "15m", description="also fire when no predictions at all arrive for this long; null disables"
    )


# Alertmanager (issue 4): receivers, routing per team (a model may override it), time intervals.
# Secrets are never inline: each inline-secret field below exists only so that validation can
# name the `*_file` field to use instead (spec/alertmanager.py rejects any value in them).
class SlackReceiver(Strict):
    api_url_file: SafeText | None = Field(None, description="file holding the Slack webhook URL")
    channel: SafeText | None = None
    send_resolved: bool = True
    api_url: str | None = Field(None, description="never inline: use api_url_file")


class PagerDutyReceiver(Strict):
    routing_key_file: SafeText | None = Field(None, description="file holding the Events API v2 routing key")
    service_key_file: SafeText | None = Field(None, description="file holding the (v1) service key")
    send_resolved: bool = True
    routing_key: str | None = Field(None, description="never inline: use routing_key_file")
    service_key: str | None = Field(None, description="never inline: use service_key_file")


class EmailReceiver(Strict):
    to: SafeText
    from_: SafeText = Field(alias="from")
    smarthost: SafeText = Field(description="host:port of the SMTP server")
    auth_username: SafeText | None = None
    auth_password_file: SafeText | None = None
    require_tls: bool = True
    send_resolved: bool = False
    auth_password: str | None = Field(None, description="never inline: use auth_password_file")
    auth_secret: str | None = Field(None, description="never inline: use auth_password_file")


class OpsgenieReceiver(Strict):
    api_key_file: SafeText | None = None
    api_url: SafeText | None = None
    send_resolved: bool = True
    api_key: str | None = Field(None, description="never inline: use api_key_file")


class WebhookAuthorization(Strict):
    type: SafeText = "Bearer"
    credentials_file: SafeText | None = None
    credentials: str | None = Field(None, description="never inline: use credentials_file")


class WebhookHTTPConfig(Strict):
    authorization: WebhookAuthorization | None = None


class WebhookReceiver(Strict):
    url: SafeText = Field(description="no secret in the URL: Alertmanager 0.25 has no url_file")
    http_config: WebhookHTTPConfig | None = None
    send_resolved: bool = True
    max_alerts: int = Field(0, ge=0)
    url_file: str | None = Field(None, description="not in Alertmanager 0.25")


class Receiver(Strict):
    name: Name
    slack: list[SlackReceiver] = Field(default_factory=list)
    pagerduty: list[PagerDutyReceiver] = Field(default_factory=list)
    email: list[EmailReceiver] = Field(default_factory=list)
    opsgenie: list[OpsgenieReceiver] = Field(default_factory=list)
    webhook: list[WebhookReceiver] = Field(default_factory=list)


class TimeRange(Strict):
    start_time: str = Field(description="HH:MM, 00:00 to 24:00")
    end_time: str


class TimeInterval(Strict):
    """Alertmanager's time_interval: every field given must match (an empty one always matches)."""

    weekdays: list[str] = Field(default_factory=list, description="monday, or ranges like monday:friday")
    times: list[TimeRange] = Field(default_factory=list)
    days_of_month: list[int | str] = Field(default_factory=list, description="1, -1 (last) or 1:15")
    months: list[int | str] = Field(default_factory=list, description="january, 1 or march:may")
    years: list[int | str] = Field(default_factory=list, description="2026 or 2026:2027")
    location: str | None = Field(None, description="IANA time zone, e.g. Europe/Berlin; default UTC")


class Routing(Strict):
    """Which receiver gets each severity; unset ones fall back to the default receiver."""

    critical: Name | None = Field(None, description="pages: always on")
    warning: Name | None = Field(None, description="tickets")
    info: Name | None = Field(None, description="never a paging receiver")
    retrain: Name | None = Field(None, description='alerts with action="retrain": the CI webhook')
    retrain_continue: bool | None = Field(None, description="retrain alerts also reach the info receiver")
    tickets_only_during: Name | None = Field(None, description="a time interval: warnings are muted outside it")


class AlertmanagerDefaults(Strict):
    group_by: list[LabelName] = Field(default_factory=lambda: ["alertname", "model", "slo"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"


class AlertmanagerSettings(Strict):
    defaults: AlertmanagerDefaults = Field(default_factory=AlertmanagerDefaults)
    default_receiver: Name | None = Field(None, description="catches what no team route does; default: nobody")
    receivers: list[Receiver] = Field(default_factory=list)
    time_intervals: dict[Name, list[TimeInterval]] = Field(default_factory=dict)
    teams: dict[Name, Routing] = Field(default_factory=dict)


class NoDataOptions(Strict):
    enabled: bool = Field(True, description="false: no SLINoData alert for any SLO of the model")
    for_: Duration | None = Field(None, alias="for", description="how long an SLI may lack data while up; "
                                  "default 10m")


# A prefix of a Prometheus alert name (a metric name without `:`, which recording rules use).
ALERT_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}\Z")


def _alert_prefix(value: str) -> str:
    if not ALERT_PREFIX_RE.match(value):
        raise ValueError(f"{value!r} is not a valid alert name prefix: a letter or '_', then letters, digits "
                         "or '_', at most 40 characters")
    return value


class Alerting(Strict):
    model_down: ModelDownOptions = Field(default_factory=ModelDownOptions)
    no_data: NoDataOptions = Field(default_factory=NoDataOptions)
    no_data_for: Duration | None = Field(None, description="the older spelling of no_data.for")
    disable: list[str] = Field(default_factory=list, description="ML alerts to leave out, by name, "
                               "e.g. [PredictionSkew, RetrainOnStaleModel]")
    name_prefix: Annotated[str, AfterValidator(_alert_prefix)] | None = Field(
        None, description='put before every generated alert name, e.g. "Fraud" gives FraudModelDown')
    routing: Routing | None = Field(None, description="overrides the team's alertmanager routing")


class ModelMonitor(Strict):
    """One model's monitoring: `apiVersion: mlmon/v1`, `kind: ModelMonitor`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True,
                              json_schema_extra={"title": "mlmon ModelMonitor"})
    api_version: Literal["mlmon/v1"] = Field(alias="apiVersion")
    kind: Literal["ModelMonitor"]
    metadata: Metadata
    model: ModelInfo = Field(default_factory=ModelInfo)
    scrape: Scrape | None = Field(
        None, description="omit when an existing scrape job collects the series (or give scrape.job)")
    metrics: Metrics = Field(default_factory=Metrics)
    slos: dict[Name, SLO] = Field(default_factory=dict)
    slo_defaults: SLODefaults = Field(default_factory=SLODefaults)
    alerting: Alerting = Field(default_factory=Alerting)
    # ML signals (spec/ml.py); a model without any of these gets no ML rules.
    features: dict[ml.FeatureName, ml.FeatureSpec] = Field(default_factory=dict)
    drift: ml.DriftSpec | None = None
    predictions: ml.PredictionsSpec | None = None
    quality: ml.QualitySpec | None = None
    ground_truth: ml.GroundTruthSpec | None = None
    retraining: ml.RetrainingSpec | None = None
    regression: ml.RegressionSpec | None = None


class PrometheusSettings(Strict):
    scrape_interval: Duration = "15s"
    evaluation_interval: Duration = "30s"
    scrape_timeout: Duration | None = None
    external_labels: dict[LabelName, LabelValue] = Field(default_factory=dict)
    alertmanagers: list[SafeText] = Field(default_factory=lambda: ["localhost:9093"])


class Urls(Strict):
    runbooks: SafeText = "https://runbooks.example.com/mlmon"
    grafana: SafeText = "https://grafana.example.com"


# Engines beyond one Prometheus (issue 7): prometheus-operator, Mimir/Thanos rulers, series budget.
K8S_LABEL_KEY_RE = re.compile(
    r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?\Z")
K8S_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?\Z")


def _k8s_label_key(value: str) -> str:
    if not K8S_LABEL_KEY_RE.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label key")
    return value


def _k8s_label_value(value: str) -> str:
    if not K8S_LABEL_VALUE_RE.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label value (at most 63 letters, digits, -_.)")
    return value


K8sLabels = dict[Annotated[str, AfterValidator(_k8s_label_key)], Annotated[str, AfterValidator(_k8s_label_value)]]


class KubernetesSettings(Strict):
    """Where `--target kubernetes` puts objects, and the labels the operator's selectors match."""

    namespace: Name = Field("monitoring", description="namespace of every generated object")
    rule_labels: K8sLabels = Field(default_factory=dict,
                                   description="PrometheusRule labels, matched by Prometheus.spec.ruleSelector")
    monitor_labels: K8sLabels = Field(
        default_factory=dict,
        description="ServiceMonitor/PodMonitor labels, matched by serviceMonitorSelector/podMonitorSelector")
    alertmanager_config_labels: K8sLabels = Field(
        default_factory=dict, description="AlertmanagerConfig labels, matched by alertmanagerConfigSelector")
    dashboard_labels: K8sLabels = Field(default_factory=lambda: {"grafana_dashboard": "1"},
                                        description="dashboard ConfigMap labels the Grafana sidecar watches")
    dashboard_namespace: Name | None = Field(None, description="default: namespace")


# Mimir's own tenant ID rule; `|` is its separator for multi-tenant queries, so "a|b" would widen one.
TENANT_ID_RE = re.compile(r"^[A-Za-z0-9!._*'()-]{1,150}\Z")


def _tenant_id(value: str) -> str:
    if not TENANT_ID_RE.match(value) or value in (".", "..", "__mimir_cluster"):
        raise ValueError(f"{value!r} is not a valid Mimir tenant ID: at most 150 letters, digits and !-_.*'()")
    return value


class MimirSettings(Strict):
    source_tenants: list[Annotated[str, AfterValidator(_tenant_id)]] = Field(
        default_factory=list, description="federated rule groups: the tenants every group queries")
    query_offset: Duration | None = Field(None, description="evaluate this far in the past (late samples)")


class ThanosSettings(Strict):
    partial_response_strategy: Literal["abort", "warn"] = "abort"


def _target(value: str) -> str:
    if value not in naming.OPTIONAL_TARGETS:
        close = difflib.get_close_matches(value, naming.OPTIONAL_TARGETS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"targets: {', '.join(naming.OPTIONAL_TARGETS)}"
        raise ValueError(f"unknown target {value!r}; {hint}")
    return value


class Budget(Strict):
    series_per_model: int | None = Field(
        None, ge=1, description="generate refuses a model whose recording rules would create more series")


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
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    mimir: MimirSettings = Field(default_factory=MimirSettings)
    thanos: ThanosSettings = Field(default_factory=ThanosSettings)
    targets: list[Annotated[str, AfterValidator(_target)]] = Field(
        default_factory=list, description="optional targets `generate` always writes, besides any --target "
        f"({', '.join(naming.OPTIONAL_TARGETS)})")
    budget: Budget = Field(default_factory=Budget)
    templates: SafeText | None = Field(
        None, description="folder of Jinja2 templates that override mlmon's (runbooks/<kind>.md.j2, "
        "teams/<team>/runbooks/...), relative to this file")
    alertmanager: AlertmanagerSettings | None = Field(None, description="routing, receivers, intervals")
    dashboards: Literal["shared", "per_model"] = Field(
        "shared", description="shared: one model dashboard for every model (a `model` variable) and the fleet "
        "overview; per_model: also a dashboard of its own per model, which the alerts link to instead")
    runbooks: Literal["shared", "per_model"] = Field(
        "shared", description="shared: one runbook per alert kind for every model (the alert's labels and "
        "annotations hold the model's numbers); per_model: one per model and alert, with its numbers written in")


KINDS: dict[str, type[Strict]] = {"ModelMonitor": ModelMonitor, "Project": Project}
