"""Dashboard panels for the ML signals: drift and data quality, ground truth, retraining.

They read the ML recording rules of targets/rules/ml.py (names from core/naming.py) and exist
only when the spec asks for ML rules (`model.ml`). A panel that shows an ML alert takes its key
from plan/panel_keys.py, the function the alert's dashboard link is built with, so the link opens it.
"""

from __future__ import annotations

from collections.abc import Callable

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan import drift as d
from mlmon_codegen.plan import ml_rules, queries, signals
from mlmon_codegen.plan import panel_keys as keys
from mlmon_codegen.plan.sli import series
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.grafana.records import GREEN, ORANGE, RATE_INTERVAL, RED, Panel, Query, Section, Step


def _sel(name: str, model: m.Model) -> str:
    return q.selector(name, {naming.MODEL_LABEL: model.name})


def _rule(model: m.Model, name: Callable[[int], str], window_ms: int) -> str:
    return _sel(name(window_ms), model)


def class_share_queries(model: m.Model) -> tuple[Query, ...] | None:
    """Recorded class shares and their training baseline, when the ML rules record them."""
    ml = model.ml
    if ml is None or not ml.class_priors or not signals.predicts(model):
        return None
    w = ml.drift.window_ms
    return (Query(_rule(model, naming.prediction_class_share, w), "{{class}}"),
            Query(_sel(naming.BASELINE_PREDICTION_CLASS_SHARE, model), "prior {{class}}"))


def confidence_queries(model: m.Model) -> tuple[Query, ...]:
    """The recorded confidence quantile that the low-confidence alert reads."""
    if model.ml is None or not signals.confidence(model):
        return ()
    cw = model.ml.confidence_window_ms
    return (Query(_rule(model, naming.confidence_quantile, cw), f"p{{{{quantile}}}} over {q.window(cw)} (alert)"),)


def expected_accuracy_panel(model: m.Model) -> tuple[Panel, ...]:
    """Mean top-class confidence (plan/quality.py) and its training value, when recorded."""
    ml = model.ml
    if ml is None or not signals.confidence(model):
        return ()
    cw = ml.confidence_window_ms
    shown = (Query(_rule(model, naming.expected_accuracy, cw), f"expected over {q.window(cw)}"),
             *((Query(_sel(naming.BASELINE_EXPECTED_ACCURACY, model), "training"),)
               if ml.expected_accuracy is not None else ()))
    steps = ((Step(None, RED), Step(round(ml.expected_accuracy - ml.expected_accuracy_drop, 12), GREEN))
             if ml.expected_accuracy is not None else ())
    return (Panel("Expected accuracy (mean top-class confidence)", "timeseries", shown, w=12, h=8,
                  unit="percentunit", min=0.0, max=1.0, steps=steps, lines=bool(steps),
                  description="The accuracy a calibrated model expects before labels arrive; the alert fires "
                              "below the line.", key=keys.ml_alert_panel("expected_accuracy_drop")),)


def ground_truth_panels(model: m.Model) -> tuple[Panel, ...]:
    ml = model.ml
    if ml is None or not signals.has_labels(model):
        return ()
    gw = ml.ground_truth_window_ms
    win = q.window(gw)
    lag = (Panel(f"Label lag ({win})", "timeseries",
                 tuple(Query(q.selector(naming.label_lag_seconds(gw), {naming.MODEL_LABEL: model.name,
                                                                        naming.QUANTILE_LABEL: q.number(p)}),
                             f"p{round(p * 100)}") for p in d.LABEL_LAG_QUANTILES), w=8, h=8, unit="s",
                 description="How long after a prediction its ground-truth label arrives.",
                 key="ground-truth/label-lag"),
           ) if model.metrics.label_lag is not None else ()
    return (
        Panel(f"Per-class precision and recall ({win})", "bargauge",
              (Query(_rule(model, naming.class_precision, gw), "precision {{class}}"),
               Query(_rule(model, naming.class_recall, gw), "recall {{class}}")),
              w=12, h=8, unit="percentunit", min=0.0, max=1.0,
              steps=(Step(None, RED), Step(0.8, ORANGE), Step(0.9, GREEN)), key="ground-truth/precision-recall"),
        *lag,
        Panel(f"Labels per {win}", "stat", (Query(_rule(model, naming.ml_labels, gw)),), w=8, h=8,
              steps=(Step(None, RED), Step(1.0, GREEN)),
              description="Labelled predictions that arrived in the window.", key="ground-truth/labels"),
        *((Panel(f"Calibration gap ({win})", "timeseries",
                 (Query(_rule(model, naming.calibration_gap, gw), "expected - realised"),), w=8, h=8,
                 unit="percentunit", lines=True,
                 steps=(Step(None, RED), Step(-ml.calibration_gap_max, GREEN), Step(ml.calibration_gap_max, RED)),
                 description="Expected accuracy (mean confidence) minus the labelled accuracy; above zero the "
                             "model is overconfident.", key=keys.ml_alert_panel("calibration_gap")),)
          if signals.confidence(model) else ()),
        Panel("Labels arriving per second", "timeseries",
              (Query(queries.labelled_predictions(model, RATE_INTERVAL), "labels/s"),),
              w=8, h=8, unit="reqps",
              description="The ground-truth counter; the no-labels alert fires when it stays flat while the "
                          "model serves.", key=keys.ml_alert_panel("no_labels")),
    )


