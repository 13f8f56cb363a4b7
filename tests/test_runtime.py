"""mlmon_codegen.runtime: the metrics match what the rules query; bad values are counted, never crash;
the ground-truth store is idempotent, bounded and survives a restart."""

from __future__ import annotations

import dataclasses
import math
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from runtime_helpers import example_model, rule_exprs, samples, unmatched_selectors, value

from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.runtime import UNKNOWN, GroundTruthStore, LabelResult, ModelMetrics
from mlmon_codegen.runtime.metrics import MAX_CLASSES
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.rules import rule_file as rules


@pytest.fixture
def model(tmp_path):
    return example_model(tmp_path)


def exercised(model: m.Model) -> ModelMetrics:
    """Every series the service can create exists: each class, an error, a label, the trained-at time."""
    mm = ModelMetrics(model)
    for c in model.classes:
        mm.record({"sepal_length": 5.0, "sepal_width": 3.0, "petal_length": 4.0, "petal_width": None,
                   "region": "eu"}, c, 0.55, 0.01)
    mm.record({"region": "mars"}, "not-a-class", 0.9, 0.2, error="ValueError")
    mm.record_label("setosa", "virginica", 120.0)
    mm.set_trained_at(1_700_000_000)
    return mm


def test_every_selector_in_the_generated_rules_matches_an_exposed_series(model):
    checked, missing = unmatched_selectors(rule_exprs(rules.render(model, m.DEFAULT_PROJECT)),
                                           exercised(model).exposition())
    assert missing == []
    assert checked >= 10  # the SLO rules alone read requests, errors, latency buckets and ground truth


def test_the_selector_check_catches_a_missing_threshold_bucket(model):
    """The check above can fail: a service without the 100ms bucket is reported."""
    wrong = dataclasses.replace(model, metrics=dataclasses.replace(model.metrics, latency_buckets=(0.05, 0.25)))
    _, missing = unmatched_selectors(rule_exprs(rules.render(model, m.DEFAULT_PROJECT)),
                                     exercised(wrong).exposition())
    assert missing and all("le" in x and "0.1" in x for x in missing)


def test_latency_buckets_contain_every_slo_threshold(model):
    text = exercised(model).exposition()
    les = {float(lab["le"]) for n, lab, _ in samples(text) if n == "ml_prediction_latency_seconds_bucket"}
    thresholds = {s.threshold_s for s in model.slos if s.threshold_s}
    assert thresholds == {0.1}
    assert thresholds <= les
    assert set(model.metrics.latency_buckets) | {math.inf} == les


def test_feature_buckets_are_the_baseline_edges_and_count_like_numpy(model):
    mm = ModelMetrics(model)
    rng = np.random.default_rng(7)
    values = rng.normal(4.0, 2.0, 500)
    edges = model.features[2].edges  # petal_length
    values[:5] = edges[:5]  # values exactly on an edge belong to that edge's bucket (le is <=)
    for v in values:
        mm.record({"petal_length": float(v)}, "setosa", 0.9, 0.01)
    text = mm.exposition()
    for e in edges:
        assert value(text, "ml_feature_value_bucket", feature="petal_length", le=repr(float(e))) == np.sum(values <= e)
    assert value(text, "ml_feature_value_bucket", feature="petal_length", le="+Inf") == len(values)
    assert value(text, "ml_feature_value_sum", feature="petal_length") == pytest.approx(values.sum())
    exposed = [lab["le"] for n, lab, _ in samples(text)
               if n == "ml_feature_value_bucket" and lab["feature"] == "petal_length"]
    assert exposed == [repr(float(e)) for e in edges] + ["+Inf"]
    # The other three numeric features were absent from every call: counted as missing.
    assert value(text, "ml_feature_missing_total", feature="sepal_width") == len(values)


def test_nan_inf_and_junk_feature_values_are_counted_not_crashing(model):
    mm = ModelMetrics(model)
    for v in (math.nan, None, "abc", math.inf, -math.inf, 5.0):
        mm.record({"petal_length": v}, "setosa", 0.9, 0.01)
    text = mm.exposition()
    assert value(text, "ml_feature_missing_total", feature="petal_length") == 3  # NaN, None, "abc"
    first = repr(float(model.features[2].edges[0]))
    assert value(text, "ml_feature_value_bucket", feature="petal_length", le=first) == 1  # -inf
    assert value(text, "ml_feature_value_bucket", feature="petal_length", le="+Inf") == 3
    assert value(text, "ml_feature_value_sum", feature="petal_length") == 5.0  # inf stays out of the sum


def test_unknown_classes_and_categories_are_counted_under_one_label(model):
    mm = ModelMetrics(model)
    mm.record({"region": "mars"}, "tulip", 0.7, 0.01)
    mm.record({"region": "venus"}, "rose", math.nan, 0.01)
    mm.record_label("tulip", "daisy", 10.0)
    text = mm.exposition()
    assert value(text, "ml_prediction_class_total", predicted_class=UNKNOWN) == 2
    assert value(text, "ml_prediction_confidence_count", predicted_class=UNKNOWN) == 1  # NaN not observed
    assert value(text, "ml_feature_category_total", feature="region", category=UNKNOWN) == 2
    assert value(text, "ml_ground_truth_total", predicted_class=UNKNOWN, actual_class=UNKNOWN) == 1
    # Declared classes exist from the start at zero, so shares and rates have every series.
    assert value(text, "ml_prediction_class_total", predicted_class="virginica") == 0


