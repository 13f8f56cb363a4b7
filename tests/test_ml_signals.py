"""ML-signal rules under promtool: drift (PSI, KS) against numpy on the same sample and bins,
and each alert firing and staying quiet. Expected values are computed here from the samples fed
in, never copied from output. One promtool run per scenario file keeps this to seconds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ROOT, invoke_mlmon
from prometheus_client.utils import floatToGoString

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.plan import burnrate
from mlmon_codegen.plan import drift as d
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

# promtool is required, as everywhere in the suite (`make tools` installs it): missing, these fail.

MODEL = "iris-full"
SEL = f'model_name="{MODEL}"'
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TOL = 1e-9


@pytest.fixture(scope="module")
def fleet(example_fleet):
    return example_fleet


@pytest.fixture(scope="module")
def model(fleet):
    return next(x for x in fleet.models if x.name == MODEL)


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory, fleet, model) -> Path:
    path = tmp_path_factory.mktemp("ml") / "rules.yml"
    path.write_text(dump_yaml(rules.render(model, fleet.project)))
    return path


def iris() -> dict[str, np.ndarray]:
    table = mldata.read_table(ROOT / "examples/data/iris.csv")
    return {f: mldata.numeric(table, f)[0] for f in FEATURES}


def drifted(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Sepal features shifted, petal features resampled from training: two of four drift."""
    rng = np.random.default_rng(seed)
    base = iris()
    idx = rng.integers(0, 150, n)
    return {"sepal_length": base["sepal_length"][idx] + 0.9, "sepal_width": base["sepal_width"][idx] - 0.5,
            "petal_length": base["petal_length"][idx], "petal_width": base["petal_width"][idx]}


def le_text(edge: float, go: bool) -> str:
    """Bucket labels as Go clients print them ("4", shortest round-trip like strconv's -1 precision)
    or as prometheus_client does ("4.0"); edges such as 3.9999999999999996 need all their digits."""
    return repr(float(edge)).removesuffix(".0") if go else floatToGoString(edge)


def histogram_series(model, sample: dict[str, np.ndarray], start: int, per_minute: bool,
                     length: int = 240) -> list[dict[str, str]]:
    """Feature histograms: 0 up to minute `start`, then the sample's cumulative counts.

    per_minute=False: one jump (the 1h window at start+60m holds exactly the sample).
    per_minute=True: the sample arrives every minute (any 1h window holds 60 copies, same shares).
    """
    out = []
    for i, f in enumerate(model.features):
        x = sample[f.name]
        cum = [int(np.sum(x <= e)) for e in f.edges] + [len(x)]
        les = [le_text(e, go=i % 2 == 1) for e in f.edges] + ["+Inf"]
        for le, c in zip(les, cum, strict=True):
            values = f"0x{start} 0+{c}x{length}" if per_minute else f"0x{start} {c}x{length}"
            out.append({"series": f'ml_feature_value_bucket{{{SEL}, feature="{f.name}", le="{le}"}}',
                        "values": values})
        values = f"0x{start} 0+{len(x)}x{length}" if per_minute else f"0x{start} {len(x)}x{length}"
        out.append({"series": f'ml_feature_value_count{{{SEL}, feature="{f.name}"}}', "values": values})
    return out


def expected(model, sample: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """PSI and binned KS per feature, by numpy on the same bins the rules use."""
    eps = model.ml.drift.epsilon
    out = {}
    for f in model.features:
        x = sample[f.name]
        counts = np.bincount(np.searchsorted(np.asarray(f.edges), x, side="left"), minlength=len(f.edges) + 1)
        p = counts / len(x)
        q = np.asarray(f.shares)
        psi = float(np.sum((p - q) * np.log((p + eps) / (q + eps))))
        ks = float(np.max(np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1])))
        out[f.name] = {"psi": psi, "ks": ks}
    return out


def near(expr: str, value: float, labels: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {TOL}", "eval_time": "2h",
            "exp_samples": [{"labels": labels, "value": 1}]}


def firing(alert: str, at: str, label_sets: list[str]) -> dict[str, Any]:
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": at,
            "exp_samples": [{"labels": f'ALERTS{{alertname="{alert}", alertstate="firing", {ls}}}', "value": 1}
                            for ls in label_sets]}