# What the regression row reads, for either dashboard: the model's recording of a naming rule,
# and a recorded threshold line by its name and legend (None: the model records no such line).
Reader = Callable[[Callable[[int], str]], str]
Line = Callable[[str, str], Query | None]


def regression_panels(read: Reader, line: Line, win: str = "", met: m.Metrics | None = None) -> tuple[Panel, ...]:
    """A regression model's quality (plan/regression.py): MAE and RMSE, MAPE, bias, |e| quantiles
    and the labels behind them, over the window `win` names ("": each model's own). `met`: the
    metrics of a model's own dashboard, whose exposed counters decide which statistics are
    recorded; None (the shared dashboard) draws them all."""
    over, title = (f" over {win}", f" ({win})") if win else ("", "")

    def has(*roles: str) -> bool:
        return met is None or all(getattr(met, r) is not None for r in roles)

    def shown(*queries: Query | None) -> tuple[Query, ...]:
        return tuple(x for x in queries if x is not None)

    errors = shown(*(Query(read(naming.regression_mae), f"MAE{over}") if has("residual_abs") else None,
                     line("mae_max", "MAE max"),
                     Query(read(naming.regression_rmse), f"RMSE{over}") if has("residual_squared") else None,
                     line("rmse_max", "RMSE max")))
    panels = [Panel(f"Prediction error{title}", "timeseries", errors, w=8, h=8, min=0.0,
                    description="Mean absolute and root mean squared error of the labelled predictions, in the "
                                "target's unit; an alert fires above its max line. Regression models only.",
                    key=keys.ml_alert_panel("regression_mae"))]
    if has("residual_relative", "residual_relative_count"):
        panels.append(Panel(f"MAPE{title}", "timeseries",
                            shown(Query(read(naming.regression_mape), f"MAPE{over}"), line("mape_max", "max")),
                            w=8, h=8, unit="percentunit", min=0.0,
                            description="Mean absolute percentage error, |predicted - actual| / |actual|, over the "
                                        "labels whose actual value is not 0. Regression models only.",
                            key=keys.ml_alert_panel("regression_mape")))
    if has("residual_abs", "residual_positive"):
        panels.append(Panel(f"Mean error, predicted - actual{title}", "timeseries",
                            (Query(read(naming.regression_mean_error), "mean error"),), w=8, h=8,
                            description="Bias: above zero the model overpredicts, below zero it underpredicts. "
                                        "Regression models only.", key=keys.REGRESSION_BIAS))
    if has("residual_histogram"):
        panels.append(Panel(f"|predicted - actual| p50, p90, p99{title}", "timeseries",
                            (Query(read(naming.regression_residual_quantile), "p{{quantile}}"),), w=12, h=8,
                            min=0.0, description="Quantiles of the absolute error, interpolated within the "
                                                 "residual histogram's buckets. Regression models only.",
                            key=keys.REGRESSION_QUANTILES))
    panels.append(Panel(f"Labels received{title}", "timeseries",
                        (Query(read(naming.regression_labels), "labelled predictions"),),
                        w=12 if has("residual_histogram") else 24, h=8, min=0.0,
                        description="Labelled predictions in the window, the count the statistics above divide "
                                    "by; alerts wait for the spec's min_labels. Regression models only.",
                        key=keys.REGRESSION_LABELS))
    return tuple(panels)