def test_class_cardinality_is_bounded_when_the_spec_lists_no_classes(model):
    mm = ModelMetrics(dataclasses.replace(model, classes=()))
    for i in range(MAX_CLASSES + 50):
        mm.record(None, f"c{i}", 0.5, 0.01)
    classes = {lab["predicted_class"] for n, lab, _ in samples(mm.exposition()) if n == "ml_prediction_class_total"}
    assert len(classes) == MAX_CLASSES + 1 and UNKNOWN in classes
    assert value(mm.exposition(), "ml_prediction_class_total", predicted_class=UNKNOWN) == 50


def test_context_manager_times_and_counts_errors_by_type(model):
    mm = ModelMetrics(model)
    with mm.predicting({"petal_length": 1.0}) as p:
        p.result("setosa", 0.8)
    with pytest.raises(KeyError), mm.predicting({"petal_length": 1.0}):
        raise KeyError("x")

    @mm.instrument
    def predict(features):
        return "versicolor", 0.6

    assert predict({"petal_length": 2.0}) == ("versicolor", 0.6)
    text = mm.exposition()
    assert value(text, "ml_prediction_requests_total") == 3
    assert value(text, "ml_prediction_errors_total", error_type="KeyError") == 1
    assert value(text, "ml_prediction_latency_seconds_count") == 3
    assert value(text, "ml_prediction_class_total", predicted_class="setosa") == 1
    assert value(text, "ml_feature_value_count", feature="petal_length") == 3  # a failed call's inputs count too


def test_trained_timestamp_is_exposed_only_once_set(model):
    mm = ModelMetrics(model)
    assert not [s for s in samples(mm.exposition()) if s[0] == model.metrics.trained_at]
    mm.set_trained_at(1_700_000_000.0)
    assert value(mm.exposition(), model.metrics.trained_at, model_version="1") == 1_700_000_000.0


def test_from_spec_reports_located_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: mlmon/v1\nkind: ModelMonitor\nmetadata: {name: x, team: t}\n"
                   "scrape: {targets: [a:1]}\nslos:\n  availability: {objective: 100}\n")
    with pytest.raises(SpecError) as err:
        ModelMetrics.from_spec(bad)
    assert f"{bad}:6:" in str(err.value)


# ---------------------------------------------------------------------------------- ground truth


def test_store_joins_late_labels_once_and_records_lag(tmp_path, model):
    mm = ModelMetrics(model)
    store = GroundTruthStore(tmp_path / "gt.sqlite", mm)
    assert store.log_prediction("a", "setosa", at=1000.0)
    assert not store.log_prediction("a", "virginica", at=1001.0)  # first prediction wins
    store.log_prediction("b", "versicolor", at=1000.0)
    assert store.add_label("a", "setosa", at=1000.0 + 7200) is LabelResult.COUNTED
    assert store.add_label("a", "setosa", at=1000.0 + 9000) is LabelResult.DUPLICATE
    assert store.add_label("a", "virginica", at=1000.0 + 9000) is LabelResult.DUPLICATE
    assert store.add_label("b", "virginica", at=1000.0 + 60) is LabelResult.COUNTED
    assert store.add_label("zzz", "setosa") is LabelResult.UNKNOWN_PREDICTION
    text = mm.exposition()
    assert value(text, "ml_ground_truth_total", predicted_class="setosa", actual_class="setosa") == 1
    assert value(text, "ml_ground_truth_total", predicted_class="versicolor", actual_class="virginica") == 1
    assert value(text, "ml_ground_truth_lag_seconds_sum") == 7260.0
    assert value(text, "ml_ground_truth_lag_seconds_bucket", le="60.0") == 1
    assert store.counts() == (2, 2)
    store.close()


def test_store_survives_a_restart_without_recounting(tmp_path, model):
    path = tmp_path / "gt.sqlite"
    first = GroundTruthStore(path, ModelMetrics(model))
    for i in range(10):
        first.log_prediction(f"p{i}", "setosa", at=100.0 + i)
    first.add_label("p0", "setosa", at=200.0)
    first.close()  # the process ends; its counters are gone

    mm = ModelMetrics(model)
    second = GroundTruthStore(path, mm)
    assert second.counts() == (10, 1)
    before = [s for s in samples(mm.exposition()) if s[0] == "ml_ground_truth_total"]
    # Nothing counted by an earlier process is exposed again: the pairs exist, all at zero.
    assert len(before) == 16 and all(v == 0 for _, _, v in before)
    assert second.add_label("p0", "setosa") is LabelResult.DUPLICATE
    assert second.add_label("p9", "virginica", at=400.0) is LabelResult.COUNTED
    assert second.get("p9") == ("setosa", 109.0, "virginica", 400.0)
    text = mm.exposition()
    assert value(text, "ml_ground_truth_total", predicted_class="setosa", actual_class="virginica") == 1
    assert sum(v for n, _, v in samples(text) if n == "ml_ground_truth_total") == 1
    second.close()


