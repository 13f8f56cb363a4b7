"""Which signals a model has: what its spec turns on, and what its service exposes.

Rules, alerts, dashboard panels and runbooks all ask here, so that none of them reads a metric
the spec says the service lacks (a role set to null) or a section the spec does not have. Each
ML section turns on its own signals only.
"""

from __future__ import annotations

from mlmon_codegen.spec import model as m


def binned(model: m.Model) -> list[m.Feature]:
    """The features exposed as distributions (drift); gauge-only ones allow range checks alone."""
    return [f for f in model.features if not f.gauges_only] if model.ml is not None else []


def gauged(model: m.Model) -> list[m.Feature]:
    return [f for f in model.features if f.gauges_only] if model.ml is not None else []


def _classifier(model: m.Model) -> bool:
    return model.ml is not None and model.task == "classification"


def predicts(model: m.Model) -> bool:
    """Class shares and skew: a `predictions:` section and a class counter."""
    return _classifier(model) and model.ml.predictions and model.metrics.predicted_class is not None  # type: ignore[union-attr]


def confidence(model: m.Model) -> bool:
    return _classifier(model) and model.ml.predictions and model.metrics.confidence is not None  # type: ignore[union-attr]


def has_labels(model: m.Model) -> bool:
    """Per-class quality from ground truth: a `ground_truth:` section (and its counter)."""
    return _classifier(model) and model.ml.ground_truth and model.metrics.ground_truth is not None  # type: ignore[union-attr]


def regresses(model: m.Model) -> bool:
    """Residual statistics of a regression model: a `regression:` section (validation: task regression)."""
    return (model.ml is not None and model.task == "regression" and model.ml.regression
            and model.metrics.residuals is not None)


def missing(model: m.Model) -> bool:
    return bool(binned(model)) and model.metrics.feature_missing is not None


def ml_alerts(model: m.Model) -> list[str]:
    """The keys (naming.ML_ALERTS) of the ML alerts the model gets, in rule-file order."""
    ml = model.ml
    if ml is None:
        return []
    met = model.metrics
    keys = []
    if binned(model):
        keys += ["feature_drift", "feature_drift_severe", "dataset_drift"]
        if any(f.expected_range is not None for f in binned(model)):
            keys.append("out_of_range")
    if missing(model):
        keys.append("missing")
    if gauged(model):
        keys.append("out_of_range_gauges")
    if predicts(model):
        keys += [*(["prediction_drift"] if ml.class_priors else []), "prediction_skew"]
    if confidence(model):
        keys.append("low_confidence")
    if has_labels(model) and ml.no_labels_for_ms:
        keys.append("no_labels")
    if ml.retraining:
        if ml.retrain_drift_for_ms and binned(model):
            keys.append("retrain_drift")
        if ml.retrain_accuracy_floor is not None and model.task == "classification" and met.ground_truth:
            keys.append("retrain_accuracy")
        if ml.retrain_max_age_ms and met.trained_at:
            keys.append("retrain_stale")
        if ml.retrain_new_labels and met.trained_at and met.ground_truth:
            keys.append("retrain_labels")
    keys += _quality_alerts(model)
    keys += regression_alerts(model)
    # `alerting.disable`: filtered here, so the rules, tests, runbooks and dashboard links agree.
    return [k for k in keys if k not in model.disabled_ml_alerts]


def _quality_alerts(model: m.Model) -> list[str]:
    """plan/quality.py's alerts (it asks here too): after every other ML alert in the rule file."""
    ml = model.ml
    if ml is None or not confidence(model):
        return []
    return [*(["expected_accuracy_drop"] if ml.expected_accuracy is not None else []),
            *(["calibration_gap"] if has_labels(model) else [])]


def regression_alerts(model: m.Model) -> list[str]:
    """plan/regression.py's alerts: one per maximum the spec sets, when its sum is exposed."""
    ml, met = model.ml, model.metrics
    if ml is None or not regresses(model):
        return []
    return [*(["regression_mae"] if ml.mae_max is not None and met.residual_abs is not None else []),
            *(["regression_rmse"] if ml.rmse_max is not None and met.residual_squared is not None else []),
            *(["regression_mape"] if ml.mape_max is not None and records_mape(model) else [])]


def records_mape(model: m.Model) -> bool:
    """MAPE is recorded: the service counts sum |e|/|actual| and the labels with an actual other than 0."""
    met = model.metrics
    return regresses(model) and met.residual_relative is not None and met.residual_relative_count is not None
