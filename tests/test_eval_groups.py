"""Group intervals fitted to windows: cheap to evaluate, never stale by more than 1/360 of a
window, never gapped (always under Prometheus' 5m lookback), and every window recorded once."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import ROOT

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import parse
from mlmon_codegen.plan import eval_groups
from mlmon_codegen.plan.sli import windows
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file as rules

LOOKBACK_MS = 300_000


@pytest.mark.parametrize("evaluation", [15_000, 30_000, 60_000, 120_000])
@pytest.mark.parametrize("window", ["5m", "30m", "1h", "2h", "6h", "18h", "1d", "3d", "7d", "30d"])
def test_interval_bounds(window, evaluation):
    w = parse(window)
    interval = eval_groups.interval_for(w, evaluation)
    assert interval >= evaluation
    assert interval < LOOKBACK_MS
    assert interval == evaluation or interval <= w * eval_groups.MAX_STALENESS


def test_long_windows_are_evaluated_less_often():
    assert eval_groups.interval_for(parse("5m"), 30_000) == 30_000
    assert eval_groups.interval_for(parse("1d"), 30_000) == 240_000
    assert eval_groups.interval_for(parse("6h"), 30_000) == 60_000


def test_every_window_is_recorded_once_in_a_group_fitting_it():
    fleet = load_and_validate([ROOT / "specs"]).fleet
    for model in fleet.models:
        groups = rules.render(model, fleet.project)["groups"]
        recorded = Counter((r["record"], r["labels"]["slo"], r["labels"].get("tier"))
                           for g in groups for r in g["rules"] if r.get("record", "").startswith("mlmon_slo:"))
        assert all(n == 1 for n in recorded.values()), [k for k, n in recorded.items() if n > 1]
        for g in groups:
            interval = parse(g["interval"]) if "interval" in g else fleet.project.evaluation_interval_ms
            assert interval < LOOKBACK_MS
            for r in g["rules"]:
                if r.get("record", "").startswith("mlmon_slo:error_ratio:rate"):
                    window = parse(r["record"].removeprefix("mlmon_slo:error_ratio:rate"))
                    assert interval == eval_groups.interval_for(window, fleet.project.evaluation_interval_ms)
        for slo in model.slos:
            for w in windows(slo):
                assert (naming.slo_error_ratio(w), slo.name, None) in recorded
