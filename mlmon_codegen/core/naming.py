"""Every generated name in one place: jobs, recording rules, alerts, files, groups, uids.

Recording rules follow Prometheus' level:metric:operations convention. The `mlmon_slo` level
says the series belongs to mlmon's SLO math and carries `model` and `slo` labels.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable

from mlmon_codegen.core.durations import format_ms

# Labels every SLO recording rule carries, and the contract labels every alert carries.
MODEL_LABEL = "model"
SLO_LABEL = "slo"
TEAM_LABEL = "team"
SEVERITY_LABEL = "severity"
TIER_LABEL = "tier"
ACTION_LABEL = "action"


JOB_PREFIX = "mlmon-"


def job(model: str) -> str:
    return f"{JOB_PREFIX}{model}"


# Output paths, relative to OUT.
PROMETHEUS_DIR = "prometheus/"
PROMETHEUS_CONFIG = f"{PROMETHEUS_DIR}prometheus.yml"
RULES_DIR = f"{PROMETHEUS_DIR}rules/"
UNIT_TESTS_DIR = "tests/"
DASHBOARDS_DIR = "grafana/dashboards/"


def rules_file(model: str) -> str:
    return f"{RULES_DIR}{model}.rules.yml"


def from_prometheus_config(path: str) -> str:
    """An output path as prometheus.yml names it: relative to the config's folder."""
    return path.removeprefix(PROMETHEUS_DIR)


def unit_test_file(model: str) -> str:
    return f"{UNIT_TESTS_DIR}{model}.test.yml"


def group(model: str, part: str) -> str:
    return f"mlmon-{model}-{part}"


def rule_group(model: str, interval_ms: int | None) -> str:
    """A model's rule group: the global interval's plain, the others named by their interval."""
    return f"mlmon-{model}" if interval_ms is None else group(model, f"every-{format_ms(interval_ms)}")


def slo_error_ratio(window_ms: int) -> str:
    return f"{SLO_ERROR_RATIO_WINDOWS}{format_ms(window_ms)}"


# What every window's error ratio name starts with (the period's does not): the shared dashboard
# reads every window of an SLO, whatever its period made them.
SLO_ERROR_RATIO_WINDOWS = "mlmon_slo:error_ratio:rate"


def slo_slice_error(slice_ms: int) -> str:
    """A timeslice SLO's slice: 1 bad or 0 good (timeslices), or its error ratio (ratio_timeslices)."""
    return f"mlmon_slo:slice_error:rate{format_ms(slice_ms)}"


SLO_PERIOD_ERROR_RATIO = "mlmon_slo:error_ratio:period"
# One series per alert tier (label `tier`), value the tier's burn-rate factor: dashboards draw the
# tier lines from data. The burn rate itself is error_ratio / (1 - objective), computed where read.
SLO_BURN_THRESHOLD = "mlmon_slo:burn_rate_threshold:ratio"
# One series per model, value 1, naming its team and dashboard: the fleet table lists models from it
# (a PromQL literal per model made the fleet dashboard grow by ~640 bytes a model).
# level:metric:operation like every other recording (Mimir's ruler rejects colon-less names); the
# metric part keeps the `_info` suffix Prometheus uses for series that only carry labels.
MODEL_INFO = "mlmon:model_info:constant"
DASHBOARD_UID_LABEL = "uid"
SLO_OBJECTIVE = "mlmon_slo:objective:ratio"
# The scrape job whose `up` the model's ModelDown reads, on the info series: the shared dashboard
# joins `up` to models through it (job names are the user's when `scrape.job` is given).
SCRAPE_JOB_LABEL = "scrape_job"
# A threshold an ML alert compares with, one constant series per threshold and model, so the
# shared dashboard draws each model's own lines (a number in the JSON would be one model's).
ML_THRESHOLD = "mlmon_ml:threshold:constant"
THRESHOLD_LABEL = "threshold"
ML_TRAINED_TIMESTAMP = "mlmon_ml:trained_timestamp:max"  # the serving model's training time
ML_LABELS_SINCE_TRAINING = "mlmon_ml:labels_since_training:sum"


BUCKET_SUFFIX = "_bucket"  # a classic histogram's cumulative bucket counters (label `le`)
COUNT_SUFFIX = "_count"
SUM_SUFFIX = "_sum"  # the sum of the observed values


def bucket(histogram: str) -> str:
    return histogram + BUCKET_SUFFIX


def count(histogram: str) -> str:
    return histogram + COUNT_SUFFIX


