"""The metric contract for services mlmon did not instrument (presets, per-role matchers, label
names, select or an existing scrape job, success-only requests, per-feature histograms, min/max
gauges), proved under promtool: series in, expected values computed here from the numbers fed in.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import invoke_mlmon

from mlmon_codegen.spec.validate import load_and_validate

TOL = 1e-9
HEAD = "apiVersion: mlmon/v1\nkind: ModelMonitor\n"
AVAILABILITY = "slos:\n  availability: {objective: 99.9, period: 30d}\n"


def generate(folder: Path, name: str, body: str) -> Path:
    """The spec's output, with the model's own dashboard (`dashboards: per_model`): the panels that
    read the service's metrics under their own names are there."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mlmon.yaml").write_text("apiVersion: mlmon/v1\nkind: Project\nmetadata: {name: p}\n"
                                       "dashboards: per_model\n")
    spec = folder / f"{name}.yaml"
    spec.write_text(HEAD + f"metadata: {{name: {name}, team: t}}\n" + body)
    res = invoke_mlmon("generate", str(spec), "-o", str(folder / "out"))
    assert res.returncode == 0, res.stderr
    return folder / "out"


def rule_file(out: Path, name: str) -> Path:
    return out / "prometheus" / "rules" / f"{name}.rules.yml"


def rules(out: Path, name: str) -> dict[str, list[str]]:
    """Rule name → its expressions (a recording name repeats per label set)."""
    found: dict[str, list[str]] = {}
    for group in yaml.safe_load(rule_file(out, name).read_text())["groups"]:
        for r in group["rules"]:
            found.setdefault(r.get("alert") or r["record"], []).append(r["expr"])
    return found


def promtool(out: Path, name: str, series: list[dict[str, str]], checks: list[dict[str, Any]],
             interval: str = "1m") -> None:
    test = out / f"contract-{len(list(out.glob('contract-*')))}.test.yml"
    order = [g["name"] for g in yaml.safe_load(rule_file(out, name).read_text())["groups"]]  # file order
    test.write_text(yaml.safe_dump({
        "rule_files": [str(rule_file(out, name))], "evaluation_interval": "1m", "group_eval_order": order,
        "tests": [{"interval": interval, "input_series": series, "promql_expr_test": checks}]}, sort_keys=False))
    res = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def generated_tests_pass(out: Path) -> None:
    """mlmon's own unit tests for the model (synthetic series from the matchers) pass as well."""
    for test in sorted((out / "tests").glob("*.test.yml")):
        res = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def near(expr: str, value: float, labels: str, at: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {TOL}", "eval_time": at,
            "exp_samples": [{"labels": labels, "value": 1}]}


def firing(alert: str, at: str, labels: list[str]) -> dict[str, Any]:
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": at,
            "exp_samples": [{"labels": f'ALERTS{{alertname="{alert}", alertstate="firing", {ls}}}', "value": 1}
                            for ls in labels]}


def quiet(alert: str, at: str) -> dict[str, Any]:
    return {"expr": f'ALERTS{{alertname="{alert}"}}', "eval_time": at, "exp_samples": []}


def counter(per_minute: float, minutes: int = 180) -> str:
    return f"0+{per_minute:g}x{minutes}"


# ---------------------------------------------------------------- 1. tutorial-a: successes-only requests

TUT_A = 'scrape: {targets: ["tut-a:8000"]}\nmetrics: {preset: tutorial-a}\n' + AVAILABILITY
RATIO_A = 'mlmon_slo:error_ratio:rate5m{model="tut-a", slo="availability"}'
LABELS_A = '{model="tut-a", slo="availability"}'
UP_A = {"series": 'up{job="mlmon-tut-a", instance="tut-a:8000"}', "values": "1x180"}


def test_tutorial_a_error_ratio_counts_failed_requests_in_the_total(tmp_path):
    out = generate(tmp_path, "tut-a", TUT_A)
    good, bad = 49, 51
    series = [UP_A,
              {"series": 'ml_predictions_total{job="mlmon-tut-a", class_label="cat"}', "values": counter(good)},
              {"series": 'ml_prediction_errors_total{job="mlmon-tut-a"}', "values": counter(bad)}]
    ratio = bad / (good + bad)  # not bad / good: the counter of successes leaves the failures out
    assert ratio != pytest.approx(bad / good)
    promtool(out, "tut-a", series, [near(RATIO_A, ratio, LABELS_A, "1h"), quiet("ModelDown", "1h")])
    generated_tests_pass(out)


