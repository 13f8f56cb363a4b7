"""A live Prometheus right after a cold start: the service's runtime (mlmon_codegen.runtime) starts,
is scraped at zero, then one batch arrives that holds unseen categories, an unknown class and no
prediction of a class the priors know. The drift statistics the rules record must equal `mlmon
drift`'s offline numbers on the same rows to 1e-9: PSI, the binned KS, every share, and the ones
that scale with the sample size n, chi-square (features and predictions) and the KS critical
value, since n is the window's exact count (plan/drift.counted), not increase()'s extrapolation.
A second batch, once the first has left the window, is read the same way: n is then a difference
of two samples, not a series' value. On Prometheus 2.42 (PATH) and 3.5 (.engines/newer).
"""

from __future__ import annotations

import csv
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import invoke_mlmon
from scipy import stats

from e2e.helpers import Exporter, scraping
from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import HOST, http_json, wait_until
from mlmon_codegen.targets.rules import rule_file as rules

MODEL = "cold"
WINDOW_S = 60  # drift.window: the first batch and the zero samples before it stay inside it
SCRAPE_S = 1
REL = 1e-9
COUNT = f'ml_feature_value_count{{model_name="{MODEL}", feature="x"}}'
SPEC = f"""\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: {MODEL}, team: ml}}
model: {{classes: [a, b, c]}}
scrape: {{targets: ["{HOST}:9"]}}
features:
  x: {{type: numeric, range: [0, 10]}}
  y: {{type: numeric, drift_test: chi2}}
  color: {{type: categorical}}
drift: {{window: {WINDOW_S}s, min_samples: 1}}
predictions: {{}}
"""


def reference(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """Training rows: y has heavy ties (integers), the label knows only a and b."""
    x = np.clip(rng.normal(5, 2, n), 0.1, 9.9)
    y = rng.integers(0, 6, n)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    label = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    return [{"x": repr(float(a)), "y": str(int(b)), "color": str(c), "label": str(d)}
            for a, b, c, d in zip(x, y, color, label, strict=True)]


def batch(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """The first traffic: shifted x, reshaped y, colours the baseline never saw, no class a at all,
    class c (declared, no prior) and zzz (undeclared: the runtime's __unknown__)."""
    x = np.clip(rng.normal(6, 2, n), 0.1, 9.9)
    y = rng.choice([0, 1, 2, 3, 4, 5, 7], n, p=[0.05, 0.05, 0.1, 0.2, 0.3, 0.2, 0.1])
    color = rng.choice(["red", "green", "blue", "purple", "black"], n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    pred = rng.choice(["b", "c", "zzz"], n, p=[0.6, 0.3, 0.1])
    return [{"x": repr(float(a)), "y": str(int(b)), "color": str(c), "pred": str(d)}
            for a, b, c, d in zip(x, y, color, pred, strict=True)]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def query(url: str, expr: str, at: float) -> dict[str, float]:
    """{label string: value} of an instant query."""
    res = http_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at}))
    out = {}
    for r in res["data"]["result"]:
        labels = {k: v for k, v in r["metric"].items() if k != "__name__"}
        out[labels.get("feature") or labels.get("model", "")] = float(r["value"][1])
    return out