@functools.lru_cache(maxsize=4096)
def camel(text: str) -> str:
    """'latency-p99' → 'LatencyP99'; alert names are CamelCase by Prometheus convention."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", "-").split("-") if part)


# Every generated alert name goes through one of these with the model's `alerting.name_prefix`
# ("" by default), so the rule file, its tests, runbooks and inhibitions agree on the name.
def burn_alert(slo: str, tier: str, prefix: str = "") -> str:
    return f"{prefix}{camel(slo)}ErrorBudgetBurn{camel(tier)}"


def no_data_alert(slo: str, prefix: str = "") -> str:
    return f"{prefix}{camel(slo)}SLINoData"


MODEL_DOWN_ALERT = "ModelDown"


def model_down_alert(prefix: str = "") -> str:
    return f"{prefix}{MODEL_DOWN_ALERT}"


def ml_alert(key: str, prefix: str = "") -> str:
    """The name of the ML alert `ML_ALERTS[key]`."""
    return f"{prefix}{ML_ALERTS[key]}"

# `--target` and a project file's `targets:` choose among these (targets/platforms.TARGETS renders
# them); named here so the spec layer can validate a project file without the renderers.
OPTIONAL_TARGETS = ("kubernetes", "mimir", "thanos")


def dashboard_uid(model: str) -> str:
    """Stable, at most 40 characters; long names keep a readable prefix and a hash suffix."""
    uid = f"mlmon-{model}"
    if len(uid) <= 40:
        return uid
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{uid[:31]}-{digest}"


# Grafana keeps panel ids as JSON numbers, and in places as 32-bit integers: ids stay below 2**31.
PANEL_ID_LIMIT = 2**31


def panel_id(key: str, attempt: int = 0) -> int:
    """A panel's id from its key (what the panel shows), in 1..2**31-1: the same key gives the same
    id on every run, whatever else the dashboard holds. `attempt` n > 0 hashes `key#n` instead,
    for panel_ids' collision rule."""
    text = f"{key}#{attempt}" if attempt else key
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:4], "big") % (PANEL_ID_LIMIT - 1) + 1


def panel_ids(keys: Iterable[str]) -> dict[str, int]:
    """The ids of one dashboard's panels and rows, `keys` in priority order.

    Collision rule: each key takes panel_id(key) unless a key before it took that id, and then the
    first of panel_id(key, 1), panel_id(key, 2), ... that no key before it took. A key never moves
    for a key after it, so whoever knows only the first keys computes their ids exactly. The same
    key twice is a ValueError: two panels claiming to show the same thing would share an id.
    """
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for key in keys:
        if key in ids:
            raise ValueError(f"panel key {key!r} appears twice in one dashboard")
        attempt, pid = 0, panel_id(key)
        while pid in taken:
            attempt += 1
            pid = panel_id(key, attempt)
        ids[key] = pid
        taken.add(pid)
    return ids


def dashboard_url(base: str, model: str, panel_id: int | None = None) -> str:
    """The model's dashboard, opened on one panel when `panel_id` is given."""
    url = f"{base}/d/{dashboard_uid(model)}/{model}"
    return f"{url}?viewPanel={panel_id}" if panel_id is not None else url


# The one model dashboard of `dashboards: shared`: every model through its `model` variable. `_`
# after the prefix, as the fleet's: a model's own uid is `mlmon-<name>`, so none can equal it.
MODEL_DASHBOARD_UID = "mlmon_model"
MODEL_DASHBOARD_FILE = f"{DASHBOARDS_DIR}model.json"
MODEL_VAR = "model"
SLO_VAR = "slo"
FEATURE_VAR = "feature"


def shared_dashboard_url(base: str, model: str, panel_id: int | None = None, slo: str | None = None) -> str:
    """The shared model dashboard on `model` (and on one SLO's row), opened on one panel when given.
    Model and SLO names are `[a-z0-9_-]`, safe in a query string as they are. No slug after the
    uid: Grafana finds a dashboard by its uid alone, and the link is in every alert of a fleet."""
    params = [f"var-{MODEL_VAR}={model}", *([f"var-{SLO_VAR}={slo}"] if slo else []),
              *([f"viewPanel={panel_id}"] if panel_id is not None else [])]
    return f"{base}/d/{MODEL_DASHBOARD_UID}?{'&'.join(params)}"


def dashboard_file(model: str) -> str:
    return f"{DASHBOARDS_DIR}{model}.json"


FLEET_DASHBOARD_FILE = f"{DASHBOARDS_DIR}fleet.json"
# `_` after the prefix: model uids are `mlmon-<name>`, so the fleet's can never equal one.
FLEET_DASHBOARD_UID = "mlmon_fleet"


def runbook_url(base: str, model: str, alert: str) -> str:
    return f"{base}/{model}/{alert}.md"


def runbook_file(model: str, alert: str) -> str:
    return f"runbooks/{model}/{alert}.md"


# `runbooks: shared`: one runbook per alert kind (its template), for every model; a team with
# templates of its own (`teams/<team>/runbooks/`) gets its own copies under teams/<team>/.
def shared_runbook_path(kind: str, team: str | None = None) -> str:
    return f"teams/{team}/{kind}.md" if team else f"{kind}.md"