def test_tutorial_a_every_request_failing_gives_ratio_one_and_no_model_down(tmp_path):
    out = generate(tmp_path, "tut-a", TUT_A)
    # A labelled prometheus_client counter has no series before its first success: absent.
    errors_only = [UP_A, {"series": 'ml_prediction_errors_total{job="mlmon-tut-a"}', "values": counter(51)}]
    zero_successes = [*errors_only,
                      {"series": 'ml_predictions_total{job="mlmon-tut-a", class_label="cat"}', "values": "0x180"}]
    for series in (errors_only, zero_successes):
        promtool(out, "tut-a", series, [
            near(RATIO_A, 1.0, LABELS_A, "1h"),  # 51 / (0 + 51), never 51 / 0 = +Inf
            {"expr": f"{RATIO_A} == +Inf", "eval_time": "1h", "exp_samples": []},
            quiet("ModelDown", "1h"),
            firing("AvailabilityErrorBudgetBurnPageFast", "1h",
                   ['model="tut-a", team="t", severity="critical", slo="availability", tier="page-fast"'])])


def test_tutorial_a_model_down_still_fires_on_no_traffic(tmp_path):
    """The quiet cases above can fail: with neither successes nor errors the model is down."""
    out = generate(tmp_path, "tut-a", TUT_A)
    series = [UP_A, {"series": 'ml_prediction_errors_total{job="mlmon-tut-a"}', "values": "0x180"},
              {"series": 'ml_predictions_total{job="mlmon-tut-a", class_label="cat"}', "values": "0x180"}]
    promtool(out, "tut-a", series, [firing("ModelDown", "1h", ['model="tut-a", team="t", severity="critical"'])])


# ---------------------------------------------------------------- 2. tutorial-b: class shares, PredictionSkew

TUT_B = 'scrape: {targets: ["tut-b:8000"]}\nmetrics: {preset: tutorial-b}\npredictions: {}\n'
TOP_B = 'mlmon_ml:top_class_share:increase1h{model="tut-b"}'


def test_tutorial_b_balanced_classes_do_not_skew_and_one_class_does(tmp_path):
    out = generate(tmp_path, "tut-b", TUT_B)
    classes = ["setosa", "versicolor", "virginica"]
    per_minute = 40  # 3 * 40 * 60 = 7200 predictions an hour, well above min_samples (100)

    def predictions(counts: dict[str, int]) -> list[dict[str, str]]:
        return [{"series": f'ml_predictions_total{{job="mlmon-tut-b", result_class="{c}"}}',
                 "values": counter(n, 240)} for c, n in counts.items()]

    balanced = {c: per_minute for c in classes}
    promtool(out, "tut-b", predictions(balanced), [  # a tie: the recording names any one of the three
        near(f"max without (result_class) ({TOP_B})", max(balanced.values()) / sum(balanced.values()),
             '{model="tut-b"}', "2h"),
        quiet("PredictionSkew", "3h")])
    skewed = {"setosa": 3 * per_minute, "versicolor": 0, "virginica": 0}
    promtool(out, "tut-b", predictions(skewed), [  # the top class is named, in the service's own label
        near(TOP_B, 1.0, '{model="tut-b", result_class="setosa"}', "2h"),
        firing("PredictionSkew", "3h", ['model="tut-b", team="t", severity="warning", result_class="setosa"'])])
    assert any("by (result_class)" in e for e in rules(out, "tut-b")["mlmon_ml:top_class_share:increase1h"])
    generated_tests_pass(out)


CONF_ONLY = ('scrape: {targets: ["conf:8000"]}\nmetrics: {preset: tutorial-b, predicted_class: null}\n'
             'predictions: {confidence: {quantile: 0.5, threshold: 0.6}}\n')


def test_low_confidence_without_a_class_counter_fires_on_low_confidences(tmp_path):
    """The sample guard then counts the confidence histogram, whose sum carries no model label."""
    out = generate(tmp_path, "conf", CONF_ONLY)
    bounds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]

    def confidences(value: float, per_minute: int = 20) -> list[dict[str, str]]:
        buckets = [(f"{b:g}", value <= b) for b in bounds] + [("+Inf", True)]
        return [{"series": f'ml_prediction_confidence_bucket{{job="mlmon-conf", le="{le}"}}',
                 "values": counter(per_minute if inside else 0, 240)} for le, inside in buckets] + [
                {"series": 'ml_prediction_confidence_count{job="mlmon-conf"}', "values": counter(per_minute, 240)}]

    low = ['model="conf", quantile="0.5", team="t", severity="warning"']
    promtool(out, "conf", confidences(0.35), [firing("LowConfidence", "3h", low)])
    promtool(out, "conf", confidences(0.85), [quiet("LowConfidence", "3h")])


