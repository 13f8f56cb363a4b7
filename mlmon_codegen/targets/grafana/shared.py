"""grafana/dashboards/model.json: one model dashboard for every model (`dashboards: shared`).

Sloth's way: it reads only the recorded series, which have the same names and a `model` label
whatever each model's metrics are called, through a `model` variable, and repeats its SLO row per
SLO (`slo` variable). Every objective, tier factor and ML threshold is a recorded series drawn as
a line, never a number in the JSON, so one file serves a thousand models and stays the same size.
A second row repeats per feature (`feature` variable).
The panels and their keys are the same for every fleet (plan/panel_keys.SHARED_KEYS): the ids are
constants, and alert links (plan/alert_text.py) are built without the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grafanalib.core as g

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.emit.artifact import Artifact
from mlmon_codegen.plan import panel_keys as keys
from mlmon_codegen.plan import queries
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.grafana import dashboards, ml_panels
from mlmon_codegen.targets.grafana.records import (
    BURN_UNIT,
    DATASOURCE_VAR,
    GREEN,
    ORANGE,
    RED,
    Panel,
    Query,
    Section,
    steps_from,
)

MODEL = (naming.MODEL_LABEL, "=", f"${naming.MODEL_VAR}")
# A regex: the row repeated per SLO sets one value, a view of several SLOs (or `mlmon preview`) all.
SLO = (naming.SLO_LABEL, "=~", f"${naming.SLO_VAR}")


def _sel(metric: str, *extra: q.Matcher) -> str:
    return q.selector(metric, [MODEL, *extra])


def _windows(rule: Callable[[int], str], *extra: q.Matcher) -> str:
    """Every window's recording of an ML rule: models record the windows their specs chose."""
    return q.selector("", [q.prefixed("__name__", naming.every_window(rule)), MODEL, *extra])


def _threshold(name: str, legend: str) -> Query:
    return Query(_sel(naming.ML_THRESHOLD, (naming.THRESHOLD_LABEL, "=", name)), legend)


def _objective() -> str:
    return _sel(naming.SLO_OBJECTIVE, SLO)


def _over_budget(ratio: str) -> str:
    return queries.over_budget(ratio, _objective())


def model_section() -> Section:
    firing = q.or_zero(q.agg("count", q.selector("ALERTS", [MODEL, ("alertstate", "=", "firing")])))
    up = q.agg("sum", queries.job_targets_up(MODEL))
    return Section("Model $model", (
        Panel("Firing alerts", "stat", (Query(firing),), w=12, h=4, steps=steps_from((None, GREEN), (1.0, RED)),
              description="Alerts of the model firing now; an alert whose data only its own series show is "
                          "listed here.", key=keys.FIRING),
        Panel("Targets up", "stat", (Query(up),), w=12, h=4, steps=steps_from((None, RED), (1.0, GREEN)),
              description="Scrape targets up of the job the model's ModelDown reads (none: the model has no "
                          "job of its own, and ModelDown reads its series).", key=keys.TARGETS_UP),
    ), key="model")


def slo_section() -> Section:
    period = _sel(naming.SLO_PERIOD_ERROR_RATIO, SLO)
    window_ratios = q.copy_label(
        q.selector("", [q.prefixed("__name__", naming.SLO_ERROR_RATIO_WINDOWS), MODEL, SLO]), "window", "__name__",
        q.regex_escape(naming.SLO_ERROR_RATIO_WINDOWS) + "(.+)")
    tiers = Query(_sel(naming.SLO_BURN_THRESHOLD, SLO), "{{tier}} fires above")
    slo = keys.shared_slo_panel
    return Section("SLO $slo", (
        Panel("Objective", "stat", (Query(_objective()),), w=4, h=6, unit="percentunit",
              description="The SLO's objective over its period.", key=slo("objective")),
        Panel("SLI over the period", "stat", (Query(q.one_minus(period)), Query(_objective(), "objective")), w=4,
              h=6, unit="percentunit", description="Good events over all events in the period, beside the "
                                                   "objective.", key=slo(keys.SLI)),
        Panel("Error budget left", "stat", (Query(queries.budget_left(period, _objective())),), w=4, h=6,
              unit="percentunit", steps=steps_from((None, RED), (0.0, ORANGE), (0.25, GREEN)),
              description="Share of the period's error budget not yet spent.", key=slo("budget-left")),
        Panel("Error ratio per window", "timeseries",
              (Query(window_ratios, "{{window}}"), Query(q.one_minus(_objective()), "budget")), w=12, h=6,
              unit="percentunit", description="Bad events over all events per recorded window; `budget` is "
                                              "1 - objective.", key=slo("error-ratio")),
        Panel("Burn rate per window against the tiers", "timeseries",
              (Query(_over_budget(window_ratios), "{{window}}"), tiers), w=24, h=8, unit=BURN_UNIT,
              description="Error ratio over the budget (1 = the budget lasts exactly the period) per window; "
                          "a tier fires when its long and short windows are both above its line.",
              key=slo(keys.BURN_TIERS)),
    ), key="slos")


