"""Model quality without labels (confidence-based performance estimation), as records.

A calibrated classifier's top-class confidence is the probability that its prediction is right,
so the mean top-class confidence over a window is the accuracy to expect there, before any label
arrives (NannyML calls this CBPE). The confidence histogram's `_sum` and `_count` give that mean
exactly: increase(_sum) / increase(_count), no bucket interpolation. It is compared with the
training value (`predictions.expected_accuracy`), and, once labels arrive, with the realised
accuracy: their gap says how far the confidences can be trusted as an estimate.
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import alert_text
from mlmon_codegen.plan import drift as d
from mlmon_codegen.plan.records import Alert, Recording
from mlmon_codegen.plan.signals import confidence, has_labels, ml_alerts
from mlmon_codegen.spec import model as m

QUALITY_ALERTS = ("expected_accuracy_drop", "calibration_gap")  # keys of naming.ML_ALERTS


def _model(model: m.Model) -> dict[str, str]:
    return {naming.MODEL_LABEL: model.name}


def _sel(name: str, model: m.Model) -> str:
    return q.selector(name, _model(model))


confidence_count = d.confidence_total  # predictions in the window, label-less


def expected_accuracy(model: m.Model, window_ms: int) -> str:
    """Mean top-class confidence over the window; empty, never NaN, without predictions."""
    return d.per_positive(d.confidence_sum(model, window_ms), confidence_count(model, window_ms))


def windows(model: m.Model) -> list[int]:
    """The windows the expected accuracy is recorded over: confidence's, and ground truth's for the gap."""
    ml = model.ml
    assert ml is not None
    out = [ml.confidence_window_ms]
    if has_labels(model) and ml.ground_truth_window_ms not in out:
        out.append(ml.ground_truth_window_ms)
    return out


def rules(model: m.Model) -> list[Recording]:
    """Expected accuracy per window, its training constant, and the calibration gap. They run
    after the ground-truth group, whose accuracy the gap reads at the same evaluation."""
    ml = model.ml
    if ml is None or not confidence(model):
        return []
    labels = _model(model)
    out = [Recording(naming.expected_accuracy(w), expected_accuracy(model, w), labels) for w in windows(model)]
    if ml.expected_accuracy is not None:
        out.append(Recording(naming.BASELINE_EXPECTED_ACCURACY,
                             q.call("vector", q.number(ml.expected_accuracy)), labels))
    if has_labels(model):
        gw = ml.ground_truth_window_ms
        # Positive: the model is more confident than it is right (overconfident).
        out.append(Recording(naming.calibration_gap(gw), q.binop(
            _sel(naming.expected_accuracy(gw), model), "-", _sel(naming.ml_accuracy(gw), model)), labels))
    return out


def _alert(model: m.Model, project: m.Project, key: str, expr: str, for_ms: int, summary: str,
           description: str) -> Alert:
    return alert_text.ml_alert(model, project, key, expr, "warning", for_ms, summary, description)


def alerts(model: m.Model, project: m.Project) -> list[Alert]:
    ml = model.ml
    keys = [k for k in ml_alerts(model) if k in QUALITY_ALERTS] if ml is not None else []
    if ml is None or not keys:
        return []
    out = []
    value = alert_text.VALUE_PCT
    if "expected_accuracy_drop" in keys:
        assert ml.expected_accuracy is not None
        cw = ml.confidence_window_ms
        floor = round(ml.expected_accuracy - ml.expected_accuracy_drop, 12)
        # The count is label-less (summed), hence `on()`: it guards every series of the left side.
        expr = q.set_op(q.compare(_sel(naming.expected_accuracy(cw), model), "<", q.number(floor)), "and",
                        q.compare(confidence_count(model, cw), ">=", ml.drift.min_samples), on_labels=())
        out.append(_alert(
            model, project, "expected_accuracy_drop", expr, ml.drift.for_ms,
            f"{model.name}: the accuracy its confidences predict dropped",
            f"Mean top-class confidence over {format_ms(cw)} is {value}, more than "
            f"{percent(ml.expected_accuracy_drop)} below the training value {percent(ml.expected_accuracy)}: "
            "expect lower accuracy before the labels show it."))
    if "calibration_gap" in keys:
        gw = ml.ground_truth_window_ms
        gap = _sel(naming.calibration_gap(gw), model)
        expr = q.set_op(q.compare(q.call("abs", gap), ">", q.number(ml.calibration_gap_max)), "and",
                        q.compare(_sel(naming.ml_labels(gw), model), ">=", ml.min_labels),
                        on_labels=(naming.MODEL_LABEL,))
        out.append(_alert(
            model, project, "calibration_gap", expr, ml.drift.for_ms,
            f"{model.name}: confidences no longer match accuracy",
            f"Expected and realised accuracy over {format_ms(gw)} differ by {value} (limit "
            f"{percent(ml.calibration_gap_max)}): the confidences are miscalibrated, and the expected "
            "accuracy is not a trustworthy estimate."))
    return out
