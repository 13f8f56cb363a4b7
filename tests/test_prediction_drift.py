"""PredictionDrift with a significance test: the predicted class counts against the baseline's class
priors, chi-square at drift.alpha beside PSI, the same numbers offline (`mlmon drift --predictions`)
and in the rules under promtool. Expected numbers come from scipy and numpy on the counts here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ROOT, invoke_mlmon, promtool_test
from scipy import stats

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.plan import ml_rules
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

MODEL = "iris-full"
CLASSES = ["setosa", "versicolor", "virginica"]
UNKNOWN = "__unknown__"  # the runtime's label for a class outside model.classes
REL = 1e-9
# Counts per class (and unseen), chosen by hand:
SHIFTED = {"setosa": 20, "versicolor": 30, "virginica": 65, UNKNOWN: 5}  # far from 1/3 each
NEVER = {"setosa": 0, "versicolor": 45, "virginica": 75, UNKNOWN: 0}  # a class never predicted
QUIET = {"setosa": 15, "versicolor": 9, "virginica": 6, UNKNOWN: 0}  # 30 rows: PSI over 0.1 by chance


def spec_dir(tmp: Path, drift: dict[str, Any]) -> Path:
    spec = yaml.safe_load((ROOT / "specs/iris-full.yaml").read_text())
    spec["drift"] = {**spec["drift"], **drift}
    tmp.mkdir()
    (tmp / "iris-full.yaml").write_text(yaml.safe_dump(spec))
    (tmp / "iris-full.baseline.yaml").write_text((ROOT / "specs/iris-full.baseline.yaml").read_text())
    return tmp


def priors() -> tuple[np.ndarray, int]:
    base = yaml.safe_load((ROOT / "specs/iris-full.baseline.yaml").read_text())
    return np.array([base["label"][c] for c in CLASSES]), base["metadata"]["rows"]


def expected(counts: dict[str, int], alpha: float, eps: float) -> dict[str, float]:
    """scipy's homogeneity test on [current counts; m q], classes in the priors' order, unseen last."""
    q, rows = priors()
    a = np.array([counts[c] for c in [*CLASSES, UNKNOWN]], dtype=float)
    b = np.append(q * rows, 0.0)
    keep = (a + b) > 0
    res = stats.chi2_contingency(np.vstack([a[keep], b[keep]]), correction=False)
    p, qq = a / a.sum(), np.append(q, 0.0)
    critical = stats.chi2.isf(alpha, len(CLASSES) - 1)
    return {"chi2": float(res.statistic), "p": float(stats.chi2.sf(res.statistic, len(CLASSES) - 1)),
            "psi": float(np.sum((p - qq) * np.log((p + eps) / (qq + eps)))), "critical": float(critical)}


# ---------------------------------------------------------------- offline


def write_current(path: Path, counts: dict[str, int]) -> None:
    """Training rows for the features (no feature drift), the predictions column as given."""
    with (ROOT / "examples/data/iris.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    preds = [c for c, k in counts.items() for _ in range(k)]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*list(rows[0])[:4], "pred"])
        for i, p in enumerate(preds):
            w.writerow([*list(rows[i % len(rows)].values())[:4], p])


@pytest.mark.parametrize("counts", [SHIFTED, NEVER, QUIET], ids=["shifted", "never-predicted", "quiet"])
def test_offline_prediction_drift_is_scipys_chi2_and_numpys_psi(tmp_path, counts):
    d = spec_dir(tmp_path / "s", {})
    write_current(tmp_path / "cur.csv", counts)
    res = invoke_mlmon("drift", "--reference", str(ROOT / "examples/data/iris.csv"), "--current",
                       str(tmp_path / "cur.csv"), "--spec", str(d / "iris-full.yaml"), "--predictions", "pred",
                       "--json")
    assert res.returncode in (0, 1), res.stderr
    row = json.loads(res.stdout)["prediction"]
    exp = expected(counts, 0.01, 1e-4)
    assert row["test"] == "chi2" and row["samples"] == sum(counts.values()) and row["reference_samples"] == 150
    assert row["statistic"] == pytest.approx(exp["chi2"], rel=REL)
    assert row["p_value"] == pytest.approx(exp["p"], rel=REL, abs=1e-300)
    assert row["psi"] == pytest.approx(exp["psi"], rel=REL)
    assert row["critical"] == pytest.approx(exp["critical"], rel=REL)
    assert row["drifted"] == (exp["chi2"] > exp["critical"] and exp["psi"] > 0.1)
    if counts is QUIET:  # PSI alone would have called it drift
        assert exp["psi"] > 0.1 and not row["drifted"]
    else:
        assert row["drifted"]


def test_offline_prediction_drift_needs_priors(tmp_path):
    d = spec_dir(tmp_path / "s", {})
    base = yaml.safe_load((d / "iris-full.baseline.yaml").read_text())
    del base["label"]
    (d / "iris-full.baseline.yaml").write_text(yaml.safe_dump(base))
    write_current(tmp_path / "cur.csv", QUIET)
    res = invoke_mlmon("drift", "--reference", str(ROOT / "examples/data/iris.csv"), "--current",
                       str(tmp_path / "cur.csv"), "--spec", str(d / "iris-full.yaml"), "--predictions", "pred")
    assert res.returncode == 2 and "class priors" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------- the rules under promtool


def class_series(counts: dict[str, int]) -> list[dict[str, str]]:
    """0 until minute 61 (every class series exists from the start, as the runtime makes them), then
    the counts: the 1h window at 2h holds exactly them on Prometheus 2 and 3 (see
    test_drift_significance.histograms)."""
    return [{"series": f'ml_prediction_class_total{{model_name="{MODEL}", predicted_class="{c}"}}',
             "values": f"0x61 {k}x59"} for c, k in counts.items()]


def near(expr: str, value: float) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {REL * max(1.0, abs(value))!r}", "eval_time": "2h",
            "exp_samples": [{"labels": f'{{model="{MODEL}"}}', "value": 1}]}


def firing(yes: bool) -> dict[str, Any]:
    labels = f'ALERTS{{alertname="PredictionDrift", alertstate="firing", model="{MODEL}", team="ml-platform", ' \
             f'severity="warning"}}'
    return {"expr": 'ALERTS{alertname="PredictionDrift", alertstate="firing"}', "eval_time": "2h",
            "exp_samples": [{"labels": labels, "value": 1}] if yes else []}


def test_rules_chi2_equals_scipy_and_prediction_drift_needs_significance(tmp_path):
    d = spec_dir(tmp_path / "s", {"min_samples": 20})  # below 30: the floor is not what keeps QUIET quiet
    fleet = load_and_validate([d / "iris-full.yaml"]).fleet
    model = fleet.models[0]
    assert model.ml.prediction_test == "chi2" and model.ml.class_reference_count == 150
    keep = ("ml-baseline", "ml-predictions", "ml-alerts")  # the prediction rules alone, in their order
    doc = {"groups": [rules.group_data(g) for g in ml_rules.groups(model, fleet.project) if g.name.endswith(keep)]}
    (tmp_path / "rules.yml").write_text(dump_yaml(doc))
    cases = []
    for counts in (SHIFTED, NEVER, QUIET):
        exp = expected(counts, model.ml.drift.alpha, model.ml.drift.epsilon)
        cases.append({"interval": "1m", "input_series": class_series(counts), "promql_expr_test": [
            near(f'mlmon_ml:prediction_chi2:increase1h{{model="{MODEL}"}}', exp["chi2"]),
            near(f'mlmon_ml:prediction_psi:increase1h{{model="{MODEL}"}}', exp["psi"]),
            near(f'mlmon_ml:prediction_chi2_critical:baseline{{model="{MODEL}"}}', exp["critical"]),
            firing(exp["chi2"] > exp["critical"] and exp["psi"] > 0.1)]})
    assert expected(QUIET, 0.01, 1e-4)["psi"] > 0.1  # the old rule's false alarm
    promtool_test(tmp_path / "rules.yml", cases)

    # PSI alone (drift.test: psi): no test rules, and the quiet sample alarms as before
    d = spec_dir(tmp_path / "psi", {"min_samples": 20, "test": "psi"})
    fleet = load_and_validate([d / "iris-full.yaml"]).fleet
    assert "prediction_chi2" not in dump_yaml(rules.render(fleet.models[0], fleet.project))
    doc = {"groups": [rules.group_data(g) for g in ml_rules.groups(fleet.models[0], fleet.project)
                      if g.name.endswith(keep)]}
    (tmp_path / "psi" / "rules.yml").write_text(dump_yaml(doc))
    promtool_test(tmp_path / "psi" / "rules.yml", [
        {"interval": "1m", "input_series": class_series(QUIET), "promql_expr_test": [firing(True)]}])


def test_html_report_draws_the_predicted_classes_against_the_priors(tmp_path):
    d = spec_dir(tmp_path / "s", {})
    write_current(tmp_path / "cur.csv", SHIFTED)
    res = invoke_mlmon("drift", "--reference", str(ROOT / "examples/data/iris.csv"), "--current",
                       str(tmp_path / "cur.csv"), "--spec", str(d / "iris-full.yaml"), "--predictions", "pred",
                       "--html", str(tmp_path / "r.html"))
    assert res.returncode in (0, 1), res.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 5  # four features and the predictions
    section = page[page.index('<section id="f-pred">'):]
    section = section[:section.index("</section>")]
    assert "against the training class priors" in section and "(unseen)" in section
    total = sum(SHIFTED.values())
    assert f"{SHIFTED[UNKNOWN] / total:.1%}" in section  # the unseen share, as the rules' (other) bin