def offline_drift(tmp: Path, spec: Path, rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    write_csv(tmp / name, rows)
    res = invoke_mlmon("drift", "--reference", str(tmp / "ref.csv"), "--current", str(tmp / name),
                       "--spec", str(spec), "--predictions", "pred", "--json")
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def read_live(url: str) -> dict[str, dict[str, float]]:
    """Every drift recording of one evaluation: read a scrape interval back, so all groups are there."""
    at = time.time() - SCRAPE_S
    w = f"increase{WINDOW_S // 60}m"
    live = {what: query(url, f'mlmon_ml:{what}:{w}{{model="{MODEL}"}}', at)
            for what in ("feature_psi", "feature_ks", "feature_chi2", "feature_samples", "feature_ks_critical",
                         "prediction_psi", "prediction_chi2", "predictions", "drifted_features_share")}
    live["chi2_critical"] = query(url, f'mlmon_ml:feature_chi2_critical:baseline{{model="{MODEL}"}}', at)
    live["count_before"] = query(url, f"{COUNT} offset {WINDOW_S}s", at)  # what n counts from
    return live


def test_recorded_drift_after_a_cold_start_equals_mlmon_drift_offline(generation, tmp_path):
    rng = np.random.default_rng(16)
    spec = tmp_path / f"{MODEL}.yaml"
    spec.write_text(SPEC)
    write_csv(tmp_path / "ref.csv", reference(rng, 400))
    first, second = batch(rng, 300), batch(rng, 240)
    res = invoke_mlmon("baseline", "--data", str(tmp_path / "ref.csv"), "--spec", str(spec))
    assert res.returncode == 0, res.stderr
    offline = [offline_drift(tmp_path, spec, rows, f"cur{i}.csv") for i, rows in enumerate((first, second))]

    fleet = load_and_validate([spec]).fleet
    model = fleet.models[0]
    doc = rules.render(model, fleet.project)
    (tmp_path / "rules.yml").write_text(dump_yaml(doc))
    metrics = ModelMetrics(model)
    samples = f'mlmon_ml:feature_samples:increase{WINDOW_S // 60}m{{feature="x"}}'
    readings = []
    with Exporter(metrics) as exporter, scraping(exporter, tmp_path, MODEL, SCRAPE_S) as (prom, url):
        # two scrapes at zero: every series exists before the first event
        wait_until("two scrapes at zero", lambda: bool(query(url, f"count_over_time({COUNT}[1m]) >= 2",
                                                             time.time())), 60, prom)
        for i, rows in enumerate((first, second)):
            if i:  # the first batch out of the window: its last scrape before t - w is the offset's sample
                wait_until("the first batch out of the window",
                           lambda: query(url, samples, time.time()).get("x") == 0, WINDOW_S + 30, prom)
            with exporter.lock:
                for r in rows:
                    metrics.record({"x": float(r["x"]), "y": float(r["y"]), "color": r["color"]}, r["pred"],
                                   0.9)
            # recorded from a scrape after the batch, by an evaluation after that scrape
            wait_until("the batch recorded", lambda: query(url, samples, time.time()).get("x", 0) > 0, 30, prom)
            time.sleep(3 * SCRAPE_S)
            readings.append(read_live(url))

    # at the cold start the series were born in the window; later n is counted from the first batch's total
    assert readings[0]["count_before"] == {} and readings[1]["count_before"] == {"x": len(first)}
    base = yaml.safe_load((tmp_path / f"{MODEL}.baseline.yaml").read_text())
    for rows, off, live in zip((first, second), offline, readings, strict=True):
        equal_offline(rows, off, live, base, tmp_path / "ref.csv")


def equal_offline(rows: list[dict[str, Any]], offline: dict[str, Any], live: dict[str, dict[str, float]],
                  base: dict[str, Any], ref: Path) -> None:
    """The live recordings equal `mlmon drift` on the batch's rows, and those equal scipy's."""
    n = len(rows)
    off = {r["feature"]: r for r in offline["features"]}
    pred = offline["prediction"]
    assert set(off) == {"x", "y", "color"}
    assert off["x"]["test"] == "ks" and off["y"]["test"] == off["color"]["test"] == "chi2"
    assert live["predictions"][MODEL] == n  # the exact count: no extrapolation
    for name, r in off.items():
        assert live["feature_samples"][name] == n == r["samples"], name
        assert live["feature_psi"][name] == pytest.approx(r["psi"], rel=REL), name
        if r["binned_ks"] is not None:
            assert live["feature_ks"][name] == pytest.approx(r["binned_ks"], rel=REL, abs=1e-12), name
    c = stats.kstwobign.isf(0.01)
    assert off["x"]["critical"] == pytest.approx(c * np.sqrt(1 / n + 1 / off["x"]["reference_samples"]), rel=REL)
    assert live["feature_ks_critical"]["x"] == pytest.approx(off["x"]["critical"], rel=REL)
    for name in ("y", "color"):
        a, b = counts(name, rows, base, ref)
        assert off[name]["statistic"] == pytest.approx(chi2(a, b), rel=REL)  # offline: scipy on the counts
        assert live["feature_chi2"][name] == pytest.approx(off[name]["statistic"], rel=REL), name
        assert live["chi2_critical"][name] == pytest.approx(off[name]["critical"], rel=REL)
    q = np.array([base["label"][c] for c in sorted(base["label"])] + [0.0])
    a = np.array([sum(r["pred"] == c for r in rows) for c in sorted(base["label"])], dtype=float)
    a = np.append(a, n - a.sum())
    assert a[0] == 0 and a[-1] > 0  # a class with a prior never predicted; the rest in the other bin
    assert live["prediction_psi"][MODEL] == pytest.approx(pred["psi"], rel=REL)
    assert pred["statistic"] == pytest.approx(chi2(a, q * base["metadata"]["rows"]), rel=REL)
    assert live["prediction_chi2"][MODEL] == pytest.approx(pred["statistic"], rel=REL)
    verdicts = sum(r["drifted"] for r in off.values()) / len(off)
    assert live["drifted_features_share"][MODEL] == pytest.approx(verdicts, rel=REL)
    assert offline["drifted_share"] == pytest.approx(verdicts, rel=REL)


def chi2(a: np.ndarray, b: np.ndarray) -> float:
    keep = (a + b) > 0
    return float(stats.chi2_contingency(np.vstack([a[keep], b[keep]]), correction=False).statistic)


def counts(name: str, rows: list[dict[str, Any]], base: dict[str, Any], ref: Path) -> tuple[np.ndarray, np.ndarray]:
    """Current and reference counts on the baseline's bins (numeric) or categories plus one other bin."""
    with ref.open() as fh:
        reference = [r[name] for r in csv.DictReader(fh)]
    f = base["features"][name]
    if f["kind"] == "numeric":
        edges = np.asarray(f["edges"])

        def binned(vals: list[str]) -> np.ndarray:
            return np.bincount(np.searchsorted(edges, np.asarray(vals, dtype=float), side="left"),
                               minlength=len(edges) + 1).astype(float)

        return binned([r[name] for r in rows]), binned(reference)
    cats = sorted(f["categories"])
    cur = [r[name] for r in rows]
    a = np.array([cur.count(c) for c in cats] + [sum(v not in cats for v in cur)], dtype=float)
    return a, np.array([reference.count(c) for c in cats] + [0], dtype=float)
