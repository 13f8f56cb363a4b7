"""`mlmon baseline`: the training data's reference distribution, reviewed in Git beside the spec.

Per numeric feature: quantile bin edges plus the expected range ends (the service's histogram
buckets), the training share of each bin, min/max/mean/std and the missing share. Per
categorical feature: the category shares. And the class priors of the label column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.spec import ml, v1
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import load_file
from mlmon_codegen.spec.validate import typed

SHARE_DIGITS = 12  # shares are exact ratios of counts; 12 digits keep the file stable and readable


def load_spec(path: Path) -> v1.ModelMonitor:
    """The spec, structurally valid; its baseline is not needed (we are about to write it)."""
    doc, problems = load_file(path)
    spec = typed(doc, problems) if doc else None
    if doc and spec is not None and not isinstance(spec, v1.ModelMonitor):
        problems.append(doc.problem(("kind",), "a baseline belongs to a ModelMonitor spec"))
    if problems or not isinstance(spec, v1.ModelMonitor):
        raise SpecError(problems)
    if not spec.features and doc:
        raise SpecError([doc.problem(("features",), "the spec declares no features",
                                     "features: {sepal_length: {type: numeric, range: [4, 8]}}")])
    return spec


def _share(n: int, total: int) -> float:
    return round(n / total, SHARE_DIGITS) if total else 0.0


def numeric_feature(table: mldata.Table, name: str, spec_f: Any, bins: int) -> dict[str, Any]:
    values, missing = mldata.numeric(table, name)
    if values.size == 0:
        raise mldata.DataError(f"{table.path}: column {name!r} has no values")
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        raise mldata.DataError(f"{table.path}: column {name!r} is constant ({lo:g} in every row): it has no "
                               "distribution to drift from; drop it from `features` or fix the data")
    if spec_f.metric is not None:  # the feature's own histogram: its buckets are the only edges there are
        ordered = sorted({float(b) for b in spec_f.buckets or ()})
    else:
        edges = set(mldata.quantile_edges(values, bins))
        if spec_f.range is not None:
            edges |= {m.range_floor(spec_f.range[0]), float(spec_f.range[1])}
        ordered = sorted(edges)
    counts = mldata.bin_counts(values, ordered)
    out: dict[str, Any] = {
        "kind": "numeric",
        "edges": ordered,
        "shares": [_share(int(c), values.size) for c in counts],
    }
    if spec_f.range is not None:
        out["range"] = [float(spec_f.range[0]), float(spec_f.range[1])]
    out.update({"min": mldata.tidy(lo), "max": mldata.tidy(hi), "mean": mldata.tidy(float(values.mean())),
                "std": mldata.tidy(float(values.std())), "missing_share": _share(missing, table.rows)})
    return out


def range_warnings(table: mldata.Table, features: Mapping[str, ml.FeatureSpec]) -> list[str]:
    """One line per numeric feature whose declared range leaves out training rows.

    Such a range makes FeatureOutOfRange fire on traffic that looks exactly like training.
    """
    out = []
    for name, f in features.items():
        if f.type != "numeric" or f.range is None:
            continue
        values, _ = mldata.numeric(table, name)
        lo, hi = float(f.range[0]), float(f.range[1])
        below, above = int(np.sum(values < lo)), int(np.sum(values > hi))
        if below or above:
            out.append(f"{table.path}: feature {name!r}: {below + above} of {values.size} training values "
                       f"({(below + above) / values.size:.1%}) are outside its range [{lo:g}, {hi:g}] "
                       f"(min {float(values.min())!r}, max {float(values.max())!r}); widen the range")
    return out


def categorical_feature(table: mldata.Table, name: str) -> dict[str, Any]:
    col = mldata.column(table, name)
    present = mldata.categories(table, name)
    cats, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    return {"kind": "categorical",
            "categories": {str(c): _share(int(n), len(present)) for c, n in zip(cats, counts, strict=True)},
            "missing_share": _share(len(col) - len(present), table.rows)}


def priors(table: mldata.Table, label: str, classes: list[str]) -> dict[str, float]:
    col = mldata.column(table, label, role="label")
    present = [v for v in col if v is not None]
    if len(present) != len(col):
        raise mldata.DataError(f"{table.path}: label column {label!r} has {len(col) - len(present)} empty cells")
    unknown = sorted(set(present) - set(classes)) if classes else []
    if unknown:
        raise mldata.DataError(f"{table.path}: label column {label!r} holds classes {unknown} that are not in "
                               f"the spec's model.classes {classes}")
    cats, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    return {str(c): _share(int(n), len(present)) for c, n in zip(cats, counts, strict=True)}


def build(table: mldata.Table, spec: v1.ModelMonitor, bins: int, label: str | None) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for name, f in spec.features.items():
        features[name] = (numeric_feature(table, name, f, bins) if f.type == "numeric"
                          else categorical_feature(table, name))
    data: dict[str, Any] = {
        "apiVersion": "mlmon/v1",
        "kind": "Baseline",
        "metadata": {"model": spec.metadata.name, "source": Path(table.path).name, "rows": table.rows,
                     "bins": bins},
    }
    if label is not None:
        data["label"] = priors(table, label, list(spec.model.classes))
    data["features"] = features
    return data


def render(data: dict[str, Any], spec_path: str) -> bytes:
    head = (f"# Training baseline for {spec_path}, written by `mlmon baseline` from "
            f"{data['metadata']['source']}.\n# Review it in Git like the spec; regenerate it rather than edit it.\n")
    return (head + dump_yaml(data)).encode()