def run_promtool(rule_file: Path, tests: list[dict[str, Any]], evaluation_interval: str = "1m") -> None:
    """Long scenarios evaluate every 5m: the series keep 1m samples, so every value is the same."""
    test_file = rule_file.parent / f"t{len(list(rule_file.parent.iterdir()))}.test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [rule_file.name], "evaluation_interval": evaluation_interval,
                                         "tests": tests}, sort_keys=False))
    res = subprocess.run(["promtool", "test", "rules", test_file.name], cwd=rule_file.parent,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


ALERT_BASE = f'model="{MODEL}", team="ml-platform"'


def test_psi_and_ks_match_numpy_and_drift_alerts(model, rule_file):
    sample = drifted(400)
    exp = expected(model, sample)
    drifted_names = sorted(n for n, e in exp.items() if e["psi"] > model.ml.drift.psi_warn)
    assert drifted_names == ["sepal_length", "sepal_width"]  # the sample is built to drift these two
    # a bin with zero training share receives values: PSI stays finite thanks to epsilon smoothing
    sl = next(f for f in model.features if f.name == "sepal_length")
    assert sl.shares[-1] == 0 and np.any(sample["sepal_length"] > sl.edges[-1])
    severe = sorted(n for n, e in exp.items() if e["psi"] > model.ml.drift.psi_page)
    checks = []
    for name, e in exp.items():
        labels = f'{{feature="{name}", model="{MODEL}"}}'
        checks.append(near(f'mlmon_ml:feature_psi:increase1h{{feature="{name}"}}', e["psi"], labels))
        checks.append(near(f'mlmon_ml:feature_ks:increase1h{{feature="{name}"}}', e["ks"], labels))
    checks.append(near("mlmon_ml:drifted_features_share:increase1h", len(drifted_names) / 4, f'{{model="{MODEL}"}}'))
    checks.append(firing("FeatureDrift", "2h", [f'{ALERT_BASE}, severity="warning", feature="{n}"'
                                                for n in drifted_names]))
    checks.append(firing("FeatureDriftSevere", "2h", [f'{ALERT_BASE}, severity="critical", feature="{n}"'
                                                      for n in severe]))
    checks.append(firing("DatasetDrift", "2h", [f'{ALERT_BASE}, severity="warning"']))
    # before the drift window holds the sample: quiet
    checks.append({"expr": 'ALERTS{alertname=~"FeatureDrift.*|DatasetDrift"}', "eval_time": "59m",
                   "exp_samples": []})
    drift_case = {"interval": "1m", "input_series": histogram_series(model, sample, 60, False),
                  "promql_expr_test": checks}
    # training-like sample: PSI 0 (exactly the baseline's shares), every drift alert quiet
    base = iris()
    base_exp = expected(model, base)
    quiet = [near(f'mlmon_ml:feature_psi:increase1h{{feature="{n}"}}', e["psi"], f'{{feature="{n}", model="{MODEL}"}}')
             for n, e in base_exp.items()]
    quiet.append({"expr": 'ALERTS{alertname=~"FeatureDrift.*|DatasetDrift"}', "eval_time": "2h", "exp_samples": []})
    baseline_case = {"interval": "1m", "input_series": histogram_series(model, base, 60, False),
                     "promql_expr_test": quiet}
    # drifted, but fewer observations than drift.min_samples: PSI recorded, alerts quiet
    small = drifted(model.ml.drift.min_samples - 1)
    small_exp = expected(model, small)
    assert small_exp["sepal_length"]["psi"] > model.ml.drift.psi_page
    few = [near('mlmon_ml:feature_psi:increase1h{feature="sepal_length"}', small_exp["sepal_length"]["psi"],
                f'{{feature="sepal_length", model="{MODEL}"}}'),
           {"expr": 'ALERTS{alertname=~"FeatureDrift.*|DatasetDrift"}', "eval_time": "2h", "exp_samples": []}]
    small_case = {"interval": "1m", "input_series": histogram_series(model, small, 60, False),
                  "promql_expr_test": few}
    run_promtool(rule_file, [drift_case, baseline_case, small_case])


def test_offline_drift_psi_agrees_with_rules(model, tmp_path):
    """`mlmon drift` on the same samples gives the PSI the rules compute (checked against numpy above)."""
    sample = drifted(400)
    cur = tmp_path / "prod.csv"
    cur.write_text(",".join(FEATURES) + "\n" + "\n".join(
        ",".join(repr(float(sample[f][i])) for f in FEATURES) for i in range(400)) + "\n")
    res = invoke_mlmon("drift", "--reference", "examples/data/iris.csv", "--current", str(cur),
                       "--spec", "specs/iris-full.yaml", "--json")
    assert res.returncode == 1, res.stderr  # two of four features drifted: the 0.5 share is reached
    report = json.loads(res.stdout)
    exp = expected(model, sample)
    for row in report["features"]:
        assert abs(row["psi"] - exp[row["feature"]]["psi"]) < TOL
        assert abs(row["binned_ks"] - exp[row["feature"]]["ks"]) < TOL
    assert report["drifted"] is True and report["drifted_share"] == 0.5
    same = invoke_mlmon("drift", "--reference", "examples/data/iris.csv", "--current", "examples/data/iris.csv",
                        "--spec", "specs/iris-full.yaml")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no drift" in same.stdout


# ---------------------------------------------------------------- the other signals, fire and quiet


def counter(metric: str, labels: str, per_minute: float, minutes: int = 480) -> dict[str, str]:
    return {"series": f"{metric}{{{SEL}{', ' + labels if labels else ''}}}", "values": f"0+{per_minute}x{minutes}"}


def classes(rates: dict[str, float], minutes: int = 480) -> list[dict[str, str]]:
    return [counter("ml_prediction_class_total", f'predicted_class="{c}"', r, minutes) for c, r in rates.items()]


def quiet(alert: str, at: str) -> dict[str, Any]:
    """Not firing (it may be pending: quiet is what reaches Alertmanager)."""
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": at, "exp_samples": []}


def case(series: list[dict[str, str]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"interval": "1m", "input_series": series, "promql_expr_test": checks}


def at_time(check: dict[str, Any], when: str) -> dict[str, Any]:
    return {**check, "eval_time": when}


def test_skew_prediction_drift_and_confidence(model, rule_file):
    skewed = {"setosa": 100, "versicolor": 1, "virginica": 1}
    p = np.array([skewed[c] for c, _ in model.ml.class_priors] + [0]) / sum(skewed.values())
    q = np.array([v for _, v in model.ml.class_priors] + [0.0])
    eps = model.ml.drift.epsilon
    psi = float(np.sum((p - q) * np.log((p + eps) / (q + eps))))
    top = max(skewed.values()) / sum(skewed.values())
    assert top > model.ml.skew_share
    info = f'{ALERT_BASE}, severity="warning"'
    top_class = max(skewed, key=skewed.__getitem__)  # PredictionSkew names it
    skew = case(classes(skewed), [
        at_time(near("mlmon_ml:top_class_share:increase1h", top,
                     f'{{model="{MODEL}", predicted_class="{top_class}"}}'), "2h30m"),
        at_time(near("mlmon_ml:prediction_psi:increase1h", psi, f'{{model="{MODEL}"}}'), "2h30m"),
        firing("PredictionSkew", "2h30m", [f'{info}, predicted_class="{top_class}"']),
        firing("PredictionDrift", "2h30m", [info]),
        quiet("PredictionSkew", "50m"),  # the seed's `for: 1h` has not passed yet
    ])
    balanced = case(classes({"setosa": 34, "versicolor": 33, "virginica": 33}),
                    [quiet("PredictionSkew", "2h30m"), quiet("PredictionDrift", "2h30m")])
    # confidence: every prediction in the (0.4, 0.5] bucket, then every one above 0.9
    bounds = sorted(set(model_buckets()) | {model.ml.confidence_threshold, model.ml.confidence_floor})

    def confidence(low: float) -> list[dict[str, str]]:
        return [counter("ml_prediction_confidence_bucket", f'predicted_class="setosa", le="{floatToGoString(b)}"',
                        10 if b >= low else 0) for b in bounds] + [
            counter("ml_prediction_confidence_bucket", 'predicted_class="setosa", le="+Inf"', 10),
            counter("ml_prediction_confidence_count", 'predicted_class="setosa"', 10)]

    conf_labels = f'{info}, quantile="{model.ml.confidence_quantile!r}"'
    low = case(confidence(0.5) + classes({"setosa": 4, "versicolor": 3, "virginica": 3}), [
        at_time(near("mlmon_ml:confidence_below_floor_share:rate1h", 1.0,
                     f'{{le="{model.ml.confidence_floor!r}", model="{MODEL}"}}'), "2h30m"),
        firing("LowConfidence", "2h30m", [conf_labels])])
    high = case(confidence(0.95) + classes({"setosa": 4, "versicolor": 3, "virginica": 3}),
                [quiet("LowConfidence", "2h30m")])
    run_promtool(rule_file, [skew, balanced, low, high])


def model_buckets() -> tuple[float, ...]:
    from mlmon_codegen.spec.model import DEFAULT_CONFIDENCE_BUCKETS

    return DEFAULT_CONFIDENCE_BUCKETS


def test_out_of_range(model, rule_file):
    sample = iris()
    x = sample["sepal_length"].copy()
    x[::10] = 9.5  # every tenth value above the expected range's top
    sample["sepal_length"] = x
    lo, hi = next(f.expected_range for f in model.features if f.name == "sepal_length")
    share = float(np.mean((x <= lo) | (x > hi)))
    assert share > model.ml.out_of_range_max
    fire = case(histogram_series(model, sample, 60, False), [
        near('mlmon_ml:feature_out_of_range_share:increase1h{feature="sepal_length"}', share,
             f'{{feature="sepal_length", model="{MODEL}"}}'),
        firing("FeatureOutOfRange", "2h", [f'{ALERT_BASE}, severity="warning", feature="sepal_length"'])])
    calm = case(histogram_series(model, iris(), 60, False), [quiet("FeatureOutOfRange", "2h")])
    run_promtool(rule_file, [fire, calm])


def test_accuracy_burn_class_quality_and_accuracy_trigger(model, rule_file):
    def truth(wrong: float) -> list[dict[str, str]]:
        return [counter("ml_ground_truth_total", 'predicted_class="setosa", actual_class="setosa"', 10),
                counter("ml_ground_truth_total", 'predicted_class="setosa", actual_class="versicolor"', wrong),
                counter("ml_prediction_requests_total", "", 20)]

    slo = next(s for s in model.slos if s.kind == "accuracy")
    paging = [t for t in burnrate.tiers(slo) if t.severity == "critical"]
    # wrong labels per minute, for 10 right ones: an error ratio above every paging threshold
    target = (1 + max(t.threshold for t in paging)) / 2
    wrong = int(np.ceil(10 * target / (1 - target)))
    error_ratio = wrong / (10 + wrong)
    critical = [t for t in paging if t.threshold < error_ratio]
    assert critical and error_ratio < 1
    burn = 'ALERTS{alertname=~"AccuracyErrorBudgetBurn.*", alertstate="firing", severity="critical"}'
    retrain = f'{ALERT_BASE}, severity="info", action="retrain"'
    labels = f'{{class="setosa", model="{MODEL}"}}'
    predicted = 10 + wrong
    bad = case(truth(wrong), [
        {"expr": f"count({burn})", "eval_time": "1h", "exp_samples": [{"labels": "{}", "value": len(critical)}]},
        at_time(near("mlmon_ml:class_precision:increase1d{class=\"setosa\"}", 10 / predicted, labels), "1h"),
        at_time(near("mlmon_ml:class_recall:increase1d{class=\"setosa\"}", 1.0, labels), "1h"),
        at_time(near("mlmon_ml:class_f1:increase1d{class=\"setosa\"}", 2 * 10 / (predicted + 10), labels), "1h"),
        at_time(near("mlmon_ml:class_recall:increase1d{class=\"versicolor\"}", 0.0,
                     f'{{class="versicolor", model="{MODEL}"}}'), "1h"),
        at_time(near("mlmon_ml:accuracy:increase1d", 10 / predicted, f'{{model="{MODEL}"}}'), "1h"),
        firing("RetrainOnLowAccuracy", "1h", [retrain])])
    good = case(truth(0), [{"expr": burn, "eval_time": "1h", "exp_samples": []}, quiet("RetrainOnLowAccuracy", "1h")])
    run_promtool(rule_file, [bad, good])


def test_no_labels_and_retraining_triggers(model, rule_file):
    hours = model.ml.no_labels_for_ms // 3_600_000
    minutes = (hours + 2) * 60
    # labels for the first hour, then none: quiet while the window still holds some, then firing
    stop = [counter("ml_prediction_requests_total", "", 10, minutes),
            {"series": f'ml_ground_truth_total{{{SEL}, predicted_class="setosa", actual_class="setosa"}}',
             "values": f"0+5x60 300+0x{minutes - 60}"}]
    no_labels = case(stop, [quiet("NoGroundTruthLabels", f"{hours - 1}h"),
                            firing("NoGroundTruthLabels", f"{hours + 1}h30m", [f'{ALERT_BASE}, severity="warning"'])])
    flowing = case([counter("ml_prediction_requests_total", "", 10, minutes),
                    counter("ml_ground_truth_total", 'predicted_class="setosa", actual_class="setosa"', 5, minutes)],
                   [quiet("NoGroundTruthLabels", f"{hours + 1}h30m")])
    retrain = f'{ALERT_BASE}, severity="info", action="retrain"'
    # sustained drift: half the features drifted for longer than sustained_drift_for
    sustain_h = model.ml.retrain_drift_for_ms // 3_600_000
    drift_series = histogram_series(model, drifted(400), 0, True, (sustain_h + 2) * 60)
    sustained = case(drift_series, [firing("DatasetDrift", "1h30m", [f'{ALERT_BASE}, severity="warning"']),
                                    quiet("RetrainOnSustainedDrift", f"{sustain_h - 1}h"),
                                    firing("RetrainOnSustainedDrift", f"{sustain_h + 1}h30m", [retrain])])
    steady = case(histogram_series(model, iris(), 0, True, (sustain_h + 2) * 60),
                  [quiet("RetrainOnSustainedDrift", f"{sustain_h + 1}h30m")])
    # staleness: trained longer ago than max_age (promtool's clock starts at 0, so "long ago" is negative)
    max_age_s = model.ml.retrain_max_age_ms // 1000

    def trained(ts: int) -> dict[str, str]:
        return {"series": f'ml_model_trained_timestamp_seconds{{{SEL}, model_version="1.0.0"}}',
                "values": f"{ts}+0x300"}

    stale = case([trained(-2 * max_age_s)], [firing("RetrainOnStaleModel", "30m", [retrain])])
    fresh = case([trained(0)], [quiet("RetrainOnStaleModel", "30m")])
    # new labels: 6000 labels an hour; counted only in hourly steps that start after training
    need = model.ml.retrain_new_labels
    per_hour = 6000
    gt = counter("ml_ground_truth_total", 'predicted_class="setosa", actual_class="setosa"', per_hour // 60, 300)
    since_0 = sum(per_hour for h in range(1, 5) if h * 3600 - 3600 >= 0)
    since_3h = sum(per_hour for h in range(1, 5) if h * 3600 - 3600 >= 3 * 3600)
    assert since_0 >= need > since_3h
    many = case([gt, trained(0)], [firing("RetrainOnNewLabels", "4h", [retrain])])
    few = case([gt, trained(3 * 3600)], [quiet("RetrainOnNewLabels", "4h")])
    run_promtool(rule_file, [no_labels, flowing, sustained, steady, stale, fresh, many, few], "5m")


# ---------------------------------------------------------------- categorical features and missing values

SHOP_SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: shop, team: growth}
model: {classes: [buy, skip]}
scrape: {targets: ["shop:8000"]}
features:
  color: {type: categorical, allow_missing: false}
  price: {type: numeric, range: [0, 100]}
drift: {min_samples: 50, bins: 5}
"""


def test_categorical_psi_unseen_category_and_missing_values(tmp_path):
    rng = np.random.default_rng(11)
    colors = rng.choice(["red", "green", "blue"], size=300, p=[0.5, 0.3, 0.2])
    prices = rng.gamma(4, 8, size=300).round(2)
    labels = rng.choice(["buy", "skip"], size=300)
    (tmp_path / "shop.yaml").write_text(SHOP_SPEC)
    (tmp_path / "train.csv").write_text("color,price,label\n" + "".join(
        f"{c},{p},{lab}\n" for c, p, lab in zip(colors, prices, labels, strict=True)))
    res = invoke_mlmon("baseline", "--data", str(tmp_path / "train.csv"), "--spec", str(tmp_path / "shop.yaml"))
    assert res.returncode == 0, res.stderr
    fleet = load_and_validate([tmp_path / "shop.yaml"]).fleet
    model = fleet.models[0]
    color = next(f for f in model.features if f.kind == "categorical")
    assert color.categories == ("blue", "green", "red")
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(dump_yaml(rules.render(model, fleet.project)))
    # production: red and green swap places, and a category training never saw appears
    now = {"red": 30, "green": 50, "blue": 10, "purple": 10}
    cats = [*color.categories, "(other)"]
    p = np.array([now.get(c, 0) for c in color.categories] + [now["purple"]]) / sum(now.values())
    q = np.array([*color.category_shares, 0.0])
    eps = model.ml.drift.epsilon
    psi = float(np.sum((p - q) * np.log((p + eps) / (q + eps))))
    assert len(cats) == len(p)
    shop = 'model_name="shop"'
    series = [{"series": f'ml_feature_category_total{{{shop}, feature="color", category="{c}"}}',
               "values": f"0x60 {n}x60"} for c, n in now.items()]
    series.append({"series": f'ml_feature_missing_total{{{shop}, feature="color"}}', "values": "0x60 5x60"})
    base = 'model="shop", team="growth"'
    checks = [
        {"expr": f'abs(mlmon_ml:feature_psi:increase1h{{feature="color"}} - {psi!r}) <= bool {TOL}', "eval_time": "2h",
         "exp_samples": [{"labels": '{feature="color", model="shop"}', "value": 1}]},
        {"expr": f'abs(mlmon_ml:feature_missing_share:increase1h{{feature="color"}} - {5 / 105!r}) <= bool {TOL}',
         "eval_time": "2h", "exp_samples": [{"labels": '{feature="color", model="shop"}', "value": 1}]},
        firing("FeatureDrift", "2h", [f'{base}, severity="warning", feature="color"']),
        firing("FeatureMissingValues", "2h", [f'{base}, severity="warning", feature="color"']),
    ]
    calm = [{"series": f'ml_feature_category_total{{{shop}, feature="color", category="{c}"}}',
             "values": f"0x60 {round(s * 1000)}x60"} for c, s in zip(color.categories, color.category_shares,
                                                                     strict=True)]
    run_promtool(rule_file, [case(series, checks),
                             case(calm, [quiet("FeatureDrift", "2h"), quiet("FeatureMissingValues", "2h")])])


def test_labels_since_training_has_a_value_from_the_first_scrape(model, rule_file):
    """Issue 18: the count (panel and RetrainOnNewLabels) summed whole hours after training only, so a
    model trained less than one to two hours ago showed "No data". Trained at minute 0, 100 labels
    a minute: 0 until the first 5-minute step after training ends, then every label of the steps
    since (the young model's steps are 5 minutes, aligned to multiples of 5 minutes)."""
    per_minute = 100
    step_min = d.YOUNG_STEP_MS // 60_000
    expr = d.labels_since_training(model, model.ml.retrain_max_age_ms)
    gt = counter("ml_ground_truth_total", 'predicted_class="setosa", actual_class="setosa"', per_minute, 180)
    trained = {"series": f'ml_model_trained_timestamp_seconds{{{SEL}, model_version="1.0.0"}}', "values": "0+0x180"}

    def within(minutes: int, value: float) -> dict[str, Any]:
        # 1% either way: increase() extrapolates a little at the series' first samples
        return {"expr": f"(({expr}) >= bool {value * 0.99!r}) * (({expr}) <= bool {value * 1.01 + 1e-9!r})",
                "eval_time": f"{minutes}m", "exp_samples": [{"labels": "{}", "value": 1}]}

    checks = [within(0, 0), within(3, 0)]
    for minutes in (7, 30, 59, 61, 100):
        counted_to = minutes // step_min * step_min  # the last step that has ended
        checks.append(within(minutes, per_minute * counted_to))
    run_promtool(rule_file, [case([gt, trained], checks)])
    # Without a training time there is nothing to count from: no value rather than a made-up 0.
    run_promtool(rule_file, [case([gt], [{"expr": expr, "eval_time": "30m", "exp_samples": []}])])