# ---------------------------------------------------------------- 3. errors as matchers over the requests counter

WEB = ('scrape: {targets: ["web:8000"]}\nmetrics:\n  select: {}\n  requests: http_requests_total\n'
       '  errors: {name: http_requests_total, matchers: {status: {regex: "5.."}}}\n  latency: null\n' + AVAILABILITY)


def test_errors_are_the_5xx_series_of_the_requests_counter(tmp_path):
    out = generate(tmp_path, "web", WEB)
    per_minute = {"200": 90, "5xx": 6, "503": 4}
    series = [{"series": 'up{job="mlmon-web", instance="web:8000"}', "values": "1x180"}]
    series += [{"series": f'http_requests_total{{job="mlmon-web", status="{s}"}}', "values": counter(n)}
               for s, n in per_minute.items()]
    ratio = (per_minute["5xx"] + per_minute["503"]) / sum(per_minute.values())
    promtool(out, "web", series, [
        near('mlmon_slo:error_ratio:rate5m{model="web", slo="availability"}', ratio,
             '{model="web", slo="availability"}', "1h")])
    generated_tests_pass(out)


# ---------------------------------------------------------------- 4. each ML section turns on its own rules


def test_predictions_alone_give_no_ground_truth_or_retraining_alerts(tmp_path):
    scrape = 'scrape: {targets: ["m:8000"]}\n'
    only = rules(generate(tmp_path / "a", "m", scrape + "predictions: {}\n"), "m")
    assert "PredictionSkew" in only
    assert "NoGroundTruthLabels" not in only
    assert not [n for n in only if n.startswith("Retrain")]
    with_labels = rules(generate(tmp_path / "b", "m", scrape + "predictions: {}\nground_truth: {}\n"), "m")
    assert "NoGroundTruthLabels" in with_labels
    assert not [n for n in with_labels if n.startswith("Retrain")]


# ---------------------------------------------------------------- 5. no scrape section: an existing job


@pytest.mark.parametrize("name, body, up", [
    ("their", "metrics:\n  select: {job: their-job}\n", None),
    ("their2", "scrape: {job: their-job}\nmetrics: {select: {}}\n", 'up{job="their-job"}'),
], ids=["select-job", "scrape-job"])
def test_an_existing_scrape_job_gets_no_mlmon_job(tmp_path, name, body, up):
    out = generate(tmp_path, name, body + AVAILABILITY)
    config = yaml.safe_load((out / "prometheus" / "prometheus.yml").read_text())
    assert not config["scrape_configs"], "mlmon writes no scrape job for series another job collects"
    (down,) = rules(out, name)["ModelDown"]
    assert 'job="mlmon-' not in down
    if up:
        assert up in down
    else:
        assert "up{" not in down
    requests = f'ml_prediction_requests_total{{job="their-job", instance="a:1", model_name="{name}"}}'
    alert = f'model="{name}", team="t", severity="critical"'
    ups = [{"series": up.replace("}", ', instance="a:1"}'), "values": "1x90"}] if up else []
    # Absent series: with no `up` to read, the model's own counter says whether it is scraped.
    other = [{"series": 'ml_prediction_requests_total{job="another-job", instance="b:1"}', "values": counter(5, 90)}]
    promtool(out, name, ups + other, [firing("ModelDown", "20m", [alert])] if not up else [])
    promtool(out, name, [*ups, {"series": requests, "values": counter(10, 90)}], [quiet("ModelDown", "30m")])
    generated_tests_pass(out)


@pytest.mark.parametrize(("body", "title"), [
    ("metrics:\n  select: {job: their-job}\n", "Predictions per second"),
    ("scrape: {job: their-job}\nmetrics: {select: {}}\n", "Targets up"),
], ids=["no-known-job", "their-job"])
def test_model_down_opens_a_panel_the_dashboard_draws(tmp_path, body, title):
    """Without a known job there is no `up` to show: ModelDown's link opens the traffic instead."""
    out = generate(tmp_path, "linked", body + AVAILABILITY)
    board = json.loads((out / "grafana" / "dashboards" / "linked.json").read_text())
    ids = {p["title"]: p["id"] for p in board["panels"] if "title" in p}
    (down,) = [r for g in yaml.safe_load(rule_file(out, "linked").read_text())["groups"] for r in g["rules"]
               if r.get("alert") == "ModelDown"]
    assert down["annotations"]["dashboard_url"].endswith(f"viewPanel={ids[title]}")