def shared_runbook_url(base: str, kind: str, team: str | None = None) -> str:
    return f"{base}/{shared_runbook_path(kind, team)}"


def shared_runbook_file(kind: str, team: str | None = None) -> str:
    return f"runbooks/{shared_runbook_path(kind, team)}"


# Engines beyond one Prometheus: Kubernetes objects, Mimir and Thanos rule files.
K8S_DIR = "kubernetes/"
KUSTOMIZATION_FILE = f"{K8S_DIR}kustomization.yaml"


def k8s_name(name: str) -> str:
    """A DNS-1123 object name. Spec names may hold '_', which Kubernetes refuses; such names get
    '-' and a hash suffix, so `a_b` and `a-b` never become the same object."""
    base = f"mlmon-{name}"
    if "_" not in base:
        return base
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{base.replace('_', '-')}-{digest}"


def k8s_file(kind: str, obj_name: str) -> str:
    """`kubernetes/<kind, lowercase>/<object name>.yaml`, relative to OUT."""
    return f"{K8S_DIR}{kind.lower()}/{obj_name}.yaml"


def mimir_namespace(model: str) -> str:
    """One ruler namespace per model: `mimirtool rules sync` replaces a namespace as a whole."""
    return model


def mimir_rules_file(model: str) -> str:
    return f"mimir/{mimir_namespace(model)}.rules.yml"


def thanos_rules_file(model: str) -> str:
    return f"thanos/{model}.rules.yml"


# Alertmanager: generated files, the receiver that notifies nobody, and the template names the
# receivers call (defined in templates/alertmanager/mlmon.tmpl).
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
ALERTMANAGER_TEMPLATE = "alertmanager/templates/mlmon.tmpl"
ALERTMANAGER_TEMPLATE_GLOB = "templates/*.tmpl"  # relative to the config, as Alertmanager resolves it
ALERTMANAGER_ROUTE_TESTS = "tests/alertmanager-routes.yml"
NULL_RECEIVER = "mlmon-null"
TEMPLATE_TITLE = "mlmon.title"
TEMPLATE_TEXT = "mlmon.text"
TEMPLATE_HTML = "mlmon.html"
RETRAIN_ACTION = "retrain"
# Labels mlmon sets on its alerts (and Prometheus' own): a spec's metadata.labels may not set them.
RESERVED_ALERT_LABELS = (MODEL_LABEL, TEAM_LABEL, SEVERITY_LABEL, SLO_LABEL, TIER_LABEL, ACTION_LABEL, "alertname")


# ---------------------------------------------------------------- ML signals (plan/drift.py, targets/rules/ml.py)
# Recording rules are `mlmon_ml:<what>:<operation><window>`, or `...:baseline` for the training
# constants they are compared with. They carry `model`, and `feature`/`bin`/`le`/`class` as needed.
FEATURE_LABEL = "feature"
BIN_LABEL = "bin"
LE_LABEL = "le"
CLASS_LABEL = "class"
QUANTILE_LABEL = "quantile"
OTHER_BIN = "(other)"  # categories or classes the baseline never saw


def _ml(what: str, op: str, window_ms: int) -> str:
    return f"mlmon_ml:{what}:{op}{format_ms(window_ms)}"


def every_window(rule: Callable[[int], str]) -> str:
    """What the names of one ML rule share whatever the window (`mlmon_ml:<what>:`): models with
    different drift windows record different names, and the fleet dashboard reads them all."""
    return rule(60_000).rsplit(":", 1)[0] + ":"



def feature_samples(window_ms: int) -> str:
    return _ml("feature_samples", "increase", window_ms)



def feature_cdf(window_ms: int) -> str:
    return _ml("feature_cdf", "increase", window_ms)



def feature_bin_share(window_ms: int) -> str:
    return _ml("feature_bin_share", "increase", window_ms)



def feature_out_of_range_share(window_ms: int) -> str:
    return _ml("feature_out_of_range_share", "increase", window_ms)



def feature_missing_share(window_ms: int) -> str:
    return _ml("feature_missing_share", "increase", window_ms)



def feature_psi(window_ms: int) -> str:
    return _ml("feature_psi", "increase", window_ms)



def feature_ks(window_ms: int) -> str:
    return _ml("feature_ks", "increase", window_ms)



def feature_chi2(window_ms: int) -> str:
    """The two-sample chi-square statistic of a feature's bins against the baseline's (plan/drift.py)."""
    return _ml("feature_chi2", "increase", window_ms)


def feature_ks_critical(window_ms: int) -> str:
    """The binned KS above which a feature's distribution differs at drift.alpha (it depends on n)."""
    return _ml("feature_ks_critical", "increase", window_ms)


