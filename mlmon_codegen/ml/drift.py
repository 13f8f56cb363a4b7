"""`mlmon drift`: the offline drift check for CI, on the same bins, PSI formula and tests as the rules.

Per feature: the two-sample KS statistic and p-value and the Wasserstein distance (scipy, on the
raw values), PSI on the baseline's bins, and the feature's drift test (plan/drift.py explains the
formulas): chi-square homogeneity of the current and reference bin counts (scipy's
chi2_contingency; the rules' closed form is the same number), or KS at the bin edges, at
drift.alpha. A feature drifted when its test is significant and its PSI is above psi_warn
(test `psi`: the PSI alone); the dataset drifted when at least `drifted_share` of the features did.

Given a column of predicted classes, the predictions are judged the same way against the class
priors (PredictionDrift's rule): chi-square on the class counts and PSI on the shares, classes the
priors never saw in one "other" bin. The priors and their row count m come from the baseline, so
the reference counts are m q_i (not integers once rounded), which is what the rules compute with.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from mlmon_codegen.ml import baseline as bl
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.plan import drift as pd
from mlmon_codegen.spec import ml, v1
from mlmon_codegen.spec.ml_validate import resolve_test


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str
    psi: float
    ks_statistic: float | None
    ks_pvalue: float | None
    wasserstein: float | None
    binned_ks: float | None
    samples: int
    drifted: bool  # significant and PSI above psi_warn
    test: str = "psi"  # chi2 | ks | psi
    statistic: float = 0.0  # the test's: X2, the binned KS D, or the PSI
    p_value: float | None = None  # None for the psi "test"
    critical: float = 0.0  # significant when statistic > critical (psi: psi_warn)
    significant: bool = False
    reference_samples: int = 0


@dataclass(frozen=True)
class Verdict:
    test: str
    statistic: float
    p_value: float | None
    critical: float
    significant: bool


@dataclass(frozen=True)
class Report:
    features: list[FeatureDrift]
    drifted_share: float
    threshold: float
    drifted: bool
    prediction: FeatureDrift | None = None  # the predicted classes against the priors, when asked for

    def as_json(self) -> dict[str, Any]:
        out = {"features": [asdict(f) for f in self.features], "drifted_share": self.drifted_share,
               "threshold": self.threshold, "drifted": self.drifted}
        if self.prediction is not None:
            out["prediction"] = asdict(self.prediction)
        return out


def chi2_homogeneity(current: np.ndarray, reference: np.ndarray, alpha: float) -> Verdict:
    """Pearson's chi-square on the 2 x k count table, no continuity correction (the rules have none).
    Bins empty in both rows are dropped, as chi2_contingency needs; the degrees of freedom are the
    rules' (bins with reference counts, minus 1), which are scipy's unless a bin the reference never
    saw has current counts."""
    keep = (current + reference) > 0
    if keep.sum() < 2:
        stat = 0.0  # everything in one bin on both sides: nothing differs
    else:
        table = np.vstack([current[keep], reference[keep]])
        stat = float(stats.chi2_contingency(table, correction=False).statistic)
    df = pd.chi2_df(reference.tolist())
    critical = pd.chi2_critical(alpha, df)
    return Verdict("chi2", stat, float(stats.chi2.sf(stat, df)), critical, stat > critical)


def ks_binned(d: float, n: int, m: int, alpha: float) -> Verdict:
    """KS at the bin edges against c(alpha) sqrt(1/n + 1/m); the p-value is the Kolmogorov
    distribution's at D sqrt(nm/(n+m)), so p < alpha exactly when D is above the critical value."""
    critical = pd.ks_coefficient(alpha) * math.sqrt(1 / n + 1 / m)
    p = float(stats.kstwobign.sf(d * math.sqrt(n * m / (n + m))))
    return Verdict("ks", d, p, critical, d > critical)


def _verdict(test: str, cur: np.ndarray, ref: np.ndarray, psi: float, binned_ks: float | None,
             d: ml.DriftSpec) -> Verdict:
    n, m = int(cur.sum()), int(ref.sum())
    if test == "chi2":
        return chi2_homogeneity(cur, ref, d.alpha)
    if test == "ks" and binned_ks is not None:
        return ks_binned(binned_ks, n, m, d.alpha)
    return Verdict("psi", psi, None, d.psi_warn, psi > d.psi_warn)


def _row(name: str, kind: str, psi: float, cur: np.ndarray, ref: np.ndarray, v: Verdict,
         d: ml.DriftSpec, raw: tuple[float | None, float | None, float | None, float | None]) -> FeatureDrift:
    return FeatureDrift(feature=name, kind=kind, psi=psi, ks_statistic=raw[0], ks_pvalue=raw[1],
                        wasserstein=raw[2], binned_ks=raw[3], samples=int(cur.sum()),
                        drifted=v.significant and psi > d.psi_warn, test=v.test, statistic=v.statistic,
                        p_value=v.p_value, critical=v.critical, significant=v.significant,
                        reference_samples=round(float(ref.sum())))


def _edges(reference: mldata.Table, name: str, spec_f: ml.FeatureSpec, bins: int,
           base: ml.NumericBaseline | None) -> list[float]:
    """The rules' bins: the committed baseline's edges when there is one, else made the same way."""
    if base is not None:
        return list(base.edges)
    return list(bl.numeric_feature(reference, name, spec_f, bins)["edges"])