def regression_section(model: m.Model) -> Section | None:
    """The regression row of the model's own dashboard: its one window, its recorded maxima."""
    ml = model.ml
    if ml is None or not signals.regresses(model):
        return None
    w = ml.regression_window_ms
    recorded = {name for name, _ in ml_rules.thresholds(model)}

    def read(rule: Callable[[int], str]) -> str:
        return _rule(model, rule, w)

    def line(name: str, legend: str) -> Query | None:
        return Query(q.selector(naming.ML_THRESHOLD, {naming.MODEL_LABEL: model.name, naming.THRESHOLD_LABEL: name}),
                     legend) if name in recorded else None

    return Section("Regression quality", regression_panels(read, line, q.window(w), model.metrics), key="regression")


def drift_section(model: m.Model) -> Section | None:
    ml = model.ml
    if ml is None:
        return None
    dr, w = ml.drift, ml.drift.window_ms
    win = q.window(w)
    psi_steps = (Step(None, GREEN), Step(dr.psi_warn, ORANGE), Step(dr.psi_page, RED))
    shown = signals.ml_alerts(model)
    panels: list[Panel] = []
    tested = any(f.drift_test != "psi" for f in model.features)
    ks_queries: tuple[Query, ...] = (Query(_rule(model, naming.feature_ks, w), "{{feature}}"),)
    if any(f.drift_test == "ks" for f in model.features):
        ks_queries += (Query(_rule(model, naming.feature_ks_critical, w), "{{feature}} critical"),)
    if "feature_drift" in shown:
        panels += [
            Panel(f"PSI per feature ({win})", "timeseries",
                  (Query(_rule(model, naming.feature_psi, w), "{{feature}}"),), w=9, h=8, steps=psi_steps,
                  lines=True,
                  description=f"Population stability index against training; warn at {dr.psi_warn:g}, page at "
                              f"{dr.psi_page:g}.", key=keys.ml_alert_panel("feature_drift")),
            Panel(f"KS per feature ({win})", "timeseries", ks_queries, w=9, h=8, min=0.0, max=1.0,
                  description="Kolmogorov-Smirnov distance to the training distribution (numeric features)"
                              + (f", and the distance above which it is significant at alpha {dr.alpha:g}."
                                 if len(ks_queries) > 1 else "."),
                  key="drift/ks"),
            Panel("Drifted features", "stat", (Query(_rule(model, naming.drifted_features_share, w)),),
                  w=6, h=8, unit="percentunit",
                  steps=(Step(None, GREEN), Step(dr.drifted_share, RED)),
                  description=f"Share of features with PSI above {dr.psi_warn:g}"
                              + (f" whose two-sample test rejects at alpha {dr.alpha:g}." if tested else "."),
                  key=keys.ml_alert_panel("dataset_drift")),
        ]
        if any(f.drift_test == "chi2" for f in model.features):
            panels.append(Panel(
                f"Chi-square per feature ({win})", "timeseries",
                (Query(_rule(model, naming.feature_chi2, w), "{{feature}}"),
                 Query(_sel(naming.BASELINE_FEATURE_CHI2_CRITICAL, model), "{{feature}} critical")), w=12, h=8,
                min=0.0, description=f"Two-sample chi-square statistic of the bins against training, and its "
                                     f"critical value at alpha {dr.alpha:g}: drift needs the statistic above it.",
                key="drift/chi2"))
    if "out_of_range" in shown:
        panels.append(Panel(f"Out-of-range share ({win})", "bargauge",
                            (Query(_rule(model, naming.feature_out_of_range_share, w), "{{feature}}"),), w=12, h=8,
                            unit="percentunit", min=0.0, max=max(0.05, ml.out_of_range_max * 5),
                            steps=(Step(None, GREEN), Step(ml.out_of_range_max, RED)),
                            key=keys.ml_alert_panel("out_of_range")))
    if "missing" in shown:
        panels.append(Panel(f"Missing share ({win})", "bargauge",
                            (Query(_rule(model, naming.feature_missing_share, w), "{{feature}}"),), w=12, h=8,
                            unit="percentunit", min=0.0, max=max(0.1, ml.missing_max * 2),
                            steps=(Step(None, GREEN), Step(ml.missing_max, RED)), key=keys.ml_alert_panel("missing")))
    if "out_of_range_gauges" in shown:
        met = model.metrics
        gauges = tuple(Query(q.agg(fn, series(model, role), by=(met.feature_label,)),
                             f"{fn} {{{{{met.feature_label}}}}}")
                       for role, fn in (("feature_min", "min"), ("feature_max", "max")) if getattr(met, role))
        panels.append(Panel("Feature min and max (gauges)", "timeseries", gauges, w=24, h=8,
                            description="The service exposes only these gauges of the features: they show "
                                        "range breaches, not distributions (no drift).",
                            key=keys.ml_alert_panel("out_of_range_gauges")))
    if "prediction_drift" in shown:
        panels.append(Panel(f"Prediction PSI against priors ({win})", "stat",
                            (Query(_rule(model, naming.prediction_psi, w)),), w=12, h=6, steps=psi_steps,
                            key=keys.ml_alert_panel("prediction_drift")))
    sw = ml.skew_window_ms
    if "prediction_skew" in shown:
        panels.append(Panel(f"Top class share ({q.window(sw)})", "stat",
                            (Query(_rule(model, naming.top_class_share, sw)),), w=12, h=6, unit="percentunit",
                            steps=(Step(None, GREEN), Step(ml.skew_share, RED)),
                            key=keys.ml_alert_panel("prediction_skew")))
    return Section("Data quality and drift", tuple(panels), key="drift")