def test_down_model_behind_an_existing_job_pages(tmp_path):
    """scrape.job: its `up` is read, so a target down there pages."""
    out = generate(tmp_path, "their2", "scrape: {job: their-job}\nmetrics: {select: {}}\n" + AVAILABILITY)
    promtool(out, "their2", [{"series": 'up{job="their-job", instance="a:1"}', "values": "0x90"}],
             [firing("ModelDown", "20m", ['model="their2", team="t", severity="critical"'])])


# ---------------------------------------------------------------- 6. gauge-only features (min/max)

GAUGES = 'scrape: {targets: ["tut-a:8000"]}\nmetrics: {preset: tutorial-a}\nfeatures:\n  x: {range: [0, 10]}\n'


def test_gauge_only_features_get_range_checks_and_no_drift(tmp_path):
    out = generate(tmp_path, "tut-a", GAUGES)
    found = rules(out, "tut-a")
    assert "FeatureExtremeOutOfRange" in found
    assert not {"FeatureDrift", "FeatureDriftSevere", "DatasetDrift", "FeatureOutOfRange"} & set(found)
    assert not [n for n in found if n.startswith("mlmon_ml:feature")]
    (expr,) = found["FeatureExtremeOutOfRange"]
    assert 'ml_feature_max{job="mlmon-tut-a", feature_name="x"}' in expr
    lo, hi = 0, 10
    inside = {"series": 'ml_feature_min{job="mlmon-tut-a", feature_name="x"}', "values": f"{lo + 1}x240"}

    def max_gauge(values: str) -> dict[str, str]:
        return {"series": 'ml_feature_max{job="mlmon-tut-a", feature_name="x"}', "values": values}

    alert = 'model="tut-a", team="t", severity="warning", feature="x"'
    # 5 minutes above the max at minute 30: within the 1h window until 1h35m, firing after `for` (15m).
    spike = max_gauge(f"{hi - 1}x30 {hi + 2}x5 {hi - 1}x200")
    promtool(out, "tut-a", [inside, spike], [firing("FeatureExtremeOutOfRange", "1h", [alert]),
                                             quiet("FeatureExtremeOutOfRange", "2h")])
    promtool(out, "tut-a", [inside, max_gauge(f"{hi}x240")], [quiet("FeatureExtremeOutOfRange", "1h")])
    below = {"series": 'ml_feature_min{job="mlmon-tut-a", feature_name="x"}', "values": f"{lo - 1}x240"}
    promtool(out, "tut-a", [below, max_gauge(f"{hi}x240")], [firing("FeatureExtremeOutOfRange", "1h", [alert])])
    generated_tests_pass(out)


def test_gauge_only_features_validate_without_a_baseline_or_warning(tmp_path):
    """A gauge-only feature with a range needs no baseline, and validation must not trip on it
    having no bins (it raised ValueError from the training-share range warning)."""
    spec = tmp_path / "tut-a.yaml"
    spec.write_text(HEAD + "metadata: {name: tut-a, team: t}\n" + GAUGES)
    result = load_and_validate([spec])
    assert result.warnings == []
    (f,) = result.fleet.models[0].features
    assert f.gauges_only and f.expected_range == (0, 10)


def test_preset_without_scrape_warns_that_nothing_selects_the_model(tmp_path):
    spec = tmp_path / "tut-a.yaml"
    spec.write_text(HEAD + "metadata: {name: tut-a, team: t}\nmetrics: {preset: tutorial-a}\n")
    (warning,) = load_and_validate([spec]).warnings
    assert warning.warning and warning.field == "metrics.select" and warning.line == 4
    assert "nothing selects this model's series" in warning.message


# ---------------------------------------------------------------- 7. a feature's own histogram

AGE_EDGES = [18.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0]
AGES = ('scrape: {targets: ["ages:8000"]}\nfeatures:\n  age: {metric: ml_input_feature_age, '
        "buckets: [18, 25, 35, 45, 55, 65, 75], range: [18, 75]}\n")


