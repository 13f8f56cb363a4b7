"""The burn-rate policy (README's tier table): at W=30d it must be the SRE Workbook's table exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import ROOT, promtool_test

from mlmon_codegen.core import durations
from mlmon_codegen.emit.write import dump_yaml
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.rules import rule_file

H = 3_600_000
D = 24 * H


def test_thirty_days_is_the_workbook_table():
    tiers, problems = burnrate.plan_tiers(30 * D, 99.9, 15_000, None)
    assert not problems
    got = [(t.name, t.long, t.short, round(t.factor, 9), t.severity) for t in tiers]
    assert got == [
        ("page-fast", "1h", "5m", 14.4, "critical"),
        ("page-slow", "6h", "30m", 6.0, "critical"),
        ("ticket-fast", "1d", "2h", 3.0, "warning"),
        ("ticket-slow", "3d", "6h", 1.0, "warning"),
    ]
    # Thresholds are factor x (1 - objective): the same numbers Sloth generates.
    assert [round(t.threshold, 12) for t in tiers] == [0.0144, 0.006, 0.003, 0.001]


def test_factor_is_recomputed_after_rounding():
    tiers, _ = burnrate.plan_tiers(28 * D, 99.9, 15_000, None)
    page_fast = tiers[0]
    assert page_fast.long_ms == H  # 28d/720 = 56 min, rounded to 1h
    assert page_fast.factor == pytest.approx(0.02 * 28 * D / H)  # 13.44, not 14.4


def test_seven_days_keeps_short_windows_above_four_scrapes():
    tiers, _ = burnrate.plan_tiers(7 * D, 99.5, 15_000, None)
    assert all(t.short_ms >= 4 * 15_000 for t in tiers)
    assert tiers[0].long == "15m"  # 7d/720 = 14 min


def test_unreachable_tier_is_named_when_asked_for():
    _, problems = burnrate.plan_tiers(30 * D, 90.0, 15_000, ("page-fast",))
    assert len(problems) == 1 and "page-fast can never fire" in problems[0]


def test_unreachable_tiers_are_dropped_from_the_default_set():
    tiers, problems = burnrate.plan_tiers(30 * D, 50.0, 15_000, None)  # a p50 latency SLO
    assert not problems
    assert [t.name for t in tiers] == ["ticket-slow"]


def test_short_window_reaching_long_window_is_an_error():
    _, problems = burnrate.plan_tiers(1 * H, 99.9, 60_000, ("page-fast",))
    assert problems and "reaches its long window" in problems[0]


@pytest.mark.parametrize("text,ms", [("30s", 30_000), ("1h30m", 5_400_000), ("100ms", 100), ("2w", 14 * D)])
def test_durations_round_trip(text, ms):
    assert durations.parse(text) == ms
    assert durations.parse(durations.format_ms(ms)) == ms


@pytest.mark.parametrize("bad", ["", "10", "1.5h", "-1m", "1 h", "0s"])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(durations.DurationError):
        durations.parse(bad)


def test_each_tier_factor_and_the_objective_are_recorded_for_the_dashboards(tmp_path):
    """One rule records every tier's factor, one series per tier: promtool reads back what the
    policy computes, for SLOs whose periods give different factors."""
    fleet = load_and_validate([ROOT / "specs"]).fleet
    model = next(x for x in fleet.models if x.name == "iris-full")
    (tmp_path / "rules.yml").write_text(dump_yaml(rule_file.render(model, fleet.project)))
    checks = []
    for slo in model.slos:
        sel = f'{{model="{model.name}", slo="{slo.name}"}}'
        checks.append({"expr": f"mlmon_slo:burn_rate_threshold:ratio{sel}", "eval_time": "1m", "exp_samples": [
            {"labels": f'mlmon_slo:burn_rate_threshold:ratio{{model="{model.name}", slo="{slo.name}", '
                       f'tier="{t.name}"}}', "value": t.factor} for t in burnrate.tiers(slo)]})
        checks.append({"expr": f"mlmon_slo:objective:ratio{sel}", "eval_time": "1m", "exp_samples": [
            {"labels": f"mlmon_slo:objective:ratio{sel}", "value": float(Decimal(str(slo.objective)) / 100)}]})
    assert len({t.factor for slo in model.slos for t in burnrate.tiers(slo)}) > 4  # periods differ
    promtool_test(tmp_path / "rules.yml", [{"interval": "1m", "input_series": [], "promql_expr_test": checks}])
