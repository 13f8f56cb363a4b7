"""`mlmon drift`: the offline drift check for CI, on the same bins and PSI formula as the rules.

Per feature: the two-sample KS statistic and p-value and the Wasserstein distance (scipy, on the
raw values), and PSI on the baseline's bins. A feature drifted when its PSI is above psi_warn;
the dataset drifted when at least `drifted_share` of the features did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from mlmon_codegen.ml import baseline as bl
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.spec import ml, v1


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
    drifted: bool


@dataclass(frozen=True)
class Report:
    features: list[FeatureDrift]
    drifted_share: float
    threshold: float
    drifted: bool

    def as_json(self) -> dict[str, Any]:
        return {"features": [asdict(f) for f in self.features], "drifted_share": self.drifted_share,
                "threshold": self.threshold, "drifted": self.drifted}


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
    p = mldata.bin_counts(cur, edges) / cur.size
    q = mldata.bin_counts(ref, edges) / ref.size
    value = mldata.psi(list(p), list(q), d.epsilon)
    ks = stats.ks_2samp(ref, cur)
    binned = float(np.max(np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1])))
    return FeatureDrift(name, "numeric", value, float(ks.statistic), float(ks.pvalue),
                        float(stats.wasserstein_distance(ref, cur)), binned, int(cur.size), value > d.psi_warn)


def categorical(reference: mldata.Table, current: mldata.Table, name: str, d: ml.DriftSpec) -> FeatureDrift:
    ref = [v for v in mldata.column(reference, name) if v is not None]
    cur = [v for v in mldata.column(current, name) if v is not None]
    if not ref or not cur:
        raise mldata.DataError(f"column {name!r} has no values in {reference.path if not ref else current.path}")
    cats = sorted(set(ref))
    # Categories the reference never saw share one "other" bin, as in the rules.
    q = [ref.count(c) / len(ref) for c in cats] + [0.0]
    p = [cur.count(c) / len(cur) for c in cats]
    p.append(1 - sum(p))
    value = mldata.psi(p, q, d.epsilon)
    return FeatureDrift(name, "categorical", value, None, None, None, None, len(cur), value > d.psi_warn)


def report(reference: mldata.Table, current: mldata.Table, spec: v1.ModelMonitor,
           base: ml.Baseline | None) -> Report:
    d = spec.drift or ml.DriftSpec()
    rows = []
    for name, f in spec.features.items():
        b = base.features.get(name) if base else None
        if f.type == "numeric":
            rows.append(numeric(reference, current, name, f, d, b if isinstance(b, ml.NumericBaseline) else None))
        else:
            rows.append(categorical(reference, current, name, d))
    share = sum(r.drifted for r in rows) / len(rows)
    return Report(rows, share, d.drifted_share, share >= d.drifted_share)


def table(rep: Report) -> str:
    def fmt(x: float | None, spec: str = ".4f") -> str:
        return "-" if x is None else format(x, spec)

    head = ("feature", "kind", "samples", "psi", "ks", "ks p-value", "wasserstein", "binned ks", "drifted")
    lines = [head] + [(r.feature, r.kind, str(r.samples), fmt(r.psi), fmt(r.ks_statistic), fmt(r.ks_pvalue, ".3g"),
                       fmt(r.wasserstein), fmt(r.binned_ks), "yes" if r.drifted else "no") for r in rep.features]
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    verdict = "DRIFTED" if rep.drifted else "no drift"
    out.append(f"{verdict}: {rep.drifted_share:.0%} of the features drifted (threshold {rep.threshold:.0%})")
    return "\n".join(out)
