"""A regression model on a live Prometheus: the runtime (mlmon_codegen.runtime) serves it, one batch
of ground truth arrives, and every query of the regression row and of the residual SLO's row of
the shared model dashboard (with `$model` and `$slo` put in), and of the same rows of the model's
own dashboard, returns data. The numbers the panels show equal numpy's on the same residuals: MAE,
RMSE, mean error, MAPE and every window's bad-event share are exact ratios of increases (the
extrapolation of increase() scales each counter of a scrape alike), so to 1e-9; the |e| quantiles
equal Prometheus' bucket interpolation computed here from the residuals.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from test_regression import interpolated_quantile

from e2e.conftest import generate
from e2e.helpers import Exporter, scraping
from mlmon_codegen.check import dashboards as dc
from mlmon_codegen.core import naming
from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.stack.harness import http_json, wait_until
from mlmon_codegen.targets.grafana import dashboards

SPEC = Path(__file__).parents[1] / "regression" / "house-price.yaml"
MODEL = "house-price"
WINDOW_S = 120  # regression.window: the batch and the zero samples before it stay inside it
SCRAPE_S = 1
REL = 1e-9
ROWS = ("Regression quality", "SLO $slo")  # the shared dashboard's rows that show a regression model
OWN_ROWS = ("Regression quality", "SLOs")  # and the model's own dashboard's


def query(url: str, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
    res = http_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at}))
    return [(r["metric"], float(r["value"][1])) for r in res["data"]["result"]]


def row_panels(board: dict[str, Any], rows: tuple[str, ...]) -> list[dict[str, Any]]:
    """The panels under the rows titled `rows`, top to bottom."""
    out, row = [], None
    for p in sorted(dc.panels(board), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        if p["type"] == "row":
            row = p["title"]
        elif row in rows:
            out.append(p)
    return out


def panel_results(url: str, board: dict[str, Any], rows: tuple[str, ...], values: dict[str, str],
                  at: float) -> dict[tuple[str, str], list[tuple[dict[str, str], float]]]:
    """(panel title, legend) → the query's result, for every target of the rows' panels."""
    values = {**dc.variables(board), **values}
    return {(p["title"], t.get("legendFormat", "")): query(url, dc.substitute(t["expr"], values), at)
            for p in row_panels(board, rows) for t in p["targets"]}


def one(results: dict[tuple[str, str], list[tuple[dict[str, str], float]]], title: str, legend: str) -> float:
    [(_, value)] = results[(title, legend)]
    return value


def test_every_regression_panel_reads_recorded_series_equal_to_numpy(tmp_path):
    spec = tmp_path / f"{MODEL}.yaml"
    text = SPEC.read_text()
    assert "window: 1h" in text
    spec.write_text(text.replace("window: 1h", f"window: {WINDOW_S}s"))
    out = tmp_path / "out"
    fleet = generate(spec, out)
    (model,) = fleet.models
    (slo,) = model.slos
    threshold = 50.0
    assert slo.name == "residual" and threshold in model.ml.residual_buckets and model.ml.mape_max == 0.1
    # Every group evaluated at the scrape interval: the period group's 4m would leave the SLO row's
    # period panels empty for minutes after Prometheus starts (cadence: tests/test_eval_groups.py).
    doc = yaml.safe_load((out / naming.rules_file(MODEL)).read_text())
    for group in doc["groups"]:
        group["interval"] = f"{SCRAPE_S}s"
    (tmp_path / "rules.yml").write_text(dump_yaml(doc))

    rng = np.random.default_rng(17)
    n = 400
    actual = np.concatenate([rng.uniform(50, 500, n - 8), np.zeros(8)])  # MAPE skips an actual of 0
    predicted = actual + rng.normal(4, 30, n)
    metrics = ModelMetrics(model)
    with Exporter(metrics) as exporter, scraping(exporter, tmp_path, MODEL, SCRAPE_S) as (prom, url):
        count = f'ml_residuals_total{{model_name="{MODEL}"}}'
        # two scrapes at zero: the counters exist before the first label, so increase() counts it
        wait_until("two scrapes at zero", lambda: bool(query(url, f"count_over_time({count}[1m]) >= 2",
                                                             time.time())), 60, prom)
        with exporter.lock:
            for p, a in zip(predicted, actual, strict=True):
                assert metrics.record_ground_truth(float(p), float(a))
        period = f'{naming.SLO_PERIOD_ERROR_RATIO}{{model="{MODEL}"}}'
        mape = f'{naming.regression_mape(WINDOW_S * 1000)}{{model="{MODEL}"}}'
        # recorded from a scrape after the batch, by an evaluation after that scrape
        wait_until("the batch recorded", lambda: all(
            any(v > 0 for _, v in query(url, e, time.time())) for e in (period, mape)), 30, prom)
        time.sleep(3 * SCRAPE_S)
        at = time.time() - SCRAPE_S  # every recording of one evaluation is there by now
        shared = panel_results(url, json.loads((out / naming.MODEL_DASHBOARD_FILE).read_text()), ROWS,
                               {naming.MODEL_VAR: MODEL, naming.SLO_VAR: slo.name}, at)
        own = panel_results(url, dashboards.render_model(model), OWN_ROWS, {}, at)

    for results in (shared, own):
        empty = [k for k, v in results.items() if not v]
        assert not empty, f"panel queries without data: {empty}"
    assert {t for t, _ in shared} >= {"Prediction error", "MAPE", "Mean error, predicted - actual",
                                      "|predicted - actual| p50, p90, p99", "Labels received", "Objective",
                                      "SLI over the period", "Error budget left", "Error ratio per window",
                                      "Burn rate per window against the tiers"}

    e = predicted - actual
    nonzero = actual != 0
    mae, rmse = float(np.mean(np.abs(e))), float(np.sqrt(np.mean(e ** 2)))
    bad = float(np.mean(np.abs(e) > threshold))
    assert 0.05 < bad < 0.3  # the budget (5%) spent: the SLO rows show something to read
    assert one(shared, "Prediction error", "MAE") == pytest.approx(mae, rel=REL)
    assert one(shared, "Prediction error", "RMSE") == pytest.approx(rmse, rel=REL)
    assert one(shared, "Prediction error", "MAE max") == 25 and one(shared, "Prediction error", "RMSE max") == 40
    assert one(shared, "Mean error, predicted - actual", "mean error") == pytest.approx(float(np.mean(e)), rel=REL)
    assert one(shared, "MAPE", "MAPE") == pytest.approx(
        float(np.mean(np.abs(e[nonzero]) / np.abs(actual[nonzero]))), rel=REL)
    assert one(shared, "MAPE", "max") == 0.1
    # The count alone is increase()'s estimate, extrapolated past the last scrape (a few percent here).
    labels = one(shared, "Labels received", "labelled predictions")
    assert n <= labels < 1.5 * n
    bounds = list(model.ml.residual_buckets)
    cumulative = [float(np.sum(np.abs(e) <= b)) for b in bounds] + [float(n)]
    quantiles = {float(lab["quantile"]): v for lab, v in shared[("|predicted - actual| p50, p90, p99",
                                                                  "p{{quantile}}")]}
    assert quantiles.keys() == {0.5, 0.9, 0.99}
    for qq, value in quantiles.items():
        assert value == pytest.approx(interpolated_quantile(qq, bounds, cumulative), rel=REL), qq
    # The residual SLO's row: each window holding the batch (and a zero before it) sees its share.
    ratios = {lab["window"]: v for lab, v in shared[("Error ratio per window", "{{window}}")]}
    assert len(ratios) >= 4 and all(v == pytest.approx(bad, rel=REL) for v in ratios.values()), ratios
    assert one(shared, "SLI over the period", "") == pytest.approx(1 - bad, rel=REL)
    assert one(shared, "Error budget left", "") == pytest.approx(1 - bad / 0.05, rel=REL)
    # The model's own dashboard shows the same numbers.
    assert one(own, f"Prediction error ({WINDOW_S // 60}m)", f"MAE over {WINDOW_S // 60}m") == pytest.approx(
        mae, rel=REL)
