"""Drift significance: the offline tests equal scipy's, the rules' chi-square equals numpy's on the
same counts under promtool, and FeatureDrift fires on a real shift but not on a 30-row sample of
the training data whose PSI is over psi_warn (the old false alarm). Expected numbers come from the
inputs here (numpy, scipy), never from the output.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ROOT
from scipy import stats

from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.ml import drift as mldrift
from mlmon_codegen.plan import ml_rules
from mlmon_codegen.spec import ml
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

MODEL = "iris-full"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SEL = f'model_name="{MODEL}"'
REL = 1e-9


def two_sample_chi2(a: np.ndarray, b: np.ndarray) -> float:
    """The rules' closed form, sum n m (p - q)^2 / (n p + m q), over bins not empty in both."""
    n, m = a.sum(), b.sum()
    p, q = a / n, b / m
    keep = (a + b) > 0
    return float(np.sum(n * m * (p[keep] - q[keep]) ** 2 / (n * p[keep] + m * q[keep])))


def tab(values: dict[str, list[str]]) -> mldata.Table:
    return mldata.Table("t", {k: list(v) for k, v in values.items()}, len(next(iter(values.values()))))


# ---------------------------------------------------------------- offline against scipy


def test_offline_chi2_is_scipys_homogeneity_test_and_the_closed_form():
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 400)
    cur = rng.normal(0.3, 1.2, 137)
    d = ml.DriftSpec(test="chi2", alpha=0.01)
    row = mldrift.numeric(tab({"x": [repr(float(v)) for v in ref]}), tab({"x": [repr(float(v)) for v in cur]}), "x",
                          ml.FeatureSpec(), d, None)
    edges = np.asarray(mldata.quantile_edges(ref, d.bins))
    a = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    assert (b > 0).all()  # every bin has reference values: scipy's degrees of freedom are the rules'
    res = stats.chi2_contingency(np.vstack([a, b]), correction=False)
    assert row.test == "chi2" and row.samples == 137 and row.reference_samples == 400
    assert row.statistic == pytest.approx(res.statistic, rel=REL, abs=1e-12)
    assert row.p_value == pytest.approx(res.pvalue, rel=REL, abs=1e-15)
    assert two_sample_chi2(a, b) == pytest.approx(res.statistic, rel=REL)
    assert row.critical == pytest.approx(stats.chi2.ppf(1 - 0.01, len(edges)), rel=REL)
    assert row.significant == (res.pvalue < 0.01) == (row.statistic > row.critical)
    assert row.drifted == (row.significant and row.psi > d.psi_warn)


def test_offline_categorical_chi2_keeps_unseen_categories_and_equals_scipy():
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 10 + ["b"] * 12 + ["c"] * 5 + ["new"] * 3
    row = mldrift.categorical(tab({"x": ref}), tab({"x": cur}), "x", ml.DriftSpec())
    assert row.test == "chi2"  # auto: chi-square for a categorical feature
    table = np.array([[10, 12, 5, 3], [50, 30, 20, 0]])
    res = stats.chi2_contingency(table, correction=False)
    assert row.statistic == pytest.approx(res.statistic, rel=REL)
    # the unseen category is kept as a column; degrees of freedom stay the reference's (3 bins - 1)
    assert row.p_value == pytest.approx(stats.chi2.sf(res.statistic, 2), rel=REL)
    assert row.critical == pytest.approx(stats.chi2.isf(0.01, 2), rel=REL)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_offline_ks_critical_is_the_kolmogorov_quantile(alpha):
    rng = np.random.default_rng(5)
    # values on a grid so the edges catch every step of both CDFs: binned KS is the raw KS
    ref = rng.integers(0, 12, 300).astype(float)
    cur = rng.integers(1, 12, 80).astype(float)
    d = ml.DriftSpec(test="ks", alpha=alpha, bins=20)
    spec_f = ml.FeatureSpec()
    ref_t, cur_t = tab({"x": [repr(float(v)) for v in ref]}), tab({"x": [repr(float(v)) for v in cur]})
    row = mldrift.numeric(ref_t, cur_t, "x", spec_f, d,
                          ml.NumericBaseline(edges=[float(v) for v in range(11)], shares=[1 / 12] * 12, min=0, max=11,
                                             mean=5.5, std=1))
    n, m = 80, 300
    assert row.statistic == pytest.approx(stats.ks_2samp(ref, cur).statistic, rel=REL)
    critical = stats.kstwobign.isf(alpha) * math.sqrt((n + m) / (n * m))
    assert row.critical == pytest.approx(critical, rel=REL)
    # c(alpha) = sqrt(-ln(alpha/2)/2) is the first term of the same series
    assert row.critical == pytest.approx(math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m)),
                                         rel=1e-3)
    assert row.p_value == pytest.approx(stats.kstwobign.sf(row.statistic * math.sqrt(n * m / (n + m))), rel=REL)
    assert row.significant == (row.statistic > critical) == (row.p_value < alpha)


# ---------------------------------------------------------------- the rules under promtool


def iris() -> dict[str, np.ndarray]:
    table = mldata.read_table(ROOT / "examples/data/iris.csv")
    return {f: mldata.numeric(table, f)[0] for f in FEATURES}