def drift_section() -> Section:
    return Section("Data quality and drift", (
        Panel("PSI per feature", "timeseries", (Query(_windows(naming.feature_psi), "{{feature}}"),
                                                _threshold("psi_warn", "warn"), _threshold("psi_page", "page")),
              w=8, h=8, description="Population stability index against training; the lines are the model's "
                                    "warn and page levels.", key="drift/psi"),
        Panel("KS per feature", "timeseries", (Query(_windows(naming.feature_ks), "{{feature}}"),), w=8, h=8,
              min=0.0, max=1.0, description="Kolmogorov-Smirnov distance to training (numeric features).",
              key="drift/ks"),
        Panel("Drifted features", "timeseries", (Query(_windows(naming.drifted_features_share), "drifted"),
                                                 _threshold("drifted_share", "dataset drift")),
              w=8, h=8, unit="percentunit", key="drift/drifted-features"),
        Panel("Out-of-range share", "timeseries", (Query(_windows(naming.feature_out_of_range_share),
                                                         "{{feature}}"), _threshold("out_of_range_max", "max")),
              w=6, h=8, unit="percentunit", key="drift/out-of-range"),
        Panel("Missing share", "timeseries", (Query(_windows(naming.feature_missing_share), "{{feature}}"),
                                              _threshold("missing_max", "max")),
              w=6, h=8, unit="percentunit", key="drift/missing"),
        Panel("Prediction PSI against priors", "timeseries", (Query(_windows(naming.prediction_psi), "PSI"),
                                                              _threshold("psi_warn", "warn")),
              w=6, h=8, key="drift/prediction-psi"),
        Panel("Top class share", "timeseries", (Query(_windows(naming.top_class_share), "top class"),
                                                _threshold("skew_share", "skew")),
              w=6, h=8, unit="percentunit", key="drift/top-class-share"),
    ), key="drift")


def predictions_section() -> Section:
    return Section("Predictions", (
        Panel("Confidence quantile", "timeseries", (Query(_windows(naming.confidence_quantile), "p{{quantile}}"),
                                                    _threshold("confidence_threshold", "threshold")),
              w=12, h=8, unit="percentunit", min=0.0, max=1.0, key="predictions/confidence"),
        Panel("Expected accuracy (mean top-class confidence)", "timeseries",
              (Query(_windows(naming.expected_accuracy), "expected"),
               Query(_sel(naming.BASELINE_EXPECTED_ACCURACY), "training"),
               _threshold("expected_accuracy_floor", "alert below")),
              w=12, h=8, unit="percentunit", min=0.0, max=1.0, key="predictions/expected-accuracy"),
    ), key="predictions")


def ground_truth_section() -> Section:
    return Section("Ground truth", (
        Panel("Accuracy", "timeseries", (Query(_windows(naming.ml_accuracy), "accuracy"),), w=8, h=8,
              unit="percentunit", min=0.0, max=1.0, key="ground-truth/accuracy"),
        Panel("Labelled predictions in the window", "timeseries", (Query(_windows(naming.ml_labels), "labels"),),
              w=8, h=8, description="The no-labels alert fires when none arrive while the model serves.",
              key=keys.ml_alert_panel("no_labels")),
        Panel("Calibration gap", "timeseries", (Query(_windows(naming.calibration_gap), "expected - realised"),
                                                _threshold("calibration_gap_max", "max")),
              w=8, h=8, unit="percentunit", key=keys.ml_alert_panel("calibration_gap")),
    ), key="ground-truth")


def regression_section() -> Section:
    """Each panel reads only series regression models record: empty for a classifier."""
    return Section("Regression quality", ml_panels.regression_panels(_windows, _threshold),
                   key="regression")


