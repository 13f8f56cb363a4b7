"""Quality of a regression model from delayed ground truth, as records: MAE, RMSE, mean error, MAPE.

The service counts each labelled prediction's residual e = predicted - actual y into counters
(mlmon's runtime: ModelMetrics.record_residual): how many, sum |e|, sum e^2 and sum max(e, 0), and,
over the labels with y != 0 only, their number n' and sum |e|/|y|. Over a window the statistics
are exact ratios of increases, no bucket interpolation:

    MAE = Δsum|e| / Δn     RMSE = sqrt(Δsum e^2 / Δn)     mean error = (2 Δsum max(e, 0) - Δsum|e|) / Δn
    MAPE = Δsum(|e|/|y|) / Δn'   (a fraction; an actual of 0 has no percentage error, so n' skips it)

and the |e| histogram gives its quantiles over the window (interpolated within buckets) and the
bad events of `regression.slo` (spec/ml_validate.residual_slos).

The signed sum is not counted itself: a counter may not fall, and increase() reads a fall as a
restart. It is recovered from the positive parts, since sum e = sum e+ - sum e- and sum |e| =
sum e+ + sum e-. increase() scales every counter of one scrape by the same extrapolation factor,
so the ratios are those of the raw sums.
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import alert_text
from mlmon_codegen.plan import drift as d
from mlmon_codegen.plan.records import Alert, Recording
from mlmon_codegen.plan.signals import records_mape, regresses, regression_alerts
from mlmon_codegen.plan.sli import series
from mlmon_codegen.spec import model as m

GROUP = "ml-regression"  # naming.group's suffix for the recordings
RESIDUAL_QUANTILES = (0.5, 0.9, 0.99)  # of |e|, from the residual histogram (bucket-interpolated)


def _labels(model: m.Model) -> dict[str, str]:
    return {naming.MODEL_LABEL: model.name}


def _increase(model: m.Model, role: str, window_ms: int) -> str:
    return q.agg("sum", q.call("increase", q.rng(series(model, role), window_ms)))


def labelled(model: m.Model, window_ms: int) -> str:
    """Labelled predictions in the window (label-less, like the sums it divides)."""
    return _increase(model, "residuals", window_ms)


def _per_label(model: m.Model, numerator: str, window_ms: int) -> str:
    """numerator / count; empty, never NaN, without labels in the window."""
    return q.binop(numerator, "/", q.compare(labelled(model, window_ms), ">", 0))


def mae(model: m.Model, window_ms: int) -> str:
    return _per_label(model, _increase(model, "residual_abs", window_ms), window_ms)


def rmse(model: m.Model, window_ms: int) -> str:
    return q.call("sqrt", _per_label(model, _increase(model, "residual_squared", window_ms), window_ms))


def mape(model: m.Model, window_ms: int) -> str:
    """Empty, never NaN, while no label with a non-zero actual value is in the window."""
    count = _increase(model, "residual_relative_count", window_ms)
    return d.per_positive(_increase(model, "residual_relative", window_ms), count)


def residual_quantile(model: m.Model, quantile: float, window_ms: int) -> str:
    sel = series(model, "residual_histogram", suffix=naming.BUCKET_SUFFIX)
    return q.call("histogram_quantile", q.number(quantile), q.agg("sum", q.rate(sel, window_ms), by=["le"]))


def mean_error(model: m.Model, window_ms: int) -> str:
    """Bias: above zero the model overpredicts. 2 sum(e+) - sum|e| is sum(e)."""
    signed = q.binop(q.times(q.paren(_increase(model, "residual_positive", window_ms)), 2), "-",
                     _increase(model, "residual_abs", window_ms))
    return _per_label(model, signed, window_ms)


def rules(model: m.Model) -> list[Recording]:
    """The count and each statistic whose counters the service exposes."""
    ml, met = model.ml, model.metrics
    if ml is None or not regresses(model):
        return []
    w, labels = ml.regression_window_ms, _labels(model)
    out = [Recording(naming.regression_labels(w), labelled(model, w), labels)]
    if met.residual_abs is not None:
        out.append(Recording(naming.regression_mae(w), mae(model, w), labels))
    if met.residual_squared is not None:
        out.append(Recording(naming.regression_rmse(w), rmse(model, w), labels))
    if met.residual_abs is not None and met.residual_positive is not None:
        out.append(Recording(naming.regression_mean_error(w), mean_error(model, w), labels))
    if records_mape(model):
        out.append(Recording(naming.regression_mape(w), mape(model, w), labels))
    for quantile in RESIDUAL_QUANTILES if met.residual_histogram is not None else ():
        out.append(Recording(naming.regression_residual_quantile(w), residual_quantile(model, quantile, w),
                             {**labels, naming.QUANTILE_LABEL: q.number(quantile)}))
    return out


def alerts(model: m.Model, project: m.Project) -> list[Alert]:
    """MAE or RMSE above the spec's maximum, once enough labels are in the window to mean anything."""
    ml = model.ml
    keys = regression_alerts(model)
    if ml is None or not keys:
        return []
    w = ml.regression_window_ms
    count = q.selector(naming.regression_labels(w), _labels(model))
    out = []
    for key, name, what, limit in (("regression_mae", naming.regression_mae, "MAE", ml.mae_max),
                                   ("regression_rmse", naming.regression_rmse, "RMSE", ml.rmse_max),
                                   ("regression_mape", naming.regression_mape, "MAPE", ml.mape_max)):
        if key not in keys:
            continue
        assert limit is not None
        shown = alert_text.VALUE_PCT if key == "regression_mape" else alert_text.VALUE_4G
        bound = percent(limit) if key == "regression_mape" else f"{limit:g}"
        expr = q.set_op(q.compare(q.selector(name(w), _labels(model)), ">", q.number(limit)), "and",
                        q.compare(count, ">=", ml.regression_min_labels), on_labels=(naming.MODEL_LABEL,))
        out.append(alert_text.ml_alert(
            model, project, key, expr, "warning", ml.drift.for_ms,
            f"{model.name}: prediction error ({what}) is high",
            f"{what} over {format_ms(w)} is {shown}, above {bound} (at least "
            f"{ml.regression_min_labels} labelled predictions in the window)."))
    return out
