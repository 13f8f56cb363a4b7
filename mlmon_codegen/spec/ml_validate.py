"""Check the ML-signal sections of a spec and its baseline file; build model.Feature/MLSignals.

The baseline (`<spec stem>.baseline.yaml`, written by `mlmon baseline`) is loaded here, beside
the spec, so a baseline that no longer matches the spec's features is a located error.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from pathlib import Path

import pydantic

from mlmon_codegen.core import durations, naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import metrics_validate, ml
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import Document, load_file

SUM_TOLERANCE = 1e-6
BASELINE_SUFFIX = ".baseline.yaml"


def baseline_path(spec_path: str | Path) -> Path:
    return Path(baseline_file(spec_path))


def baseline_file(spec_path: str | Path) -> str:
    """str(baseline_path(spec_path)), without pathlib: generate asks it of every spec three times
    (the manifest, the cache of validated specs), and pathlib's parsing was most of the cost.
    Spec paths come from `discover`, so they are already normal: no `.` or empty part to drop."""
    folder, name = os.path.split(os.fspath(spec_path))
    dot = name.rfind(".")
    return os.path.join(folder, (name[:dot] if 0 < dot < len(name) - 1 else name) + BASELINE_SUFFIX)


def wants_ml(spec: object) -> bool:
    return any(getattr(spec, k) for k in ("features", "drift", "predictions", "quality", "ground_truth",
                                          "retraining", "regression"))


def load_baseline(path: Path, problems: list[Problem]) -> tuple[Document, ml.Baseline] | None:
    doc, found = load_file(path)
    problems.extend(found)
    if doc is None:
        return None
    try:
        return doc, ml.Baseline.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "[key]")
            problems.append(doc.problem(loc, err["msg"].removeprefix("Value error, "),
                                        "regenerate it with `mlmon baseline --data train.csv --spec ...`"))
        return None


def _finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def _numeric(bdoc: Document, name: str, spec_f: ml.FeatureSpec, b: ml.NumericBaseline,
             problems: list[Problem]) -> m.Feature | None:
    loc = ("features", name)
    start = len(problems)
    edges = list(b.edges)
    if not edges or not _finite(edges) or any(x >= y for x, y in itertools.pairwise(edges)):
        problems.append(bdoc.problem((*loc, "edges"), "edges must be finite and strictly increasing"))
    if len(b.shares) != len(edges) + 1:
        problems.append(bdoc.problem((*loc, "shares"), f"{len(b.shares)} shares for {len(edges)} edges",
                                     "there is one bin more than edges (the last is above the top edge)"))
    elif abs(sum(b.shares) - 1) > SUM_TOLERANCE:
        problems.append(bdoc.problem((*loc, "shares"), f"shares sum to {sum(b.shares):.9g}, not 1"))
    if spec_f.metric is not None:
        if edges != sorted(set(spec_f.buckets or ())):
            problems.append(bdoc.problem((*loc, "edges"), f"the baseline's edges are not the buckets of "
                                         f"{spec_f.metric}", "rerun `mlmon baseline`: it bins on those buckets"))
    elif spec_f.range is not None:
        lo, hi = spec_f.range
        if tuple(b.range or ()) != (lo, hi) or m.range_floor(lo) not in edges or hi not in edges:
            problems.append(bdoc.problem(
                (*loc, "range"), f"the baseline was made for range {b.range} (or by an older mlmon, with the "
                f"min itself as an edge), the spec says [{lo:g}, {hi:g}]",
                "rerun `mlmon baseline` so the bucket edges are the float just below the min, and the max"))
    if len(problems) > start:
        return None
    return m.Feature(name=name, kind="numeric", edges=tuple(edges), shares=tuple(b.shares),
                     expected_range=tuple(spec_f.range) if spec_f.range else None,  # type: ignore[arg-type]
                     allow_missing=spec_f.allow_missing, missing_share=b.missing_share, metric=spec_f.metric)


def training_out_of_range_share(f: m.Feature) -> float:
    """The baseline's share outside the feature's range: the bins at or below the floor edge and
    above the max edge, so exactly what the out-of-range rule would record on training traffic."""
    if f.expected_range is None or f.gauges_only:  # a gauge-only feature has no baseline bins
        return 0.0
    lo, hi = m.range_floor(f.expected_range[0]), f.expected_range[1]
    edges = (-math.inf, *f.edges)
    return sum(share for low, up, share in zip(edges, (*f.edges, math.inf), f.shares, strict=True)
               if up <= lo or low >= hi)


def range_warnings(doc: Document, features: tuple[m.Feature, ...]) -> list[Problem]:
    """A warning per feature whose range leaves out training data: FeatureOutOfRange would fire
    on traffic that looks exactly like training. (For spec/validate.py's warnings list.)"""
    out = []
    for f in features:
        share = training_out_of_range_share(f)
        if share > 0 and f.expected_range is not None:
            lo, hi = f.expected_range
            out.append(doc.problem(("features", f.name, "range"),
                                   f"{share:.2%} of the training values are outside the range [{lo:g}, {hi:g}]",
                                   "widen the range to the training min and max, then rerun `mlmon baseline`",
                                   warning=True))
    return out


def _categorical(bdoc: Document, name: str, spec_f: ml.FeatureSpec, b: ml.CategoricalBaseline,
                 problems: list[Problem]) -> m.Feature | None:
    loc = ("features", name, "categories")
    if not b.categories:
        problems.append(bdoc.problem(loc, "no categories"))
        return None
    if abs(sum(b.categories.values()) - 1) > SUM_TOLERANCE:
        problems.append(bdoc.problem(loc, f"category shares sum to {sum(b.categories.values()):.9g}, not 1"))
        return None
    cats = sorted(b.categories)
    return m.Feature(name=name, kind="categorical", categories=tuple(cats),
                     category_shares=tuple(b.categories[c] for c in cats),
                     allow_missing=spec_f.allow_missing, missing_share=b.missing_share)


def _feature_shape(doc: Document, name: str, f: ml.FeatureSpec, met: m.Metrics,
                   problems: list[Problem]) -> m.Feature | None:
    """Problems with how the service exposes the feature; a gauge-only feature, built here (no baseline)."""
    loc = ("features", name)
    if f.buckets is not None and f.metric is None:
        problems.append(doc.problem((*loc, "buckets"), "buckets belong to a feature's own histogram",
                                    "name it in features.<name>.metric"))
    if f.type == "categorical":
        if f.metric is not None:
            problems.append(doc.problem((*loc, "metric"), "a categorical feature is counted by "
                                        "metrics.feature_category, not a histogram of its own"))
        elif met.feature_category is None:
            problems.append(metrics_validate.role_problem(doc, loc, "feature_category", "a categorical feature"))
        return None
    if f.metric is not None:
        buckets = sorted(set(f.buckets or ()))
        if not buckets or not _finite(buckets):
            problems.append(doc.problem((*loc, "buckets"), f"the bucket bounds of {f.metric} are needed",
                                        "list them as the service's histogram defines them"))
        elif f.range is not None and f.range[1] not in buckets:
            problems.append(doc.problem((*loc, "range"), f"the range's max {f.range[1]:g} is not a bucket bound "
                                        f"of {f.metric} ({', '.join(f'{b:g}' for b in buckets)})",
                                        "use a bound as the max, or add the bound to the histogram"))
        return None
    if met.feature_value is not None:
        return None
    if met.feature_min is None and met.feature_max is None:
        problems.append(metrics_validate.role_problem(doc, loc, "feature_value", "a numeric feature"))
    elif f.range is None:
        problems.append(doc.problem((*loc, "range"), "a feature exposed only as min/max gauges allows range checks "
                                    "only, and needs a range", "range: [min, max]"))
    else:
        return m.Feature(name=name, kind="numeric", expected_range=tuple(f.range),  # type: ignore[arg-type]
                         allow_missing=f.allow_missing, gauges_only=True)
    return None


def _features(doc: Document, spec: object, met: m.Metrics,
              problems: list[Problem]) -> tuple[tuple[m.Feature, ...], tuple[tuple[str, float], ...], int]:
    """The features, the class priors and the labelled rows they were counted on (0: unknown)."""
    declared: dict[str, ml.FeatureSpec] = spec.features  # type: ignore[attr-defined]
    for name, f in declared.items():
        if f.range is not None:
            lo, hi = f.range
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                problems.append(doc.problem(("features", name, "range"), "range must be finite [min, max], min < max"))
        if f.type == "categorical" and f.range is not None:
            problems.append(doc.problem(("features", name, "range"), "a categorical feature has no range"))
    gauged = {n: g for n, f in declared.items() if (g := _feature_shape(doc, n, f, met, problems)) is not None}
    wanted = {n: f for n, f in declared.items() if n not in gauged}
    path = baseline_path(doc.path)
    if not path.exists():
        if wanted:
            problems.append(doc.problem(("features",), f"no baseline file {path}",
                                        f"run `mlmon baseline --data train.csv --spec {doc.path}`"))
        return tuple(gauged.values()), (), 0
    loaded = load_baseline(path, problems)
    if loaded is None:
        return tuple(gauged.values()), (), 0
    bdoc, base = loaded
    name = spec.metadata.name  # type: ignore[attr-defined]
    if base.metadata.model != name:
        problems.append(bdoc.problem(("metadata", "model"), f"baseline is for model {base.metadata.model!r}, "
                                     f"the spec next to it is {name!r}"))
    for extra in sorted(set(base.features) - set(declared)):
        problems.append(bdoc.problem(("features", extra), f"feature {extra!r} is not in the spec {doc.path}",
                                     "declare it under `features:` or rerun `mlmon baseline`"))
    out: list[m.Feature] = []
    for fname, f in wanted.items():
        b = base.features.get(fname)
        if b is None:
            problems.append(doc.problem(("features", fname), f"feature {fname!r} has no baseline in {path}",
                                        "rerun `mlmon baseline` after adding features"))
            continue
        if b.kind != f.type:
            problems.append(bdoc.problem(("features", fname, "kind"),
                                         f"baseline says {b.kind}, the spec says {f.type}"))
            continue
        built = (_numeric(bdoc, fname, f, b, problems) if isinstance(b, ml.NumericBaseline)
                 else _categorical(bdoc, fname, f, b, problems))
        if built is not None:
            out.append(_with_test(doc, spec, fname, f, built, base.metadata.rows, problems))
    out.extend(gauged.values())
    out.sort(key=lambda f: list(declared).index(f.name))
    priors = tuple(sorted(base.label.items()))
    classes = spec.model.classes  # type: ignore[attr-defined]
    unknown = sorted(set(base.label) - set(classes)) if classes else []
    if unknown:
        problems.append(bdoc.problem(("label",), f"classes {unknown} are not in the spec's model.classes"))
    if priors and abs(sum(v for _, v in priors) - 1) > SUM_TOLERANCE:
        problems.append(bdoc.problem(("label",), "class priors do not sum to 1"))
    return tuple(out), priors, base.metadata.rows if priors else 0


def resolve_test(kind: str, wanted: str, rows: int) -> str:
    """The drift test a feature gets: `auto` is chi-square for categorical features and KS at the bin
    edges for numeric ones (KS: on the corpus it catches mean shifts as often with fewer false alarms,
    see tests/test_drift_corpus.py); KS needs an order, so a categorical feature asked for KS by
    `drift.test` gets chi-square. Without the baseline's row count the reference's sampling error is
    unknown and PSI alone judges, as before."""
    if rows <= 0 or wanted == "psi":
        return "psi"
    if kind == "categorical":
        return "chi2"
    return "ks" if wanted == "auto" else wanted


def _with_test(doc: Document, spec: object, name: str, f: ml.FeatureSpec, built: m.Feature, rows: int,
               problems: list[Problem]) -> m.Feature:
    d = spec.drift or ml.DriftSpec()  # type: ignore[attr-defined]
    if f.drift_test == "ks" and built.kind == "categorical":
        problems.append(doc.problem(("features", name, "drift_test"), "KS needs ordered values; this feature is "
                                    "categorical", "use chi2 (or auto, which is chi2 for categorical features)"))
    test = resolve_test(built.kind, f.drift_test or d.test, rows)
    # The reference's observations of this feature: the rows that were not missing it.
    count = round(rows * (1 - built.missing_share)) if rows > 0 else 0
    return dataclasses.replace(built, drift_test=test if count > 0 else "psi", reference_count=count)


def _ms(value: str | None) -> int | None:
    return durations.parse(value) if value else None


def _section_problems(doc: Document, spec: object, met: m.Metrics, problems: list[Problem]) -> None:
    if spec.predictions is not None and met.predicted_class is None and met.confidence is None:  # type: ignore[attr-defined]
        problems.append(doc.problem(("predictions",), "predictions needs metrics.predicted_class or "
                                    "metrics.confidence; this spec sets both to null",
                                    "name the service's class counter or confidence histogram, or remove this"))
    if spec.ground_truth is not None and met.ground_truth is None:  # type: ignore[attr-defined]
        problems.append(metrics_validate.role_problem(doc, ("ground_truth",), "ground_truth", "ground_truth"))
    reg = spec.regression  # type: ignore[attr-defined]
    if reg is None:
        return
    if spec.model.task != "regression":  # type: ignore[attr-defined]
        problems.append(doc.problem(("regression",), f"a regression section needs model.task: regression, "
                                    f"this model's task is {spec.model.task}",  # type: ignore[attr-defined]
                                    "set model.task: regression, or remove this section"))
        return
    # The count divides every recording; each alert needs the sum it reads.
    needed = [("residuals", ("regression",)), *((("residual_abs", ("regression", "mae_max")),)
                                                 if reg.mae_max is not None else ()),
              *((("residual_squared", ("regression", "rmse_max")),) if reg.rmse_max is not None else ()),
              *(((role, ("regression", "mape_max")) for role in ("residual_relative", "residual_relative_count"))
                if reg.mape_max is not None else ())]
    for role, loc in needed:
        if getattr(met, role) is None:
            problems.append(metrics_validate.role_problem(doc, loc, role, "regression"))


def residual_slos(doc: Document, spec: object, met: m.Metrics, scrape_ms: int, taken: set[str],
                  problems: list[Problem]) -> list[m.SLO]:
    """`regression.slo` as an SLO whose bad events are labelled predictions off by more than its
    threshold: from the |e| histogram, `count - bucket{le=threshold}`, as a custom SLI, so every
    burn-rate tier, recording, explain line and runbook of a custom SLO follows."""
    reg = spec.regression  # type: ignore[attr-defined]
    if reg is None or reg.slo is None or spec.model.task != "regression":  # type: ignore[attr-defined]
        return []  # a regression section on a classifier is reported by _section_problems
    s, loc = reg.slo, ("regression", "slo")
    if met.residual_histogram is None:
        problems.append(metrics_validate.role_problem(doc, loc, "residual_histogram", "regression.slo"))
        return []
    if s.name in taken:
        problems.append(doc.problem((*loc, "name"), f"SLO name {s.name!r} is used twice", "give regression.slo a "
                                    "name no SLO under `slos` has"))
        return []
    if reg.residual_buckets is not None and not any(abs(b - s.threshold) < 1e-9 for b in reg.residual_buckets):
        problems.append(doc.problem((*loc, "threshold"), f"threshold {s.threshold:g} is not a bound of "
                                    "regression.residual_buckets", "add it to residual_buckets (and to the "
                                    "service's histogram)"))
        return []
    hist, sel, window = met.residual_histogram, met.matchers("residual_histogram"), "{{window}}"
    total = q.agg("sum", q.rate(q.selector(naming.count(hist), sel), window))
    within = q.agg("sum", q.rate(q.selector(naming.bucket(hist), [*sel, q.le_matcher(s.threshold)]), window))
    # No SLINoData: delayed labels arrive in batches, so a short window without any is normal.
    return [m.SLO(name=s.name, kind="custom", objective=s.objective, period_ms=durations.parse(s.period),
                  alert_tiers=None, scrape_interval_ms=scrape_ms, no_data_enabled=False, histogram="residual_histogram",
                  description=f"a labelled prediction off by more than {s.threshold:g} (|predicted - actual|) "
                              "is a bad event",
                  custom=m.CustomSLI(q.binop(total, "-", within), total, None), site=doc.site(loc))]


def build_ml(doc: Document, spec: object, met: m.Metrics, problems: list[Problem]) -> tuple[
        tuple[m.Feature, ...], m.MLSignals | None]:
    """The model's features and ML settings; problems are appended, never raised. Each section
    turns on its own rules: a `predictions:` section alone gives no ground-truth or retraining rules."""
    if not wants_ml(spec):
        return (), None
    _section_problems(doc, spec, met, problems)
    features, priors, prior_rows = _features(doc, spec, met, problems)
    d = spec.drift or ml.DriftSpec()  # type: ignore[attr-defined]
    if d.psi_page < d.psi_warn:
        problems.append(doc.problem(("drift", "psi_page"), "psi_page is below psi_warn"))
    p = spec.predictions or ml.PredictionsSpec()  # type: ignore[attr-defined]
    if p.expected_accuracy is not None and p.expected_accuracy - p.expected_accuracy_drop <= 0:
        problems.append(doc.problem(("predictions", "expected_accuracy_drop"),
                                    f"a drop of {p.expected_accuracy_drop:g} from the expected accuracy "
                                    f"{p.expected_accuracy:g} leaves no accuracy to fall below: the alert never fires",
                                    "a drop smaller than expected_accuracy"))
    q = spec.quality or ml.QualitySpec()  # type: ignore[attr-defined]
    g = spec.ground_truth or ml.GroundTruthSpec()  # type: ignore[attr-defined]
    r = spec.retraining or ml.RetrainingSpec()  # type: ignore[attr-defined]
    accuracy = next((s for n, s in spec.slos.items() if n == "accuracy"), None)  # type: ignore[attr-defined]
    min_labels = accuracy.min_samples if accuracy and accuracy.min_samples else 100
    reg = spec.regression or ml.RegressionSpec()  # type: ignore[attr-defined]
    signals = m.MLSignals(
        predictions=spec.predictions is not None,  # type: ignore[attr-defined]
        ground_truth=spec.ground_truth is not None,  # type: ignore[attr-defined]
        retraining=spec.retraining is not None,  # type: ignore[attr-defined]
        drift=m.DriftSettings(psi_warn=d.psi_warn, psi_page=d.psi_page, drifted_share=d.drifted_share,
                              window_ms=durations.parse(d.window), min_samples=d.min_samples, bins=d.bins,
                              epsilon=d.epsilon, for_ms=durations.parse(d.for_), alpha=d.alpha, test=d.test),
        class_priors=priors, class_reference_count=prior_rows,
        prediction_test=resolve_test("categorical", d.test, prior_rows),
        skew_share=p.skew_share, skew_window_ms=durations.parse(p.skew_window),
        confidence_quantile=p.confidence.quantile, confidence_threshold=p.confidence.threshold,
        confidence_floor=p.confidence.floor, confidence_window_ms=durations.parse(p.confidence.window),
        expected_accuracy=p.expected_accuracy, expected_accuracy_drop=p.expected_accuracy_drop,
        calibration_gap_max=p.calibration_gap_max,
        no_labels_for_ms=_ms(g.no_labels_for),
        retrain_drift_for_ms=_ms(r.sustained_drift_for),
        retrain_accuracy_floor=r.accuracy_floor,
        retrain_accuracy_window_ms=durations.parse(r.accuracy_window),
        retrain_max_age_ms=_ms(r.max_age), retrain_new_labels=r.new_labels,
        out_of_range_max=q.out_of_range_max, missing_max=q.missing_max,
        ground_truth_window_ms=durations.parse(g.window),
        min_labels=min_labels,
        regression=spec.regression is not None,  # type: ignore[attr-defined]
        regression_window_ms=durations.parse(reg.window), mae_max=reg.mae_max, rmse_max=reg.rmse_max,
        mape_max=reg.mape_max,
        residual_buckets=tuple(sorted({*(reg.residual_buckets or ml.DEFAULT_RESIDUAL_BUCKETS),
                                       *((reg.slo.threshold,) if reg.slo else ())})),
        regression_min_labels=reg.min_labels or min_labels,
    )
    return features, signals