def retraining_section(model: m.Model) -> Section | None:
    ml = model.ml
    shown = signals.ml_alerts(model)
    if ml is None or not ml.retraining:
        return None
    retrain = q.selector("ALERTS", [(naming.MODEL_LABEL, "=", model.name), (naming.ACTION_LABEL, "=",
                                    naming.RETRAIN_ACTION), ("alertstate", "=", "firing")])
    panels = [Panel("Retraining requests firing", "stat", (Query(q.or_zero(q.agg("count", retrain))),), w=6, h=6,
                    steps=(Step(None, GREEN), Step(1.0, ORANGE)),
                    description="Alerts with action=retrain; Alertmanager sends them to the retraining webhook.",
                    key="retraining/firing")]
    if "retrain_stale" in shown:
        panels.append(Panel("Model age", "stat", (Query(d.model_age_seconds(model)),), w=6, h=6, unit="dtdurations",
                            steps=(Step(None, GREEN), Step(ml.retrain_max_age_ms / 1000, ORANGE)),
                            key=keys.ml_alert_panel("retrain_stale")))
    if "retrain_labels" in shown:
        panels.append(Panel("Labels since training", "stat", (Query(_sel(naming.ML_LABELS_SINCE_TRAINING, model)),),
                            w=6, h=6, steps=(Step(None, GREEN), Step(float(ml.retrain_new_labels), ORANGE)),
                            key=keys.ml_alert_panel("retrain_labels")))
    if "retrain_accuracy" in shown:
        aw = ml.retrain_accuracy_window_ms
        panels.append(Panel(f"Accuracy against the retraining floor ({q.window(aw)})", "timeseries",
                            (Query(_rule(model, naming.ml_accuracy, aw), "accuracy"),), w=6, h=6,
                            unit="percentunit", steps=(Step(None, RED), Step(ml.retrain_accuracy_floor, GREEN)),
                            lines=True, key=keys.ml_alert_panel("retrain_accuracy")))
    if "retrain_drift" in shown:
        w = ml.drift.window_ms
        panels.append(Panel("Drifted features (sustained drift retrains)", "timeseries",
                            (Query(_rule(model, naming.drifted_features_share, w), "drifted share"),),
                            w=24, h=6, unit="percentunit", lines=True,
                            steps=(Step(None, GREEN), Step(ml.drift.drifted_share, ORANGE)),
                            description=f"Retraining is requested when this stays over the line for "
                                        f"{q.window(ml.retrain_drift_for_ms)}.",
                            key=keys.ml_alert_panel("retrain_drift")))
    return Section("Retraining signals", tuple(panels), key="retraining")


def fleet_drift_query(models: list[str]) -> Query:
    """The drifted-feature share of each model, whatever its drift window (models without ML rules: empty)."""
    sel = q.selector("", [q.prefixed("__name__", naming.every_window(naming.drifted_features_share)),
                          q.one_of(naming.MODEL_LABEL, models)])
    return Query(q.agg("max", sel, by=(naming.MODEL_LABEL,)))
