"""The ML-signal rule groups of a model's rules, as records: baselines as constant series, feature
and prediction drift, data quality, confidence, per-class quality, and the retraining triggers.

Groups are evaluated in file order (baselines first), so a rule may read a series that an
earlier group recorded at the same evaluation.
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import alert_text, quality, regression
from mlmon_codegen.plan import drift as d
from mlmon_codegen.plan.records import Alert, Group, Recording
from mlmon_codegen.plan.signals import binned, confidence, gauged, has_labels, missing, ml_alerts, predicts
from mlmon_codegen.plan.sli import series
from mlmon_codegen.spec import model as m

# One series per feature, or per class: the labels these recordings keep (their series estimate).
FEATURE = (naming.FEATURE_LABEL,)
CLASS = (naming.CLASS_LABEL,)


def _const(value: float) -> str:
    return q.call("vector", q.number(round(value, 12)))


def _model_label(model: m.Model) -> dict[str, str]:
    return {naming.MODEL_LABEL: model.name}


def _sel(name: str, model: m.Model, **extra: str) -> str:
    return q.selector(name, {**_model_label(model), **extra})


def _numeric(model: m.Model) -> list[m.Feature]:
    return [f for f in binned(model) if f.kind == "numeric"]


def _tested(model: m.Model, test: str) -> list[str]:
    return [f.name for f in binned(model) if f.drift_test == test]


def _sel_features(name: str, model: m.Model, names: list[str]) -> str:
    return q.selector(name, [(naming.MODEL_LABEL, "=", model.name),
                             (naming.FEATURE_LABEL, "=~", "|".join(map(q.regex_escape, names)))])


MF = [naming.MODEL_LABEL, naming.FEATURE_LABEL]


def drift_verdict(model: m.Model, threshold: float) -> str:
    """The features that drifted: PSI above `threshold` and, for a tested feature, its test
    significant at drift.alpha (statistic above the critical value). The value is the PSI."""
    w = model.ml.drift.window_ms if model.ml else 0
    parts = []
    for test, stat, crit in (("chi2", naming.feature_chi2(w), naming.BASELINE_FEATURE_CHI2_CRITICAL),
                             ("ks", naming.feature_ks(w), naming.feature_ks_critical(w)), ("psi", "", "")):
        names = _tested(model, test)
        if not names:
            continue
        over = q.compare(_sel_features(naming.feature_psi(w), model, names), ">", q.number(threshold))
        if test != "psi":
            over = q.set_op(over, "and", q.paren(d.significant(_sel(stat, model), _sel(crit, model), MF)),
                            on_labels=MF)
        parts.append(over)
    return parts[0] if len(parts) == 1 else q.any_of(*parts)


# ---------------------------------------------------------------- recording rules


def baseline_rules(model: m.Model) -> list[Recording]:
    ml = model.ml
    assert ml is not None
    w = ml.drift.window_ms
    rules = []
    for f in binned(model):
        for b in d.feature_bins(model, f, w):
            rules.append(Recording(naming.BASELINE_FEATURE_BIN_SHARE, _const(b.baseline), b.labels))
        for edge, cdf in zip(f.edges, d.baseline_cdf(f), strict=False):
            rules.append(Recording(naming.BASELINE_FEATURE_CDF, _const(cdf), {
                **_model_label(model), naming.FEATURE_LABEL: f.name, naming.LE_LABEL: q.number(edge)}))
        tested = {**_model_label(model), naming.FEATURE_LABEL: f.name}
        if f.drift_test != "psi":
            rules.append(Recording(naming.BASELINE_FEATURE_SAMPLES, _const(f.reference_count), tested))
        if f.drift_test == "chi2":
            df = d.chi2_df(f.shares if f.kind == "numeric" else f.category_shares)
            rules.append(Recording(naming.BASELINE_FEATURE_CHI2_CRITICAL, _const(d.chi2_critical(ml.drift.alpha, df)),
                                   tested))
    if ml.class_priors and predicts(model):
        for b in d.class_bins(model, w):
            rules.append(Recording(naming.BASELINE_PREDICTION_CLASS_SHARE, _const(b.baseline), b.labels))
        if ml.prediction_test == "chi2":
            labels = _model_label(model)
            critical = d.chi2_critical(ml.drift.alpha, d.chi2_df(s for _, s in ml.class_priors))
            rules.append(Recording(naming.BASELINE_PREDICTION_SAMPLES, _const(ml.class_reference_count), labels))
            rules.append(Recording(naming.BASELINE_PREDICTION_CHI2_CRITICAL, _const(critical), labels))
    return rules


def feature_rules(model: m.Model) -> list[Recording]:
    ml = model.ml
    assert ml is not None
    w = ml.drift.window_ms
    rules = []
    for f in binned(model):
        labels = {**_model_label(model), naming.FEATURE_LABEL: f.name}
        rules.append(Recording(naming.feature_samples(w), d.feature_samples(model, f, w), labels))
        for edge in f.edges:
            rules.append(Recording(naming.feature_cdf(w), d.cdf_now(model, f, edge, w),
                                 {**labels, naming.LE_LABEL: q.number(edge)}))
        for b in d.feature_bins(model, f, w):
            rules.append(Recording(naming.feature_bin_share(w), b.share, b.labels))
        if f.expected_range is not None:
            rules.append(Recording(naming.feature_out_of_range_share(w),
                                 d.out_of_range_share(model, f, w), labels))
        if model.metrics.feature_missing is not None:
            rules.append(Recording(naming.feature_missing_share(w), d.missing_share(model, f, w), labels))
    if not binned(model):
        return rules
    by = [naming.MODEL_LABEL, naming.FEATURE_LABEL]
    rules.append(Recording(naming.feature_psi(w), d.psi(
        _sel(naming.feature_bin_share(w), model),
        _sel(naming.BASELINE_FEATURE_BIN_SHARE, model), by, ml.drift.epsilon), {}, FEATURE))
    if _numeric(model):
        rules.append(Recording(naming.feature_ks(w), d.ks(
            _sel(naming.feature_cdf(w), model),
            _sel(naming.BASELINE_FEATURE_CDF, model), by), {}, FEATURE))
    if _tested(model, "chi2"):
        names = _tested(model, "chi2")
        rules.append(Recording(naming.feature_chi2(w), d.chi2(
            _sel_features(naming.feature_bin_share(w), model, names),
            _sel_features(naming.BASELINE_FEATURE_BIN_SHARE, model, names),
            _sel_features(naming.feature_samples(w), model, names),
            _sel_features(naming.BASELINE_FEATURE_SAMPLES, model, names), by), {}, FEATURE))
    if _tested(model, "ks"):
        names = _tested(model, "ks")
        rules.append(Recording(naming.feature_ks_critical(w), d.ks_critical(
            d.ks_coefficient(ml.drift.alpha), _sel_features(naming.feature_samples(w), model, names),
            _sel_features(naming.BASELINE_FEATURE_SAMPLES, model, names)), {}, FEATURE))
    rules.append(Recording(naming.drifted_features_share(w), d.drifted_share(
        _sel(naming.feature_psi(w), model),
        _sel(naming.feature_samples(w), model), drift_verdict(model, ml.drift.psi_warn), ml.drift.min_samples), {}))
    return rules


def prediction_rules(model: m.Model) -> list[Recording]:
    ml = model.ml
    assert ml is not None
    w = ml.drift.window_ms
    labels = _model_label(model)
    rules = []
    sw, cw = ml.skew_window_ms, ml.confidence_window_ms
    if predicts(model):
        rules.append(Recording(naming.ml_predictions(w), d.prediction_samples(model, w), labels))
        if ml.class_priors:
            for b in d.class_bins(model, w):
                rules.append(Recording(naming.prediction_class_share(w), b.share, b.labels))
            rules.append(Recording(naming.prediction_psi(w), d.psi(
                _sel(naming.prediction_class_share(w), model),
                _sel(naming.BASELINE_PREDICTION_CLASS_SHARE, model), [naming.MODEL_LABEL], ml.drift.epsilon), {}))
            if ml.prediction_test == "chi2":
                rules.append(Recording(naming.prediction_chi2(w), d.chi2(
                    _sel(naming.prediction_class_share(w), model),
                    _sel(naming.BASELINE_PREDICTION_CLASS_SHARE, model), _sel(naming.ml_predictions(w), model),
                    _sel(naming.BASELINE_PREDICTION_SAMPLES, model), [naming.MODEL_LABEL]), {}))
        if sw != w:
            rules.append(Recording(naming.ml_predictions(sw), d.prediction_samples(model, sw), labels))
        rules.append(Recording(naming.top_class_share(sw), d.top_class_share(model, sw), labels))
    if confidence(model):
        rules.append(Recording(naming.confidence_quantile(cw),
                               d.confidence_quantile(model, ml.confidence_quantile, cw),
                               {**labels, naming.QUANTILE_LABEL: q.number(ml.confidence_quantile)}))
        rules.append(Recording(naming.confidence_below_floor_share(cw),
                               d.confidence_below(model, ml.confidence_floor, cw),
                               {**labels, naming.LE_LABEL: q.number(ml.confidence_floor)}))
    return rules


def ground_truth_rules(model: m.Model) -> list[Recording]:
    ml = model.ml
    assert ml is not None
    labels = _model_label(model)
    gw, aw = ml.ground_truth_window_ms, ml.retrain_accuracy_window_ms
    precision, recall, f1 = d.precision_recall_f1(model, gw)
    rules = [
        Recording(naming.class_precision(gw), precision, labels, CLASS),
        Recording(naming.class_recall(gw), recall, labels, CLASS),
        Recording(naming.class_f1(gw), f1, labels, CLASS),
        Recording(naming.ml_labels(gw), d.labels_total(model, gw), labels),
        Recording(naming.ml_accuracy(gw), d.accuracy(model, gw), labels),
    ]
    if aw != gw:
        rules.append(Recording(naming.ml_labels(aw), d.labels_total(model, aw), labels))
        rules.append(Recording(naming.ml_accuracy(aw), d.accuracy(model, aw), labels))
    for quantile in d.LABEL_LAG_QUANTILES if model.metrics.label_lag is not None else ():
        rules.append(Recording(naming.label_lag_seconds(gw), d.label_lag_quantile(model, quantile, gw),
                             {**labels, naming.QUANTILE_LABEL: q.number(quantile)}))
    return rules


# ---------------------------------------------------------------- alerts


_alert = alert_text.ml_alert


def _guarded_verdict(verdict: str, samples: str, minimum: int) -> str:
    return q.set_op(q.paren(verdict), "and", q.compare(samples, ">=", minimum), on_labels=MF)


def _guarded(value: str, op: str, threshold: float, samples: str, minimum: int, on: tuple[str, ...]) -> str:
    """`value op threshold`, where enough observations in the window make it mean anything."""
    return q.set_op(q.compare(value, op, q.number(threshold)), "and", q.compare(samples, ">=", minimum), on_labels=on)


VALUE_3F, VALUE_PCT = alert_text.VALUE_3F, alert_text.VALUE_PCT
FEATURE_NAME = "{{ $labels.feature }}"


def drift_test_note(model: m.Model) -> str:
    """Per feature, as a template on the alert's `feature` label: its test, the statistic now and the
    critical value it must pass at drift.alpha, and the training values m behind it."""
    ml = model.ml
    assert ml is not None
    dr, w = ml.drift, ml.drift.window_ms
    cases = []
    for f in binned(model):
        sel = {naming.MODEL_LABEL: model.name, naming.FEATURE_LABEL: f.name}
        if f.drift_test == "ks":  # the critical value c(alpha) sqrt(1/n + 1/m) moves with this window's n
            text = (f"KS at the bin edges: D {alert_text.template_value(q.selector(naming.feature_ks(w), sel))} "
                    f"against {alert_text.template_value(q.selector(naming.feature_ks_critical(w), sel))}")
        elif f.drift_test == "chi2":
            df = d.chi2_df(f.shares if f.kind == "numeric" else f.category_shares)
            text = (f"chi-square on the bins: X2 {alert_text.template_value(q.selector(naming.feature_chi2(w), sel))} "
                    f"against {d.chi2_critical(dr.alpha, df):.4g} ({df} df)")
        else:
            text = "PSI alone (the baseline has no row count: no significance test)"
        cases.append((f.name, f"{text}, m = {f.reference_count}" if f.drift_test != "psi" else text))
    return alert_text.per_label(cases, naming.FEATURE_LABEL)


def alert_rules(model: m.Model, project: m.Project) -> list[Alert]:
    ml = model.ml
    assert ml is not None
    dr, w = ml.drift, ml.drift.window_ms
    win = format_ms(w)
    mf = (naming.MODEL_LABEL, naming.FEATURE_LABEL)
    samples = _sel(naming.feature_samples(w), model)
    share = _sel(naming.drifted_features_share(w), model)
    out: list[Alert] = []
    tested = (f", and its two-sample test rejects at alpha {dr.alpha:g}"
              if any(f.drift_test != "psi" for f in binned(model)) else "")
    if binned(model):
        note = drift_test_note(model)
        alpha = f" and the test significant at alpha {dr.alpha:g}" if tested else ""
        out.append(_alert(
            model, project, "feature_drift",
            _guarded_verdict(drift_verdict(model, dr.psi_warn), samples, dr.min_samples),
            "warning", dr.for_ms, f"{model.name}: a feature's distribution drifted from training",
            f"PSI of feature {FEATURE_NAME} is {VALUE_3F} over {win} "
            f"(warns above {dr.psi_warn:g}, pages above {dr.psi_page:g}){tested}.",
            extra={"drift_test": note, "threshold": f"PSI above {dr.psi_warn:g}{alpha}"}))
        out.append(_alert(
            model, project, "feature_drift_severe",
            _guarded_verdict(drift_verdict(model, dr.psi_page), samples, dr.min_samples),
            "critical", dr.for_ms, f"{model.name}: a feature's distribution changed severely",
            f"PSI of feature {FEATURE_NAME} is {VALUE_3F} over {win}, "
            f"above the paging threshold {dr.psi_page:g}{tested}.",
            extra={"drift_test": note, "threshold": f"PSI above {dr.psi_page:g}{alpha}"}))
        out.append(_alert(
            model, project, "dataset_drift", q.compare(share, ">=", q.number(dr.drifted_share)), "warning", dr.for_ms,
            f"{model.name}: many features drifted at once",
            f"{VALUE_PCT} of the features (with at least {dr.min_samples} samples in "
            f"{win}) have PSI above {dr.psi_warn:g}{tested}; the threshold is {percent(dr.drifted_share)}."))
        ranged = [f.name for f in binned(model) if f.expected_range is not None]
        if ranged:
            oor = _sel(naming.feature_out_of_range_share(w), model)
            out.append(_alert(
                model, project, "out_of_range",
                _guarded(oor, ">", ml.out_of_range_max, samples, dr.min_samples, mf),
                "warning", dr.for_ms, f"{model.name}: feature values outside the expected range",
                f"{VALUE_PCT} of feature {FEATURE_NAME} values over {win} "
                f"are outside its expected range (limit {percent(ml.out_of_range_max)})."))
    if missing(model):
        miss = naming.feature_missing_share(w)
        strict = [f.name for f in binned(model) if not f.allow_missing]
        lenient = [f.name for f in binned(model) if f.allow_missing]
        parts = []
        for names, limit in ((strict, 0.0), (lenient, ml.missing_max)):
            if names:
                sel = q.selector(miss, [(naming.MODEL_LABEL, "=", model.name),
                                        (naming.FEATURE_LABEL, "=~", "|".join(map(q.regex_escape, names)))])
                parts.append(q.compare(sel, ">", q.number(limit)))
        out.append(_alert(
            model, project, "missing", q.any_of(*parts), "warning", dr.for_ms,
            f"{model.name}: feature values are missing",
            f"{VALUE_PCT} of feature {FEATURE_NAME} values over {win} are "
            f"missing (features that allow missing values may miss {percent(ml.missing_max)})."))
    if gauged(model):
        out.append(_alert(
            model, project, "out_of_range_gauges", d.gauges_out_of_range(model, gauged(model), w), "warning", dr.for_ms,
            f"{model.name}: feature values outside the expected range",
            f"Feature {FEATURE_NAME} reached {VALUE_3F} within {win}, outside its expected range (the service "
            "exposes only its min and max, so the share of such values is unknown)."))
    out.extend(prediction_alerts(model, project))
    out.extend(confidence_alerts(model, project))
    if has_labels(model) and ml.no_labels_for_ms:
        out.append(_alert(
            model, project, "no_labels", d.no_labels(model, ml.no_labels_for_ms), "warning", model.no_data_for_ms,
            f"{model.name}: no ground-truth labels arrive",
            f"No label arrived in {format_ms(ml.no_labels_for_ms)} while the model served predictions: the "
            "label pipeline is probably broken, and accuracy alerts are blind."))
    if ml.retraining:
        out.extend(retrain_rules(model, project))
    return out


def prediction_alerts(model: m.Model, project: m.Project) -> list[Alert]:
    ml = model.ml
    assert ml is not None
    dr, w = ml.drift, ml.drift.window_ms
    win = format_ms(w)
    mo = (naming.MODEL_LABEL,)
    predictions = _sel(naming.ml_predictions(w), model)
    out: list[Alert] = []
    if not predicts(model):
        return out
    if ml.class_priors:
        ppsi = _sel(naming.prediction_psi(w), model)
        verdict = _guarded(ppsi, ">", dr.psi_warn, predictions, dr.min_samples, mo)
        tested, extra = "", {"threshold": f"PSI above {dr.psi_warn:g}"}
        if ml.prediction_test == "chi2":
            # The same verdict as a feature's: the test significant at alpha and PSI past its threshold.
            verdict = q.set_op(q.paren(verdict), "and", q.paren(d.significant(
                _sel(naming.prediction_chi2(w), model), _sel(naming.BASELINE_PREDICTION_CHI2_CRITICAL, model),
                list(mo))), on_labels=mo)
            tested = (f", and the chi-square test of the class counts against the priors "
                      f"({ml.class_reference_count} training rows) rejects at alpha {dr.alpha:g}")
            df = d.chi2_df(s for _, s in ml.class_priors)
            stat = alert_text.template_value(_sel(naming.prediction_chi2(w), model))
            extra = {"threshold": f"PSI above {dr.psi_warn:g} and the test significant at alpha {dr.alpha:g}",
                     "drift_test": f"chi-square on the class counts: X2 {stat} against "
                                   f"{d.chi2_critical(dr.alpha, df):.4g} ({df} df), m = {ml.class_reference_count}"}
        out.append(_alert(
            model, project, "prediction_drift", verdict,
            "warning", dr.for_ms, f"{model.name}: predicted classes drifted from the training priors",
            f"PSI of the predicted class shares against the training priors is "
            f"{VALUE_3F} over {win} (threshold {dr.psi_warn:g}){tested}.", extra=extra))
    sw = ml.skew_window_ms
    top = _sel(naming.top_class_share(sw), model)
    out.append(_alert(
        model, project, "prediction_skew",
        _guarded(top, ">", ml.skew_share, _sel(naming.ml_predictions(sw), model),
                 dr.min_samples, mo),
        "warning", sw, f"{model.name}: predictions heavily skewed to one class",
        f"Class {{{{ $labels.{model.metrics.class_label} }}}} takes {VALUE_PCT} of the predictions over "
        f"{format_ms(sw)} (limit {percent(ml.skew_share)})."))
    return out


def confidence_alerts(model: m.Model, project: m.Project) -> list[Alert]:
    ml = model.ml
    assert ml is not None
    if not confidence(model):
        return []
    dr, cw = ml.drift, ml.confidence_window_ms
    # Without a class counter the recorded prediction count does not exist; the histogram counts them.
    predictions = (_sel(naming.ml_predictions(dr.window_ms), model) if predicts(model)
                   else d.confidence_total(model, dr.window_ms))
    cq = _sel(naming.confidence_quantile(cw), model)
    on = (naming.MODEL_LABEL,) if predicts(model) else ()  # the histogram's count carries no model label
    return [_alert(
        model, project, "low_confidence",
        _guarded(cq, "<", ml.confidence_threshold, predictions, dr.min_samples, on),
        "warning", cw, f"{model.name}: prediction confidence is low",
        f"{percent(ml.confidence_quantile)} of the predictions over {format_ms(cw)} have a confidence "
        f"below {VALUE_3F} (threshold {ml.confidence_threshold:g}).")]


def retrain_rules(model: m.Model, project: m.Project) -> list[Alert]:
    """Alerts labelled action="retrain", severity="info": Alertmanager routes them to a CI webhook."""
    ml = model.ml
    assert ml is not None
    dr, w = ml.drift, ml.drift.window_ms
    out: list[Alert] = []
    met = model.metrics
    if ml.retrain_drift_for_ms and binned(model):
        share = _sel(naming.drifted_features_share(w), model)
        out.append(_alert(
            model, project, "retrain_drift", q.compare(share, ">=", q.number(dr.drifted_share)), "info",
            ml.retrain_drift_for_ms, f"{model.name}: retrain, the input data drifted for a sustained time",
            f"{VALUE_PCT} of the features have drifted for "
            f"{format_ms(ml.retrain_drift_for_ms)}.", retrain=True))
    if ml.retrain_accuracy_floor is not None and model.task == "classification" and met.ground_truth is not None:
        aw = ml.retrain_accuracy_window_ms
        acc = _sel(naming.ml_accuracy(aw), model)
        labels = _sel(naming.ml_labels(aw), model)
        out.append(_alert(
            model, project, "retrain_accuracy",
            _guarded(acc, "<", ml.retrain_accuracy_floor, labels, ml.min_labels,
                     (naming.MODEL_LABEL,)),
            "info", dr.for_ms, f"{model.name}: retrain, accuracy is below the floor",
            f"Accuracy over {format_ms(aw)} is {VALUE_PCT}, below the retraining floor "
            f"{percent(ml.retrain_accuracy_floor)}.", retrain=True))
    if ml.retrain_max_age_ms and met.trained_at is not None:
        age = ml.retrain_max_age_ms // 1000
        out.append(_alert(
            model, project, "retrain_stale", q.compare(d.model_age_seconds(model), ">", age), "info", None,
            f"{model.name}: retrain, the model is stale",
            f"The model was trained {{{{ $value | humanizeDuration }}}} ago; the limit is "
            f"{format_ms(ml.retrain_max_age_ms)}.", retrain=True))
    if ml.retrain_new_labels and met.trained_at is not None and met.ground_truth is not None:
        out.append(_alert(
            model, project, "retrain_labels",
            q.compare(_sel(naming.ML_LABELS_SINCE_TRAINING, model), ">=", ml.retrain_new_labels), "info", None,
            f"{model.name}: retrain, enough new labelled rows arrived",
            f"{{{{ $value }}}} labelled rows arrived since the model was trained (trigger: "
            f"{ml.retrain_new_labels}).", retrain=True))
    return out


def thresholds(model: m.Model) -> list[tuple[str, float]]:
    """(name, value) of every threshold the model's ML alerts compare with, for the shared
    dashboard's lines: the one dashboard of every model cannot hold any model's numbers."""
    ml = model.ml
    assert ml is not None
    shown = set(ml_alerts(model))
    dr = ml.drift
    out: list[tuple[str, float | None]] = []
    if shown & {"feature_drift", "feature_drift_severe", "prediction_drift"}:
        out += [("psi_warn", dr.psi_warn), ("psi_page", dr.psi_page)]
    if shown & {"dataset_drift", "retrain_drift"}:
        out.append(("drifted_share", dr.drifted_share))
    if "out_of_range" in shown:
        out.append(("out_of_range_max", ml.out_of_range_max))
    if "missing" in shown:
        out.append(("missing_max", ml.missing_max))
    if "prediction_skew" in shown:
        out.append(("skew_share", ml.skew_share))
    if "low_confidence" in shown:
        out.append(("confidence_threshold", ml.confidence_threshold))
    if "expected_accuracy_drop" in shown and ml.expected_accuracy is not None:
        out.append(("expected_accuracy_floor", ml.expected_accuracy - ml.expected_accuracy_drop))
    if "calibration_gap" in shown:
        out.append(("calibration_gap_max", ml.calibration_gap_max))
    if "retrain_accuracy" in shown:
        out.append(("accuracy_floor", ml.retrain_accuracy_floor))
    if "retrain_stale" in shown and ml.retrain_max_age_ms:
        out.append(("max_age_seconds", ml.retrain_max_age_ms / 1000))
    if "retrain_labels" in shown:
        out.append(("new_labels", ml.retrain_new_labels))
    for key, name, value in (("regression_mae", "mae_max", ml.mae_max), ("regression_rmse", "rmse_max", ml.rmse_max),
                             ("regression_mape", "mape_max", ml.mape_max)):
        if key in shown:
            out.append((name, value))
    return [(name, float(value)) for name, value in out if value is not None]


def threshold_rules(model: m.Model) -> list[Recording]:
    return [Recording(naming.ML_THRESHOLD, _const(value), {**_model_label(model), naming.THRESHOLD_LABEL: name})
            for name, value in thresholds(model)]


def training_rules(model: m.Model) -> list[Recording]:
    """The serving model's training time and the labels since, recorded once for the alerts and
    every dashboard (the count is a subquery over weeks: one evaluation, not one per reader)."""
    ml, shown = model.ml, set(ml_alerts(model))
    if ml is None or not shown & {"retrain_stale", "retrain_labels"}:
        return []
    out = [Recording(naming.ML_TRAINED_TIMESTAMP, q.agg("max", series(model, "trained_at")), _model_label(model))]
    if "retrain_labels" in shown:
        lookback = ml.retrain_max_age_ms or 30 * 86_400_000
        out.append(Recording(naming.ML_LABELS_SINCE_TRAINING, d.labels_since_training(model, lookback),
                             _model_label(model)))
    return out


def groups(model: m.Model, project: m.Project) -> list[Group]:
    """The ML groups of the model's rules; none when the spec asks for no ML signals."""
    if model.ml is None:
        return []
    out = []
    base = baseline_rules(model)
    if base:
        out.append(Group(naming.group(model.name, "ml-baseline"), tuple(base)))
    if binned(model):
        out.append(Group(naming.group(model.name, "ml-features"), tuple(feature_rules(model))))
    predictions = prediction_rules(model)  # class shares and confidence
    if predictions:
        out.append(Group(naming.group(model.name, "ml-predictions"), tuple(predictions)))
    if has_labels(model):  # the confusion counter
        out.append(Group(naming.group(model.name, "ml-ground-truth"), tuple(ground_truth_rules(model))))
    estimated = quality.rules(model)  # after ground truth: the calibration gap reads its accuracy
    if estimated:
        out.append(Group(naming.group(model.name, "ml-quality"), tuple(estimated)))
    residuals = regression.rules(model)  # a regression model's MAE, RMSE and mean error
    if residuals:
        out.append(Group(naming.group(model.name, regression.GROUP), tuple(residuals)))
    wanted = set(ml_alerts(model))  # less the ones `alerting.disable` names
    alerts = [a for a in [*alert_rules(model, project), *quality.alerts(model, project),
                          *regression.alerts(model, project)] if a.kind in wanted]
    if alerts:  # the recordings first: the alerts read them in the same evaluation
        out.append(Group(naming.group(model.name, "ml-alerts"),
                         (*threshold_rules(model), *training_rules(model), *alerts)))
    return out
