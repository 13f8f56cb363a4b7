"""Which dashboard panel each alert opens, by key, decided from the model alone.

Every panel and row of a dashboard has a key that says what it shows (`slo/<slo>/burn-tiers`,
`traffic/targets-up`, `drift/psi`), and its id comes from the key (panel_ids), so ids and the
`viewPanel` links of alerts stay put when other panels come or go. The panels that show an alert
take their key from the functions here, and an alert's link finds its panel's key with the same
functions, so the link and the panel cannot disagree. This module sits below the dashboards
(targets/grafana), so rendering rules never needs the dashboards, nor grafanalib.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from mlmon_codegen.core import naming
from mlmon_codegen.plan import burnrate, signals, sli
from mlmon_codegen.spec import model as m

# What the two panels an SLO's alerts open show: the burn of every tier (burn-rate alerts) and
# the SLI over the period (the no-data alert: an empty SLI is what it reports).
BURN_TIERS = "burn-tiers"
SLI = "sli"
# ModelDown opens the scrape targets, or the traffic when no known job scrapes the model.
TARGETS_UP = "traffic/targets-up"
TRAFFIC = "traffic/predictions"

# The panel each ML alert opens, by the alert's key in naming.ML_ALERTS.
_ML_ALERT_PANELS = {
    "feature_drift": "drift/psi", "feature_drift_severe": "drift/psi",
    "dataset_drift": "drift/drifted-features", "out_of_range": "drift/out-of-range", "missing": "drift/missing",
    "out_of_range_gauges": "drift/gauge-range",
    "prediction_drift": "drift/prediction-psi", "prediction_skew": "drift/top-class-share",
    "low_confidence": "predictions/confidence", "no_labels": "ground-truth/labels-per-second",
    "retrain_drift": "retraining/drifted-features", "retrain_accuracy": "retraining/accuracy",
    "retrain_stale": "retraining/model-age", "retrain_labels": "retraining/labels-since-training",
    "expected_accuracy_drop": "predictions/expected-accuracy", "calibration_gap": "ground-truth/calibration-gap",
    "regression_mae": "regression/errors", "regression_rmse": "regression/errors",
    "regression_mape": "regression/mape",
}
# The regression row's panels no alert opens, beside regression/errors and regression/mape.
REGRESSION_BIAS, REGRESSION_QUANTILES, REGRESSION_LABELS = (
    "regression/mean-error", "regression/residual-quantiles", "regression/labels")
_ML_ALERT_KEYS = {name: key for key, name in naming.ML_ALERTS.items()}


def slo_panel(slo: str, what: str) -> str:
    """The key of a panel about one SLO; SLO names hold no `/`, so no two SLOs' keys meet."""
    return f"slo/{slo}/{what}"


def ml_alert_panel(alert_key: str) -> str:
    """The key of the panel that shows the ML alert `naming.ML_ALERTS[alert_key]`."""
    return _ML_ALERT_PANELS[alert_key]


def alert_panel(model: m.Model, alert: str) -> str | None:
    """The key of the panel an alert's dashboard link opens, from the alert's name and SLO;
    None for a name that none of the model's generated alerts can have."""
    prefix = model.alert_prefix
    if alert == naming.model_down_alert(prefix):
        return _model_down_panel(model)
    for slo in model.slos:
        if alert == naming.no_data_alert(slo.name, prefix):
            return slo_panel(slo.name, SLI)
        if any(alert == naming.burn_alert(slo.name, t.name, prefix) for t in burnrate.alert_tiers(slo)):
            return slo_panel(slo.name, BURN_TIERS)
    if not alert.startswith(prefix):
        return None
    key = _ML_ALERT_KEYS.get(alert[len(prefix):])
    return ml_alert_panel(key) if key is not None else None


def _model_down_panel(model: m.Model) -> str:
    return TARGETS_UP if sli.scrape_job(model) else TRAFFIC


def linkable(model: m.Model) -> frozenset[str]:
    """Every key alert_panel can return for this model, whether its dashboard draws it or not."""
    return frozenset({_model_down_panel(model), *_ML_ALERT_PANELS.values(),
                      *(slo_panel(s.name, what) for s in model.slos for what in (SLI, BURN_TIERS))})