def retraining_section() -> Section:
    age = q.minus(q.call("time"), _sel(naming.ML_TRAINED_TIMESTAMP))
    return Section("Retraining signals", (
        Panel("Model age", "stat", (Query(age, "age"), _threshold("max_age_seconds", "retrain after")), w=6, h=6,
              unit="dtdurations", key=keys.ml_alert_panel("retrain_stale")),
        Panel("Labels since training", "stat", (Query(_sel(naming.ML_LABELS_SINCE_TRAINING), "labels"),
                                                _threshold("new_labels", "retrain at")),
              w=6, h=6, key=keys.ml_alert_panel("retrain_labels")),
        Panel("Accuracy against the retraining floor", "timeseries",
              (Query(_windows(naming.ml_accuracy), "accuracy"), _threshold("accuracy_floor", "floor")), w=6, h=6,
              unit="percentunit", key=keys.ml_alert_panel("retrain_accuracy")),
        Panel("Drifted features (sustained drift retrains)", "timeseries",
              (Query(_windows(naming.drifted_features_share), "drifted"), _threshold("drifted_share", "line")),
              w=6, h=6, unit="percentunit", key=keys.ml_alert_panel("retrain_drift")),
    ), key="retraining")


FEATURE = (naming.FEATURE_LABEL, "=~", f"${naming.FEATURE_VAR}")


def feature_section() -> Section:
    """One feature at a time, with the model's lines: the row repeated per value of `feature`."""
    def one(rule: Callable[[int], str]) -> Query:
        return Query(_windows(rule, FEATURE), "{{feature}}")
    return Section("Feature $feature", (
        Panel("PSI", "timeseries", (one(naming.feature_psi), _threshold("psi_warn", "warn"),
                                    _threshold("psi_page", "page")), w=6, h=6, key="feature/psi"),
        Panel("KS", "timeseries", (one(naming.feature_ks),), w=6, h=6, min=0.0, max=1.0, key="feature/ks"),
        Panel("Out of range", "timeseries", (one(naming.feature_out_of_range_share),
                                             _threshold("out_of_range_max", "max")),
              w=6, h=6, unit="percentunit", key="feature/out-of-range"),
        Panel("Missing", "timeseries", (one(naming.feature_missing_share), _threshold("missing_max", "max")),
              w=6, h=6, unit="percentunit", key="feature/missing"),
    ), key="features")


def sections() -> list[Section]:
    return [model_section(), slo_section(), drift_section(), feature_section(), predictions_section(),
            ground_truth_section(), regression_section(), retraining_section()]


def _templating() -> g.Templating:
    info = naming.MODEL_INFO
    return g.Templating(list=[
        g.Template(name=DATASOURCE_VAR, label="Data source", query="prometheus", type="datasource",
                   default="Prometheus"),
        g.Template(name=naming.MODEL_VAR, label="Model", dataSource=dashboards.DATASOURCE, type="query",
                   query=q.call("label_values", info, naming.MODEL_LABEL), refresh=g.REFRESH_ON_DASHBOARD_LOAD),
        g.Template(name=naming.SLO_VAR, label="SLO", dataSource=dashboards.DATASOURCE, type="query",
                   query=q.call("label_values", _sel(naming.SLO_OBJECTIVE), naming.SLO_LABEL),
                   includeAll=True, multi=True, default="$__all", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE),
        g.Template(name=naming.FEATURE_VAR, label="Feature", dataSource=dashboards.DATASOURCE, type="query",
                   query=q.call("label_values", _windows(naming.feature_psi), naming.FEATURE_LABEL),
                   includeAll=True, multi=True, default="$__all", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE),
    ])


def render() -> dict[str, Any]:
    secs = sections()
    drawn = tuple(dashboards.keys(secs))
    if sorted(drawn) != sorted(keys.SHARED_KEYS):  # links are built from SHARED_KEYS alone
        raise ValueError(f"the shared dashboard draws {drawn}, but alert links expect {keys.SHARED_KEYS}")
    panels = [dashboards.grafana_panel(p) for p in dashboards.layout(secs, keys.shared_panel_ids())]
    data = dashboards.dashboard("mlmon model", naming.MODEL_DASHBOARD_UID, panels, ["mlmon"],
                                "Any model mlmon monitors: pick it in `model`; one row per SLO.", _templating(),
                                [dashboards.FLEET_LINK])
    ids = keys.shared_panel_ids()
    repeated = {ids["slos"]: naming.SLO_VAR, ids["features"]: naming.FEATURE_VAR}
    for panel in data["panels"]:
        if panel["id"] in repeated:
            panel["repeat"] = repeated[panel["id"]]
    return data


def artifact(fleet: m.Fleet) -> Artifact:
    return Artifact(naming.MODEL_DASHBOARD_FILE, render(), fleet.sources, "json")
