"""Exact baselines on data nobody here made (scikit-learn's bundled sets): edges are observed
values, never rounded, so ties stay on one side of every edge; a range's min is in range."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from runtime_helpers import example_model
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from mlmon_codegen.ml import baseline as bl
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.ml import drift as mldrift
from mlmon_codegen.plan import drift as plan_drift
from mlmon_codegen.runtime.features import FeatureCollector, le_text
from mlmon_codegen.spec import ml
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.ml_validate import training_out_of_range_share

BINS = 10
LOADERS = {"wine": load_wine, "diabetes": load_diabetes, "breast_cancer": load_breast_cancer}


Frame = dict[str, np.ndarray]


def table(frame: Frame, path: str) -> mldata.Table:
    # repr is the shortest text that reads back as the same float: the CSV a user would export.
    cols = {c: [repr(float(v)) for v in x] for c, x in frame.items()}
    return mldata.Table(path, cols, len(next(iter(frame.values()))))


def load(dataset: str) -> Frame:
    # The bundled copies (no download, no pandas): columns by their scikit-learn names.
    bunch = LOADERS[dataset]()
    return {str(n): bunch.data[:, i].astype(float) for i, n in enumerate(bunch.feature_names)}


def frames() -> list[tuple[str, Frame]]:
    return [(name, load(name)) for name in LOADERS]


def feature(tab: mldata.Table, name: str, rng: tuple[float, float] | None = None) -> m.Feature:
    b = bl.numeric_feature(tab, name, ml.FeatureSpec(range=rng), BINS)
    return m.Feature(name, "numeric", edges=tuple(b["edges"]), shares=tuple(b["shares"]), expected_range=rng)


@pytest.mark.parametrize(("dataset", "frame"), frames(), ids=list(LOADERS))
def test_no_training_value_sits_on_the_wrong_side_of_an_edge(dataset, frame):
    tab = table(frame, dataset)
    for name, x in frame.items():
        f = feature(tab, name)
        values, counts = np.unique(x, return_counts=True)
        # Every edge is an observed value, exactly numpy's inverted-CDF quantile (no rounding).
        qs = np.quantile(x, [k / BINS for k in range(1, BINS)], method="inverted_cdf")
        assert list(f.edges) == sorted(set(qs.tolist())), name
        assert set(f.edges) <= set(values.tolist()), name
        # A heavy value is an edge: it never shares a bin with the values above it.
        heavy = values[counts > len(x) / BINS]
        assert set(heavy.tolist()) <= set(f.edges), name
        # The baseline's CDF at each edge is numpy's share of rows <= edge: no tie pushed across.
        # (Shares are written to 12 digits; one moved row would be off by 1/n, over 1e-4 here.)
        assert np.cumsum(f.shares)[:-1] == pytest.approx([np.mean(x <= e) for e in f.edges], abs=1e-9), name


def test_diabetes_sex_has_two_bins_and_a_one_sex_sample_drifts():
    x = load("diabetes")["sex"]
    tab = table({"sex": x}, "train")
    f = feature(tab, "sex")
    values, counts = np.unique(x, return_counts=True)
    assert len(values) == 2
    populated = [s for s in f.shares if s > 0]
    assert populated == pytest.approx((counts / len(x)).tolist(), abs=1e-12)
    one_sex = x[x == values[1]]
    d = ml.DriftSpec()
    got = mldrift.numeric(tab, table({"sex": one_sex}, "current"), "sex", ml.FeatureSpec(), d, None)
    # PSI straight from the raw value counts: current all in one value, reference its training shares.
    q = counts / len(x)
    p = np.array([0.0, 1.0])
    want = float(np.sum((p - q) * np.log((p + d.epsilon) / (q + d.epsilon))))
    assert got.psi == pytest.approx(want, rel=1e-12) and got.psi > 1
    # With two values the binned KS is the exact two-sample KS statistic.
    ks = stats.ks_2samp(x, one_sex)
    assert got.binned_ks == pytest.approx(ks.statistic, abs=1e-12) and got.binned_ks > 0.5
    assert got.drifted


@pytest.mark.parametrize(("dataset", "frame"), frames(), ids=list(LOADERS))
def test_a_range_at_the_training_min_and_max_leaves_training_in_range(dataset, frame, tmp_path):
    base = example_model(tmp_path, with_features=False)
    tab = table(frame, dataset)
    for name, x in frame.items():
        lo, hi = float(x.min()), float(x.max())
        f = feature(tab, name, (lo, hi))
        assert training_out_of_range_share(f) == 0, name
        # The runtime's buckets are the same edges: the training rows put nothing at or below the floor.
        coll = FeatureCollector((f,), base.metrics)
        for v in x:
            coll.observe({name: v})
        buckets = {s.labels["le"]: s.value for fam in coll.collect() if fam.type == "histogram"
                   for s in fam.samples if s.name.endswith("_bucket")}
        floor, top = buckets[le_text(m.range_floor(lo))], buckets[le_text(hi)]
        assert floor == 0 and top == len(x) == buckets["+Inf"], name
    model = dataclasses.replace(base, features=(f,))
    assert f'le="{plan_drift.q.number(m.range_floor(lo))}"' in plan_drift.out_of_range_share(model, f, 3_600_000)


def test_a_range_that_excludes_training_rows_is_reported():
    x = load("diabetes")["bmi"]
    tab = table({"bmi": x}, "train.csv")
    lo, hi = float(np.quantile(x, 0.05)), float(np.quantile(x, 0.9))
    outside = int(np.sum((x < lo) | (x > hi)))
    f = feature(tab, "bmi", (lo, hi))
    assert training_out_of_range_share(f) == pytest.approx(outside / len(x), abs=1e-12)
    spec = ml.FeatureSpec(range=(lo, hi))
    warnings = bl.range_warnings(tab, {"bmi": spec})
    assert len(warnings) == 1 and f"{outside} of {len(x)} training values" in warnings[0]
    inside = ml.FeatureSpec(range=(float(x.min()), float(x.max())))
    assert bl.range_warnings(tab, {"bmi": inside}) == []