def numeric(reference: mldata.Table, current: mldata.Table, name: str, spec_f: ml.FeatureSpec,
            d: ml.DriftSpec, base: ml.NumericBaseline | None) -> FeatureDrift:
    ref, _ = mldata.numeric(reference, name)
    cur, _ = mldata.numeric(current, name)
    if ref.size == 0 or cur.size == 0:
        raise mldata.DataError(f"column {name!r} has no values in {reference.path if ref.size == 0 else current.path}")
    edges = _edges(reference, name, spec_f, d.bins, base)
    a, b = mldata.bin_counts(cur, edges), mldata.bin_counts(ref, edges)
    p, q = a / cur.size, b / ref.size
    value = mldata.psi(list(p), list(q), d.epsilon)
    ks = stats.ks_2samp(ref, cur)
    binned = float(np.max(np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1])))
    test = resolve_test("numeric", spec_f.drift_test or d.test, int(ref.size))
    raw = (float(ks.statistic), float(ks.pvalue), float(stats.wasserstein_distance(ref, cur)), binned)
    return _row(name, "numeric", value, a, b, _verdict(test, a, b, value, binned, d), d, raw)


def categorical(reference: mldata.Table, current: mldata.Table, name: str, d: ml.DriftSpec,
                spec_f: ml.FeatureSpec | None = None) -> FeatureDrift:
    ref, cur = mldata.categories(reference, name), mldata.categories(current, name)
    cats = sorted(set(ref))
    # Categories the reference never saw share one "other" bin, as in the rules.
    b = np.array([ref.count(c) for c in cats] + [0])
    a = np.array([cur.count(c) for c in cats] + [len(cur) - sum(cur.count(c) for c in cats)])
    value = mldata.psi(list(a / len(cur)), list(b / len(ref)), d.epsilon)
    wanted = (spec_f.drift_test if spec_f else None) or d.test
    test = resolve_test("categorical", wanted, len(ref))
    return _row(name, "categorical", value, a, b, _verdict(test, a, b, value, None, d), d, (None, None, None, None))


def predictions(current: mldata.Table, column: str, priors: dict[str, float], rows: int,
                d: ml.DriftSpec) -> FeatureDrift:
    """The predicted classes in `column` against the class priors counted on `rows` training rows."""
    if not priors or rows <= 0:
        raise mldata.DataError("prediction drift needs class priors and their row count: a baseline written by "
                               "`mlmon baseline` with a label column")
    cur = mldata.column(current, column, role="prediction")
    present = [v for v in cur if v is not None]
    if not present:
        raise mldata.DataError(f"{current.path}: column {column!r} has no predictions")
    classes = sorted(priors)  # the rules' order (class_priors is sorted); the order changes no number
    a = np.array([present.count(c) for c in classes] + [len(present) - sum(present.count(c) for c in classes)])
    shares = np.array([priors[c] for c in classes] + [0.0])
    b = shares * rows
    value = mldata.psi(list(a / a.sum()), list(shares), d.epsilon)
    test = resolve_test("categorical", d.test, rows)
    return _row(column, "prediction", value, a, b, _verdict(test, a, b, value, None, d), d, (None, None, None, None))


def assess(reference: mldata.Table, current: mldata.Table, features: dict[str, ml.FeatureSpec],
           d: ml.DriftSpec, base: ml.Baseline | None = None) -> Report:
    rows = []
    for name, f in features.items():
        b = base.features.get(name) if base else None
        if f.type == "numeric":
            rows.append(numeric(reference, current, name, f, d, b if isinstance(b, ml.NumericBaseline) else None))
        else:
            rows.append(categorical(reference, current, name, d, f))
    share = sum(r.drifted for r in rows) / len(rows)
    return Report(rows, share, d.drifted_share, share >= d.drifted_share)


def report(reference: mldata.Table, current: mldata.Table, spec: v1.ModelMonitor,
           base: ml.Baseline | None, prediction_column: str | None = None) -> Report:
    d = spec.drift or ml.DriftSpec()
    rep = assess(reference, current, spec.features, d, base)
    if prediction_column is None:
        return rep
    priors, rows = (base.label, base.metadata.rows) if base else ({}, 0)
    return dataclasses.replace(rep, prediction=predictions(current, prediction_column, priors, rows, d))


def table(rep: Report) -> str:
    def fmt(x: float | None, spec: str = ".4f") -> str:
        return "-" if x is None else format(x, spec)

    head = ("feature", "kind", "samples", "psi", "ks", "ks p-value", "wasserstein", "binned ks", "test",
            "statistic", "critical", "p-value", "drifted")
    rows = [*rep.features, *([rep.prediction] if rep.prediction else [])]
    lines = [head] + [(r.feature, r.kind, str(r.samples), fmt(r.psi), fmt(r.ks_statistic), fmt(r.ks_pvalue, ".3g"),
                       fmt(r.wasserstein), fmt(r.binned_ks), r.test, fmt(r.statistic), fmt(r.critical),
                       fmt(r.p_value, ".3g"), "yes" if r.drifted else "no") for r in rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    verdict = "DRIFTED" if rep.drifted else "no drift"
    out.append(f"{verdict}: {rep.drifted_share:.0%} of the features drifted (threshold {rep.threshold:.0%}; "
               "a feature drifts when its test is significant and its PSI is above psi_warn)")
    if rep.prediction is not None:
        out.append(f"predictions {'DRIFTED' if rep.prediction.drifted else 'did not drift'} from the class priors "
                   f"(column {rep.prediction.feature}; the exit status follows the features)")
    return "\n".join(out)