def _ages_model(tmp_path: Path, train: np.ndarray) -> Path:
    spec = tmp_path / "ages.yaml"
    spec.write_text(HEAD + "metadata: {name: ages, team: t}\n" + AGES)
    csv = tmp_path / "train.csv"
    csv.write_text("age\n" + "\n".join(f"{v:g}" for v in train) + "\n")
    res = invoke_mlmon("baseline", "--data", str(csv), "--spec", str(spec), "--no-label")
    assert res.returncode == 0, res.stderr
    res = invoke_mlmon("generate", str(spec), "-o", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    return tmp_path / "out"


def _bins(values: np.ndarray) -> np.ndarray:
    """Counts per bin with `le` semantics: (edges[i-1], edges[i]], and the last bin above the top."""
    return np.bincount(np.searchsorted(np.asarray(AGE_EDGES), values, side="left"), minlength=len(AGE_EDGES) + 1)


def test_own_histogram_feature_baseline_bins_on_its_buckets_and_psi_matches_numpy(tmp_path):
    rng = np.random.default_rng(3)
    train = rng.integers(18, 76, 1000).astype(float)
    out = _ages_model(tmp_path, train)
    baseline = yaml.safe_load((tmp_path / "ages.baseline.yaml").read_text())["features"]["age"]
    assert baseline["edges"] == AGE_EDGES, "`mlmon baseline` bins on the histogram's own buckets"
    q = _bins(train) / len(train)
    assert baseline["shares"] == pytest.approx(q.tolist(), abs=1e-12)

    found = rules(out, "ages")
    reads = [sel for exprs in found.values() for e in exprs
             for sel in re.findall(r"ml_input_feature_age_\w+\{[^}]*\}", e)]
    assert reads and all('feature="' not in sel and "feature_name=" not in sel for sel in reads)
    assert any(sel.startswith("ml_input_feature_age_bucket{") for sel in reads)
    # Other roles still tell the feature apart by its label (not every missing value of the model).
    assert 'ml_feature_missing_total{model_name="ages", feature="age"}' in found[
        "mlmon_ml:feature_missing_share:increase1h"][0]

    current = np.clip(rng.normal(60, 9, 2000).round(), 0, 90)  # older traffic: drifted
    cum = np.cumsum(_bins(current))
    series = [{"series": f'ml_input_feature_age_bucket{{model_name="ages", le="{le:g}"}}',
               "values": f"0x10 {int(c)}x200"} for le, c in zip(AGE_EDGES, cum[:-1], strict=True)]
    series.append({"series": 'ml_input_feature_age_bucket{model_name="ages", le="+Inf"}',
                   "values": f"0x10 {len(current)}x200"})
    series.append({"series": 'ml_input_feature_age_count{model_name="ages"}', "values": f"0x10 {len(current)}x200"})
    eps = 1e-4  # drift.epsilon's default, the smoothing plan/drift.py psi() applies
    p = _bins(current) / len(current)
    q_file = np.asarray(baseline["shares"])
    psi = float(np.sum((p - q_file) * np.log((p + eps) / (q_file + eps))))
    assert psi > 0.25
    outside = float(np.sum(current > 75)) / len(current)  # no bucket below 18: only the top is checkable
    promtool(out, "ages", series, [
        near('mlmon_ml:feature_psi:increase1h{model="ages"}', psi, '{model="ages", feature="age"}', "40m"),
        near('mlmon_ml:feature_out_of_range_share:increase1h{model="ages"}', outside,
             '{model="ages", feature="age"}', "40m"),
        firing("FeatureDriftSevere", "40m", ['model="ages", team="t", severity="critical", feature="age"'])])
    generated_tests_pass(out)


def test_own_histogram_feature_reads_no_bucket_it_does_not_have(tmp_path):
    """Every `le` the rules read from the service's histogram is one of its buckets."""
    out = _ages_model(tmp_path, np.arange(18, 76, dtype=float))
    text = rule_file(out, "ages").read_text()
    les = set(re.findall(r'ml_input_feature_age_bucket\{[^}]*le=~?"([^"]+)"', text))
    allowed = {f"{e:g}" + r"(\\.0)?" for e in AGE_EDGES} | {f"{e:g}" for e in AGE_EDGES}
    assert les and les <= allowed, les - allowed


# ---------------------------------------------------------------- 8. label names


def test_label_names_reach_the_rules_and_panels(tmp_path):
    body = ('scrape: {targets: ["tut-a:8000"]}\nmetrics:\n  preset: tutorial-a\n  labels: {error_type: reason}\n'
            "predictions: {}\nfeatures:\n  x: {range: [0, 10]}\n" + AVAILABILITY)
    out = generate(tmp_path, "tut-a", body)
    found = rules(out, "tut-a")
    assert "by (class_label)" in found["mlmon_ml:top_class_share:increase1h"][0]
    assert 'feature_name="x"' in found["FeatureExtremeOutOfRange"][0]
    dashboard = (out / "grafana" / "dashboards" / "tut-a.json").read_text()
    assert "sum by (reason) (rate(ml_prediction_errors_total" in dashboard
    assert "sum by (error_type)" not in dashboard
