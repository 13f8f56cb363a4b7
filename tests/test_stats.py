"""`mlmon stats` and the per-model series budget: estimated before writing, refused with a located error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon, run_mlmon

from mlmon_codegen.plan import burnrate
from mlmon_codegen.plan import series as cardinality
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.plan.sli import windows
from mlmon_codegen.spec import model as m

PROJECT = """\
apiVersion: mlmon/v1
kind: Project
metadata: {name: budget-example}
budget:
  series_per_model: BUDGET
"""


@pytest.fixture(scope="module")
def fleet(example_fleet) -> m.Fleet:
    return example_fleet


def _model(fleet: m.Fleet, name: str) -> m.Model:
    return next(x for x in fleet.models if x.name == name)


def test_slo_series_are_a_ratio_per_window_and_a_threshold_per_tier_plus_the_period(fleet):
    model = _model(fleet, "iris-classifier")
    est = dict(cardinality.estimate(model, fleet.project).by_record)
    slo_series = sum(n for name, n in est.items() if name.startswith("mlmon_slo:"))
    # the error ratio per window; the objective, the period ratio and a burn-rate factor per tier
    assert slo_series == sum(len(windows(s)) + 2 + len(burnrate.tiers(s)) for s in model.slos)


def test_an_slo_of_the_default_policy_records_at_most_13_series(fleet):
    """Sloth's count per SLO (issue 17): 7 windows of the 4 default tiers, objective, period, 4 factors."""
    model = _model(fleet, "iris-classifier")
    slo = next(s for s in model.slos if s.kind == "availability")
    assert [t.name for t in burnrate.tiers(slo)] == [p.name for p in burnrate.POLICY]
    assert len(windows(slo)) == 7
    recordings = [r for r in plan_rules(model, fleet.project).recordings() if r.labels.get("slo") == slo.name]
    assert all(r.name.startswith("mlmon_slo:") and not r.fanout for r in recordings)
    assert len(recordings) <= 13


def test_feature_series_grow_with_features_times_bins(fleet):
    model = _model(fleet, "iris-full")
    est = dict(cardinality.estimate(model, fleet.project).by_record)
    bins = sum(len(f.edges) + 1 for f in model.features)
    assert bins > len(model.features) > 1
    assert sum(n for k, n in est.items() if k.startswith("mlmon_ml:feature_bin_share:")) == 2 * bins
    psi = next(n for k, n in est.items() if k.startswith("mlmon_ml:feature_psi:"))
    assert psi == len(model.features)
    class_recall = next(n for k, n in est.items() if k.startswith("mlmon_ml:class_recall:"))
    assert class_recall == len(model.classes)


def _specs(tmp_path: Path, budget: int) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for f in ("iris-classifier.yaml", "iris-full.yaml", "iris-full.baseline.yaml"):
        shutil.copy(ROOT / "specs" / f, folder / f)
    (folder / "mlmon.yaml").write_text(PROJECT.replace("BUDGET", str(budget)))
    return folder


def test_generate_refuses_a_model_over_budget_with_a_located_error(tmp_path, fleet):
    full = cardinality.estimate(_model(fleet, "iris-full"), fleet.project).total
    small = cardinality.estimate(_model(fleet, "iris-classifier"), fleet.project).total
    assert small < full
    specs = _specs(tmp_path, small)  # iris-classifier fits exactly, iris-full does not
    out = tmp_path / "out"
    result = invoke_mlmon("generate", str(specs), "-o", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"iris-full.yaml:7:12: metadata.name: its recording rules would create about {full} series" \
        in result.stderr
    assert f"budget of {small} per model" in result.stderr
    assert "iris-classifier.yaml" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_stats_reports_every_model_and_flags_the_one_over_budget(tmp_path, fleet):
    small = cardinality.estimate(_model(fleet, "iris-classifier"), fleet.project).total
    result = run_mlmon("stats", str(_specs(tmp_path, small)), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    by_model = {r["model"]: r for r in data["models"]}
    assert not by_model["iris-classifier"]["over_budget"] and by_model["iris-full"]["over_budget"]
    assert data["total_series"] == sum(r["series"] for r in data["models"])
    assert by_model["iris-full"]["by_rule"]["mlmon_ml:feature_bin_share"] > 0


def test_within_budget_everything_passes(tmp_path):
    specs = _specs(tmp_path, 100_000)
    assert invoke_mlmon("stats", str(specs)).returncode == 0
    assert invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out")).returncode == 0
