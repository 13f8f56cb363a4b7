"""Spec sections for ML signals (`features`, `drift`, `predictions`, `ground_truth`, `retraining`,
`regression`)
and the baseline file `<spec stem>.baseline.yaml`, as pydantic types.

Kept apart from spec/v1.py so that module stays readable; v1.ModelMonitor refers to these.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from mlmon_codegen.core import durations

FEATURE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}\Z")  # \Z: `$` lets "f\n" through


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _feature_name(value: str) -> str:
    if not FEATURE_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid feature name: letters, digits, '_', '.', '-', "
                         "starting with a letter or '_', at most 63 characters")
    return value


def _duration(value: object) -> object:
    # Before pydantic's str check, so a YAML number (`window: 30`) gets the unit hint (as in v1.py).
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        durations.parse(value)  # type: ignore[arg-type]
    return value


FeatureName = Annotated[str, AfterValidator(_feature_name)]
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*\Z")


def _metric_name(value: str) -> str:
    if not METRIC_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid Prometheus metric name")
    return value


MetricName = Annotated[str, AfterValidator(_metric_name)]
Duration = Annotated[str, BeforeValidator(_duration)]
Share = Annotated[float, Field(ge=0, le=1)]


DriftTest = Literal["auto", "chi2", "ks", "psi"]


class FeatureSpec(_Strict):
    type: Literal["numeric", "categorical"] = "numeric"
    range: tuple[float, float] | None = Field(
        None, description="expected [min, max] (numeric); values below min or above max are out of range")
    allow_missing: bool = Field(True, description="false: any missing value alerts")
    metric: MetricName | None = Field(
        None, description="the feature's own histogram (no feature label), e.g. ml_input_feature_age")
    buckets: list[float] | None = Field(
        None, description="with `metric`: its bucket bounds; the baseline's bins are then these buckets")
    drift_test: DriftTest | None = Field(None, description="this feature's drift test; default: drift.test")


class DriftSpec(_Strict):
    psi_warn: float = Field(0.1, gt=0, description="a feature with PSI above this has drifted (warning)")
    psi_page: float = Field(0.25, gt=0, description="PSI above this pages")
    drifted_share: float = Field(0.5, gt=0, le=1, description="dataset drift: this share of features drifted")
    window: Duration = "1h"
    min_samples: int = Field(100, ge=1, description="no drift alert with fewer observations in the window")
    bins: int = Field(10, ge=2, le=50, description="quantile bins `mlmon baseline` makes")
    epsilon: float = Field(1e-4, gt=0, lt=0.1, description="PSI smoothing for empty bins")
    for_: Duration = Field("15m", alias="for")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="significance level of each feature's two-sample test: "
                         "a feature drifts when its test rejects at this level and its PSI is above psi_warn")
    test: DriftTest = Field("auto", description="auto: chi-square on the bins for categorical features, KS at the "
                            "bin edges for numeric ones; psi: PSI alone (no significance test)")


class ConfidenceSpec(_Strict):
    quantile: float = Field(0.25, gt=0, lt=1)
    threshold: float = Field(0.6, gt=0, le=1, description="alert when the quantile is below this")
    floor: float = Field(0.5, gt=0, le=1, description="record the share of predictions under this confidence")
    window: Duration = "1h"


class PredictionsSpec(_Strict):
    skew_share: float = Field(0.95, gt=0, le=1, description="alert when one class takes more than this share")
    skew_window: Duration = "1h"
    confidence: ConfidenceSpec = Field(default_factory=ConfidenceSpec)
    expected_accuracy: Share | None = Field(
        None, description="the expected accuracy (mean top-class confidence) on held-out training data; "
                          "ExpectedAccuracyDrop compares the live one with it")
    expected_accuracy_drop: float = Field(
        0.05, gt=0, lt=1, description="alert when the live expected accuracy is this far below expected_accuracy")
    calibration_gap_max: float = Field(
        0.1, gt=0, lt=1, description="with ground truth: alert when |expected - realised accuracy| exceeds this")


class QualitySpec(_Strict):
    out_of_range_max: float = Field(0.01, ge=0, lt=1, description="alert above this out-of-range share")
    missing_max: float = Field(0.05, ge=0, lt=1, description="alert above this missing share (allow_missing)")


class GroundTruthSpec(_Strict):
    no_labels_for: Duration | None = Field("6h", description="alert when no labels arrive this long; null disables")
    window: Duration = Field("1d", description="window of the per-class precision, recall and F1")


DEFAULT_RESIDUAL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)


class ResidualSLOSpec(_Strict):
    """An SLO whose bad events are labelled predictions off by more than `threshold`."""

    name: str = Field("residual", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="the SLO's name")
    objective: float = Field(gt=0, lt=100, description="percent of labelled predictions within the threshold")
    threshold: float = Field(gt=0, description="a prediction is bad when |predicted - actual| exceeds this")
    period: Duration = "30d"


class RegressionSpec(_Strict):
    """Residual metrics of a regression model (`model.task: regression`), from delayed ground truth."""

    window: Duration = Field("1d", description="window of the MAE, RMSE and mean error")
    mae_max: float | None = Field(None, gt=0, description="alert when the MAE over the window exceeds this")
    rmse_max: float | None = Field(None, gt=0, description="alert when the RMSE over the window exceeds this")
    mape_max: float | None = Field(None, gt=0, description="alert when the MAPE (a fraction: 0.1 is 10%) over the "
                                   "window exceeds this")
    min_labels: int | None = Field(
        None, ge=1, description="labelled predictions in the window before an alert may fire; default 100")
    residual_buckets: list[Annotated[float, Field(gt=0)]] | None = Field(
        None, description="bounds of the |predicted - actual| histogram; default 0.01 to 1000 (the SLO's "
                          "threshold is added)")
    slo: ResidualSLOSpec | None = Field(
        None, description="an SLO on |predicted - actual| <= threshold, with the standard burn-rate alerts")


class RetrainingSpec(_Strict):
    sustained_drift_for: Duration | None = "6h"
    accuracy_floor: Share | None = Field(0.8, description="fraction; retrain when accuracy is below it")
    accuracy_window: Duration = "1d"
    max_age: Duration | None = Field("30d", description="retrain when the model is older than this")
    new_labels: int | None = Field(10_000, ge=1, description="retrain after this many labels since training")


# ---------------------------------------------------------------- the baseline file


class NumericBaseline(_Strict):
    kind: Literal["numeric"] = "numeric"
    edges: list[float] = Field(description="histogram bucket upper bounds: quantile edges plus the range ends")
    shares: list[Share] = Field(description="training share of each bin, len(edges) + 1")
    range: tuple[float, float] | None = None
    min: float
    max: float
    mean: float
    std: float
    missing_share: Share = 0.0


class CategoricalBaseline(_Strict):
    kind: Literal["categorical"]
    categories: dict[str, Share]
    missing_share: Share = 0.0


class BaselineMetadata(_Strict):
    model: str
    source: str = ""
    rows: int = 0
    bins: int = 10


class Baseline(_Strict):
    api_version: Literal["mlmon/v1"] = Field(alias="apiVersion")
    kind: Literal["Baseline"]
    metadata: BaselineMetadata
    label: dict[str, Share] = Field(default_factory=dict, description="class priors of the label column")
    features: dict[str, Annotated[NumericBaseline | CategoricalBaseline, Field(discriminator="kind")]]