def model_for(tmp: Path, drift: dict[str, Any]) -> Any:
    """specs/iris-full.yaml with its baseline, the drift section changed."""
    spec = yaml.safe_load((ROOT / "specs/iris-full.yaml").read_text())
    spec["drift"] = {**spec["drift"], **drift}
    tmp.mkdir()
    (tmp / "iris-full.yaml").write_text(yaml.safe_dump(spec))
    (tmp / "iris-full.baseline.yaml").write_text((ROOT / "specs/iris-full.baseline.yaml").read_text())
    fleet = load_and_validate([tmp / "iris-full.yaml"]).fleet
    return fleet, fleet.models[0]


def le(edge: float) -> str:
    return repr(float(edge)).removesuffix(".0")


def histograms(model: Any, sample: dict[str, np.ndarray]) -> list[dict[str, str]]:
    """0 until minute 61, then the sample's cumulative counts: the 1h window at 2h holds exactly the
    sample on Prometheus 2 ([1h, 2h]) and 3 ((1h, 2h], its first sample a 0, so no extrapolation)."""
    out = []
    for f in model.features:
        x = sample[f.name]
        for edge, c in zip([*map(le, f.edges), "+Inf"], [*(int(np.sum(x <= e)) for e in f.edges), len(x)],
                           strict=True):
            out.append({"series": f'ml_feature_value_bucket{{{SEL}, feature="{f.name}", le="{edge}"}}',
                        "values": f"0x61 {c}x59"})
        out.append({"series": f'ml_feature_value_count{{{SEL}, feature="{f.name}"}}',
                    "values": f"0x61 {len(x)}x59"})
    return out


def counts(model: Any, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    f = next(f for f in model.features if f.name == name)
    a = np.bincount(np.searchsorted(np.asarray(f.edges), x, side="left"), minlength=len(f.edges) + 1)
    return a, np.asarray(f.shares) * f.reference_count


def expected(model: Any, sample: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    out = {}
    eps, alpha = model.ml.drift.epsilon, model.ml.drift.alpha
    for f in model.features:
        a, b = counts(model, sample[f.name], f.name)
        n, m = a.sum(), f.reference_count
        p, q = a / n, np.asarray(f.shares)
        cdf = np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1]).max()
        chi = two_sample_chi2(a, b)
        df = max(int(np.sum(q > 0)) - 1, 1)
        out[f.name] = {"psi": float(np.sum((p - q) * np.log((p + eps) / (q + eps)))), "chi2": chi,
                       "chi2_sig": chi > stats.chi2.isf(alpha, df),
                       "ks_sig": cdf > stats.kstwobign.isf(alpha) * math.sqrt(1 / n + 1 / m)}
    return out


def near(expr: str, value: float, name: str) -> dict[str, Any]:
    return {"expr": f"abs({expr} - {value!r}) <= bool {REL * max(1.0, abs(value))!r}", "eval_time": "2h",
            "exp_samples": [{"labels": f'{{feature="{name}", model="{MODEL}"}}', "value": 1}]}


def drift_alerts(names: list[str]) -> dict[str, Any]:
    return {"expr": 'ALERTS{alertname="FeatureDrift", alertstate="firing"}', "eval_time": "2h",
            "exp_samples": [{"labels": f'ALERTS{{alertname="FeatureDrift", alertstate="firing", model="{MODEL}", '
                                       f'team="ml-platform", severity="warning", feature="{n}"}}', "value": 1}
                            for n in names]}


def drift_rules(fleet: Any, model: Any) -> dict[str, Any]:
    """The model's rule file with only the drift groups (baselines, features, ML alerts): quicker to test."""
    keep = ("ml-baseline", "ml-features", "ml-alerts")
    return {"groups": [rules.group_data(g) for g in ml_rules.groups(model, fleet.project) if g.name.endswith(keep)]}