def alert_panels(model: m.Model) -> tuple[str, ...]:
    """The keys of the panels alerts open that the model's dashboard draws, sorted.

    The same conditions the dashboard's rows use to draw those panels; dashboards.py refuses to
    render a dashboard whose panels disagree with this, so a link never opens a missing panel.
    """
    keys = {slo_panel(s.name, what) for s in model.slos for what in (SLI, BURN_TIERS)}
    if sli.scrape_job(model):
        keys.add(TARGETS_UP)
    elif model.metrics.requests is not None:  # the traffic row draws it
        keys.add(TRAFFIC)
    keys |= {ml_alert_panel(k) for k in signals.ml_alerts(model)}
    if signals.has_labels(model):  # the ground-truth row draws the label rate, with or without its alert
        keys.add(ml_alert_panel("no_labels"))
    if signals.confidence(model):  # the expected accuracy, with or without a training value to alert on
        keys.add(ml_alert_panel("expected_accuracy_drop"))
        if signals.has_labels(model):
            keys.add(ml_alert_panel("calibration_gap"))
    if signals.regresses(model):  # the regression row draws MAE and RMSE, with or without a maximum
        keys.add(ml_alert_panel("regression_mae"))
        if signals.records_mape(model):  # and MAPE wherever it is recorded
            keys.add(ml_alert_panel("regression_mape"))
    return tuple(sorted(keys))


def panel_ids(model: m.Model, keys: Iterable[str] = ()) -> dict[str, int]:
    """Ids for the model's dashboard: the panels alerts open (alert_panels) and the other `keys`.

    naming.panel_ids' collision rule in this order: the panels alerts open first, sorted, then
    the rest, sorted. An alert panel's id so depends on the model's alert panels alone, and the
    links, built without the dashboard, name the ids the dashboard has."""
    linked = alert_panels(model)
    first = set(linked)
    return naming.panel_ids([*linked, *sorted(k for k in keys if k not in first)])


@lru_cache(maxsize=256)
def _alert_panel_ids(model: m.Model) -> dict[str, int]:
    return panel_ids(model)  # cached: every alert of a model asks (never mutated; private)


def alert_panel_id(model: m.Model, alert: str) -> int | None:
    """The id of the panel an alert's dashboard link opens; None when the model's dashboard has none."""
    key = alert_panel(model, alert)
    return _alert_panel_ids(model).get(key) if key is not None else None


# ---------------------------------------------------------------- the shared model dashboard
# `dashboards: shared` draws one dashboard for every model, with the same panels whatever the
# fleet, so its ids are constants and an alert's link needs no dashboard. SLO panels sit in a row
# repeated per SLO (its `slo` variable): their keys name no SLO, the link sets the variable.
FIRING = "alerts/firing"
SHARED_SLO_PANELS = ("objective", SLI, "budget-left", "error-ratio", BURN_TIERS)
SHARED_KEYS = (
    "model", FIRING, TARGETS_UP, "slos", *(f"slo/{what}" for what in SHARED_SLO_PANELS),
    "drift", "drift/psi", "drift/ks", "drift/drifted-features", "drift/out-of-range", "drift/missing",
    "drift/prediction-psi", "drift/top-class-share",
    "predictions", "predictions/confidence", "predictions/expected-accuracy",
    "ground-truth", "ground-truth/accuracy", "ground-truth/labels-per-second", "ground-truth/calibration-gap",
    "regression", "regression/errors", REGRESSION_BIAS,
    "retraining", "retraining/model-age", "retraining/labels-since-training", "retraining/accuracy",
    "retraining/drifted-features",
    # Last, so the ids before them stay: the row repeated per feature (`feature` variable).
    "features", "feature/psi", "feature/ks", "feature/out-of-range", "feature/missing",
    # After them, for the same reason: the regression panels added since.
    "regression/mape", REGRESSION_QUANTILES, REGRESSION_LABELS,
)


def shared_slo_panel(what: str) -> str:
    return f"slo/{what}"


@lru_cache(maxsize=1)
def shared_panel_ids() -> dict[str, int]:
    return naming.panel_ids(SHARED_KEYS)  # cached: a constant (never mutated; private)


def shared_alert_panel(model: m.Model, alert: str) -> tuple[str, str | None] | None:
    """The key of the shared dashboard's panel an alert opens, and the SLO its row must show; None
    for a name none of the model's alerts can have. An alert whose own panel reads raw series
    (their names differ per model, so the shared dashboard cannot draw them) opens the model's
    firing alerts, which list it."""
    key = alert_panel(model, alert)
    if key is None:
        return None
    for slo in model.slos:
        for what in (SLI, BURN_TIERS):
            if key == slo_panel(slo.name, what):
                return shared_slo_panel(what), slo.name
    if key == TARGETS_UP and sli.scrape_job(model):
        return TARGETS_UP, None
    return (key if key in SHARED_KEYS else FIRING), None


def shared_alert_link(model: m.Model, alert: str) -> tuple[int, str | None] | None:
    """(panel id, SLO) of the shared dashboard for an alert's link; None as shared_alert_panel."""
    found = shared_alert_panel(model, alert)
    return (shared_panel_ids()[found[0]], found[1]) if found is not None else None