def test_store_retention_is_bounded_by_age_and_rows(tmp_path):
    now = [10_000.0]
    store = GroundTruthStore(tmp_path / "gt.sqlite", retention_s=1000, max_rows=5, clock=lambda: now[0])
    for i in range(8):
        store.log_prediction(f"old{i}", "setosa", at=8000.0 + i)  # older than now - retention
    for i in range(7):
        store.log_prediction(f"new{i}", "setosa", at=9500.0 + i)
    assert store.prune() == 8 + 2
    assert store.counts() == (5, 0)
    assert store.get("new1") is None and store.get("new2") is not None  # the oldest go first
    assert store.add_label("old0", "setosa") is LabelResult.UNKNOWN_PREDICTION


def test_store_counts_exactly_under_concurrent_writers(tmp_path, model):
    mm = ModelMetrics(model)
    store = GroundTruthStore(tmp_path / "gt.sqlite", mm)

    def work(t: int) -> None:
        for i in range(100):
            store.log_prediction(f"{t}-{i}", "setosa")
        for _ in range(2):  # every label twice: replays must not count
            for i in range(100):
                store.add_label(f"{t}-{i}", "versicolor")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert value(mm.exposition(), "ml_ground_truth_total", predicted_class="setosa", actual_class="versicolor") == 400
    store.close()


def test_store_keeps_logged_predictions_through_a_kill(tmp_path):
    """SIGKILL right after logging, as a crash would: every logged prediction is still there."""
    path = tmp_path / "gt.sqlite"
    child = (
        "import os, signal, sys\n"
        "from mlmon_codegen.runtime import GroundTruthStore\n"
        "s = GroundTruthStore(sys.argv[1])\n"
        "for i in range(50):\n"
        "    s.log_prediction(f'p{i}', 'setosa', at=100.0 + i)\n"
        "s.add_label('p3', 'virginica', at=500.0)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", child, str(path)], timeout=60)
    assert result.returncode == -signal.SIGKILL
    store = GroundTruthStore(path)
    assert store.counts() == (50, 1)
    assert store.add_label("p3", "virginica") is LabelResult.DUPLICATE
    assert store.add_label("p49", "setosa") is LabelResult.COUNTED
    store.close()


def test_a_fresh_model_metrics_exposes_every_known_series_at_zero(model):
    """increase() never counts a series' first sample: a series born with the first unseen class
    or category would lose that event after every start, so all of them exist before any traffic."""
    exposed = samples(ModelMetrics(model).exposition())
    at_zero = {(n, tuple(sorted(lab.items()))) for n, lab, v in exposed if v == 0}
    met = model.metrics
    name = met.model_label, model.name
    classes = [*model.classes, UNKNOWN]

    def total(counter: str) -> str:  # prometheus_client exposes a counter as <name>_total
        return counter.removesuffix("_total") + "_total"

    for c in classes:
        assert (total(met.predicted_class), tuple(sorted([name, ("predicted_class", c)]))) in at_zero, c
        assert (met.confidence + "_count", tuple(sorted([name, ("predicted_class", c)]))) in at_zero, c
        for actual in classes:
            truth = tuple(sorted([name, ("predicted_class", c), ("actual_class", actual)]))
            assert (total(met.ground_truth), truth) in at_zero, (c, actual)
    for f in model.features:
        feature = ("feature", f.name)
        if f.kind == "categorical":
            for cat in [*f.categories, UNKNOWN]:
                key = tuple(sorted([name, feature, ("category", cat)]))
                assert (total(met.feature_category), key) in at_zero, (f.name, cat)
            continue
        # Every bucket, and _count: prometheus_client drops _count when the first bucket is negative.
        for le in [*(repr(float(e)) for e in f.edges), "+Inf"]:
            assert (met.feature_value + "_bucket", tuple(sorted([name, feature, ("le", le)]))) in at_zero, (f.name, le)
        assert (met.feature_value + "_count", tuple(sorted([name, feature]))) in at_zero, f.name


def test_a_feature_with_negative_buckets_still_exposes_its_count(model):
    f = m.Feature("delta", "numeric", edges=(-2.0, -0.5, 1.0), shares=(0.25, 0.25, 0.25, 0.25))
    mm = ModelMetrics(dataclasses.replace(model, features=(f,)))
    values = [-3.0, -1.0, -1.0, 0.5, 4.0]
    for x in values:
        mm.record({"delta": x})
    text = mm.exposition()
    assert value(text, "ml_feature_value_count", feature="delta") == len(values)
    assert value(text, "ml_feature_value_sum", feature="delta") == pytest.approx(float(np.sum(values)))
    assert value(text, "ml_feature_value_bucket", feature="delta", le="-0.5") == np.sum(np.asarray(values) <= -0.5)