def promtool(tmp: Path, fleet: Any, model: Any, cases: list[dict[str, Any]]) -> None:
    doc = drift_rules(fleet, model)
    assert len(doc["groups"]) == 3
    (tmp / "rules.yml").write_text(dump_yaml(doc))
    order = [g["name"] for g in doc["groups"]]  # file order, as the generated unit tests run them
    (tmp / "t.test.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                    "group_eval_order": order, "tests": cases}, sort_keys=False))
    res = subprocess.run(["promtool", "test", "rules", "t.test.yml"], cwd=tmp, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def quiet_sample(model: Any, n: int) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
    """The first n-row bootstrap of the training data with a PSI over psi_warn and no test significant."""
    base = iris()
    for seed in range(200):
        idx = np.random.default_rng(seed).integers(0, 150, n)
        sample = {k: v[idx] for k, v in base.items()}
        exp = expected(model, sample)
        if (any(e["psi"] > model.ml.drift.psi_warn for e in exp.values())
                and not any(e["chi2_sig"] or e["ks_sig"] for e in exp.values())):
            return sample, exp
    raise AssertionError("no such sample")


def shifted_sample() -> dict[str, np.ndarray]:
    """120 iris rows drawn with replacement, sepal length moved up by 0.9 cm: drift in one feature."""
    rng = np.random.default_rng(11)
    idx = rng.integers(0, 150, 120)
    base = iris()
    return {**{k: v[idx] for k, v in base.items()}, "sepal_length": base["sepal_length"][idx] + 0.9}


def test_rules_chi2_equals_numpy_and_feature_drift_needs_significance(tmp_path):
    small = 20  # below the 30-row sample: the min_samples floor must not be what keeps it quiet
    fleet, model = model_for(tmp_path / "chi2", {"test": "chi2", "min_samples": small})
    assert {f.drift_test for f in model.features} == {"chi2"} and model.features[0].reference_count == 150
    shifted = shifted_sample()
    exp = expected(model, shifted)
    drifted = [n for n, e in exp.items() if e["chi2_sig"] and e["psi"] > model.ml.drift.psi_warn]
    assert drifted == ["sepal_length"]  # the shift is what the sample is built to have
    checks = [near(f'mlmon_ml:feature_chi2:increase1h{{feature="{n}"}}', e["chi2"], n) for n, e in exp.items()]
    checks.append(drift_alerts(drifted))
    shift_case = {"interval": "1m", "input_series": histograms(model, shifted), "promql_expr_test": checks}
    sample, qexp = quiet_sample(model, 30)
    over = [n for n, e in qexp.items() if e["psi"] > model.ml.drift.psi_warn]
    quiet = [near(f'mlmon_ml:feature_chi2:increase1h{{feature="{n}"}}', e["chi2"], n) for n, e in qexp.items()]
    quiet += [near(f'mlmon_ml:feature_psi:increase1h{{feature="{n}"}}', qexp[n]["psi"], n) for n in over]
    quiet.append(drift_alerts([]))
    quiet_case = {"interval": "1m", "input_series": histograms(model, sample), "promql_expr_test": quiet}
    promtool(tmp_path / "chi2", fleet, model, [shift_case, quiet_case])

    # the same 30 rows under the default (KS for numeric features): quiet too; under PSI alone: the old alarm
    fleet, model = model_for(tmp_path / "ks", {"min_samples": small})
    assert {f.drift_test for f in model.features} == {"ks"}
    promtool(tmp_path / "ks", fleet, model, [
        {"interval": "1m", "input_series": histograms(model, shifted), "promql_expr_test": [drift_alerts(
            [n for n, e in exp.items() if e["ks_sig"] and e["psi"] > model.ml.drift.psi_warn])]},
        {"interval": "1m", "input_series": histograms(model, sample), "promql_expr_test": [drift_alerts([])]}])
    fleet, model = model_for(tmp_path / "psi", {"test": "psi", "min_samples": small})
    text = dump_yaml(rules.render(model, fleet.project))
    assert not re.search(r"feature_chi2|feature_ks_critical|feature_samples:baseline", text)
    promtool(tmp_path / "psi", fleet, model, [
        {"interval": "1m", "input_series": histograms(model, sample), "promql_expr_test": [drift_alerts(over)]}])


def test_feature_drift_annotations_name_the_test_its_statistic_and_the_threshold(tmp_path):
    """Prometheus renders the drift_test annotation from the recorded statistic and critical value:
    the numbers a person reads in the notification are numpy's and scipy's for the window."""
    fleet, model = model_for(tmp_path / "m", {"min_samples": 20})
    shifted = shifted_sample()
    exp = expected(model, shifted)
    drifted = [n for n, e in exp.items() if e["ks_sig"] and e["psi"] > model.ml.drift.psi_warn]
    assert drifted == ["sepal_length"]
    f = next(f for f in model.features if f.name == "sepal_length")
    a, _ = counts(model, shifted["sepal_length"], f.name)
    p, q = a / a.sum(), np.asarray(f.shares)
    d_stat = float(np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1]).max())
    critical = stats.kstwobign.isf(0.01) * math.sqrt(1 / a.sum() + 1 / f.reference_count)
    rule = next(r for g in drift_rules(fleet, model)["groups"] for r in g["rules"] if r.get("alert") == "FeatureDrift")
    links = {k: rule["annotations"][k] for k in ("runbook_url", "dashboard_url")}
    annotations = {
        "summary": f"{MODEL}: a feature's distribution drifted from training",
        "description": f"PSI of feature sepal_length is {exp['sepal_length']['psi']:.3f} over 1h (warns above 0.1, "
                       "pages above 0.25), and its two-sample test rejects at alpha 0.01.",
        "drift_test": f"KS at the bin edges: D {d_stat:.4g} against {critical:.4g}, m = 150",
        "threshold": "PSI above 0.1 and the test significant at alpha 0.01", **links}
    labels = {"model": MODEL, "team": "ml-platform", "severity": "warning", "feature": "sepal_length"}
    promtool(tmp_path / "m", fleet, model, [{"interval": "1m", "input_series": histograms(model, shifted),
                                             "alert_rule_test": [{"eval_time": "2h", "alertname": "FeatureDrift",
                                                                  "exp_alerts": [{"exp_labels": labels,
                                                                                  "exp_annotations": annotations}]}]}])