def drifted_features_share(window_ms: int) -> str:
    return _ml("drifted_features_share", "increase", window_ms)



def ml_predictions(window_ms: int) -> str:
    return _ml("predictions", "increase", window_ms)



def prediction_class_share(window_ms: int) -> str:
    return _ml("prediction_class_share", "increase", window_ms)



def prediction_psi(window_ms: int) -> str:
    return _ml("prediction_psi", "increase", window_ms)


def prediction_chi2(window_ms: int) -> str:
    """The two-sample chi-square statistic of the predicted class counts against the class priors."""
    return _ml("prediction_chi2", "increase", window_ms)



def top_class_share(window_ms: int) -> str:
    return _ml("top_class_share", "increase", window_ms)



def confidence_quantile(window_ms: int) -> str:
    return _ml("confidence_quantile", "rate", window_ms)



def confidence_below_floor_share(window_ms: int) -> str:
    return _ml("confidence_below_floor_share", "rate", window_ms)



def class_precision(window_ms: int) -> str:
    return _ml("class_precision", "increase", window_ms)



def class_recall(window_ms: int) -> str:
    return _ml("class_recall", "increase", window_ms)



def class_f1(window_ms: int) -> str:
    return _ml("class_f1", "increase", window_ms)



def ml_labels(window_ms: int) -> str:
    return _ml("labels", "increase", window_ms)



def ml_accuracy(window_ms: int) -> str:
    return _ml("accuracy", "increase", window_ms)



def label_lag_seconds(window_ms: int) -> str:
    return _ml("label_lag_seconds", "rate", window_ms)



def expected_accuracy(window_ms: int) -> str:
    return _ml("expected_accuracy", "increase", window_ms)


def calibration_gap(window_ms: int) -> str:
    return _ml("calibration_gap", "increase", window_ms)


# The training constants the windows are compared with.

BASELINE_FEATURE_BIN_SHARE = "mlmon_ml:feature_bin_share:baseline"

BASELINE_FEATURE_CDF = "mlmon_ml:feature_cdf:baseline"

BASELINE_FEATURE_SAMPLES = "mlmon_ml:feature_samples:baseline"  # m: the reference's observations

BASELINE_FEATURE_CHI2_CRITICAL = "mlmon_ml:feature_chi2_critical:baseline"  # chi2.isf(alpha, df), a constant

BASELINE_PREDICTION_CLASS_SHARE = "mlmon_ml:prediction_class_share:baseline"

BASELINE_PREDICTION_SAMPLES = "mlmon_ml:prediction_samples:baseline"  # m: the labelled training rows

BASELINE_PREDICTION_CHI2_CRITICAL = "mlmon_ml:prediction_chi2_critical:baseline"

BASELINE_EXPECTED_ACCURACY = "mlmon_ml:expected_accuracy:baseline"


# Regression models: residual statistics over a window (e = predicted - actual).
def regression_labels(window_ms: int) -> str:
    return _ml("regression_labels", "increase", window_ms)


def regression_mae(window_ms: int) -> str:
    return _ml("regression_mae", "increase", window_ms)


def regression_rmse(window_ms: int) -> str:
    return _ml("regression_rmse", "increase", window_ms)


def regression_mape(window_ms: int) -> str:
    """Mean absolute percentage error, as a fraction, over the labels whose actual value is not 0."""
    return _ml("regression_mape", "increase", window_ms)


def regression_residual_quantile(window_ms: int) -> str:
    """A quantile of |predicted - actual| over the window, from the residual histogram (label quantile)."""
    return _ml("regression_residual_quantile", "rate", window_ms)


def regression_mean_error(window_ms: int) -> str:
    return _ml("regression_mean_error", "increase", window_ms)


def bin_label(index: int) -> str:
    """Zero-padded so bins sort in order on dashboards."""
    return f"{index:02d}"


ML_ALERTS = {
    "feature_drift": "FeatureDrift", "feature_drift_severe": "FeatureDriftSevere", "dataset_drift": "DatasetDrift",
    "prediction_drift": "PredictionDrift", "prediction_skew": "PredictionSkew", "low_confidence": "LowConfidence",
    "out_of_range": "FeatureOutOfRange", "out_of_range_gauges": "FeatureExtremeOutOfRange",
    "missing": "FeatureMissingValues", "no_labels": "NoGroundTruthLabels",
    "retrain_drift": "RetrainOnSustainedDrift", "retrain_accuracy": "RetrainOnLowAccuracy",
    "retrain_stale": "RetrainOnStaleModel", "retrain_labels": "RetrainOnNewLabels",
    "expected_accuracy_drop": "ExpectedAccuracyDrop", "calibration_gap": "CalibrationGap",
    "regression_mae": "RegressionMAEHigh", "regression_rmse": "RegressionRMSEHigh",
    "regression_mape": "RegressionMAPEHigh",
}
