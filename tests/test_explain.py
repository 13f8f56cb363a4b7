"""`mlmon explain`: the numbers against the SRE Workbook's own example (99.9% over 30 days).

Expectations are computed here from the workbook's formulas ("Alerting on SLOs"), never copied
from mlmon's output:
- budget consumed = burn rate × alert window / period;
- detection time = (1 − SLO) / error ratio × alert window × burn rate;
- time to exhaustion at a burn rate = period / burn rate.
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import invoke_mlmon

from mlmon_codegen.cli.explain import render_text
from mlmon_codegen.cli.load import with_project
from mlmon_codegen.plan.explain import LOW_TRAFFIC_FAILURES, explain_model
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import load_text
from mlmon_codegen.spec.validate import validate_documents

HOUR, DAY = 3600, 86400
PERIOD = 30 * DAY
SLO = 0.999
# The workbook's table for 99.9% over 30 days: burn rate, long window, short window, budget consumed.
WORKBOOK = {
    "page-fast": (14.4, 1 * HOUR, 5 * 60, 0.02),
    "page-slow": (6, 6 * HOUR, 30 * 60, 0.05),
    "ticket-fast": (3, 1 * DAY, 2 * HOUR, 0.10),
    "ticket-slow": (1, 3 * DAY, 6 * HOUR, 0.10),
}


def fleet(spec: str, project: str | None = None) -> m.Fleet:
    docs = []
    for name, text in (("spec.yaml", spec), ("mlmon.yaml", project)):
        if text:
            doc, problems = load_text(name, text.encode())
            assert doc is not None, problems
            docs.append(doc)
    return validate_documents(docs).fleet


def spec(objective: float = 99.9, period: str = "30d", rps: float | None = None, extra: str = "") -> str:
    model = f"model: {{expected_rps: {rps}}}\n" if rps else ""
    return (f"apiVersion: mlmon/v1\nkind: ModelMonitor\nmetadata: {{name: m1, team: t}}\n{model}"
            f"scrape: {{targets: ['h:1']}}\nslos:\n  availability: {{objective: {objective}, period: {period}}}\n"
            + extra)


def explained(text: str):
    f = fleet(text)
    return explain_model(f.models[0], f.project)


def test_budget_matches_the_workbook() -> None:
    [s] = explained(spec(rps=100))
    budget = 1 - SLO
    assert s.budget == pytest.approx(budget)
    assert s.budget_outage_s / 60 == pytest.approx(budget * PERIOD / 60)  # 43.2 minutes
    assert s.budget_requests == pytest.approx(budget * 100 * PERIOD)


@pytest.mark.parametrize("tier_name", list(WORKBOOK))
def test_tiers_match_the_workbook(tier_name: str) -> None:
    [s] = explained(spec())
    t = next(t for t in s.tiers if t.name == tier_name)
    burn, long_s, short_s, consumed = WORKBOOK[tier_name]
    assert (t.factor, t.long_s, t.short_s) == (pytest.approx(burn), long_s, short_s)
    assert t.budget_consumed == pytest.approx(burn * long_s / PERIOD) == pytest.approx(consumed)
    assert t.threshold == pytest.approx(burn * (1 - SLO))
    # Detection time at 100% errors and at twice the threshold (error ratio 2 × burn × budget).
    assert t.time_to_fire_full_s == pytest.approx((1 - SLO) / 1.0 * long_s * burn)
    double = 2 * burn * (1 - SLO)
    assert t.time_to_fire_double_s == pytest.approx((1 - SLO) / double * long_s * burn)
    assert t.exhaustion_s == pytest.approx(PERIOD / burn)
    # After the fault, the short window forgets it: below the threshold once (1 − threshold) of it passed.
    assert t.reset_s == pytest.approx(short_s * (1 - burn * (1 - SLO)))
    assert t.reset_s <= short_s


def test_page_fast_headline_numbers() -> None:
    """The workbook's prose: 14.4x over 1h fires after about 52 s of total outage; the budget lasts 50 h."""
    [s] = explained(spec())
    t = s.tiers[0]
    assert round(t.time_to_fire_full_s) == 52
    assert t.exhaustion_s / HOUR == pytest.approx(50)


def test_failed_requests_that_page_at_expected_traffic() -> None:
    [s] = explained(spec(rps=2))
    for t in s.tiers:
        burn, long_s, _, _ = WORKBOOK[t.name]
        needed = burn * (1 - SLO) * 2 * long_s  # the long window's threshold, in requests
        assert t.failed_requests_to_page == math.floor(needed) + 1


def test_low_traffic_warns_with_the_number_of_failures() -> None:
    [s] = explained(spec(rps=0.01))
    page_fast = s.tiers[0]
    expected = math.floor(14.4 * 0.001 * 0.01 * HOUR) + 1
    assert expected < LOW_TRAFFIC_FAILURES
    assert any(f"{expected} failed request" in w and "page-fast" in w for w in page_fast.warnings)
    [busy] = explained(spec(rps=1000))
    assert not any("traffic" in w for t in busy.tiers for w in t.warnings)


def test_budget_faster_than_scrape_and_evaluation_warns() -> None:
    # 99.99% over 1 day: 8.64 s of outage, less than a 15 s scrape plus a 30 s evaluation.
    [s] = explained(spec(objective=99.99, period="1d"))
    assert any("faster than one scrape" in w for w in s.warnings)
    assert any("fires later" in w for t in s.tiers for w in t.warnings)
    [ok] = explained(spec())
    assert ok.warnings == [] and all(t.warnings == [] for t in ok.tiers)


def test_tiers_that_can_never_fire_are_named() -> None:
    # A p50 latency SLO has a 50% budget: fast tiers would need more than 100% errors.
    text = spec(extra="  latency: {p50_target_ms: 20}\n")
    s = next(x for x in explained(text) if x.name == "latency-p50")
    assert [t.name for t in s.tiers] == ["ticket-slow"]
    assert any("page-fast can never fire" in r for r in s.skipped)


def test_text_and_json_say_the_same(tmp_path) -> None:
    (tmp_path / "m1.yaml").write_text(spec(rps=5))
    text = invoke_mlmon("explain", str(tmp_path / "m1.yaml"))
    assert text.returncode == 0, text.stderr
    assert "43m12s in which every request fails" in text.stdout  # 0.001 × 30 d = 43.2 min
    assert "page-fast" in text.stdout and "52s" in text.stdout
    data = json.loads(invoke_mlmon("explain", "--json", str(tmp_path / "m1.yaml")).stdout)
    [slo] = data["models"][0]["slos"]
    assert slo["budget_outage_s"] == pytest.approx(0.001 * PERIOD)
    assert [t["name"] for t in slo["tiers"]] == list(WORKBOOK)


def test_render_text_mentions_every_tier_and_warning() -> None:
    f = fleet(spec(rps=0.01))
    text = render_text(f.models[0], explain_model(f.models[0], f.project))
    for name in WORKBOOK:
        assert name in text
    assert "warning:" in text


def test_explain_bad_spec_is_located(mlmon, tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text(spec(objective=100))
    r = mlmon("explain", str(tmp_path / "bad.yaml"))
    assert r.returncode == 2
    assert "bad.yaml:" in r.stderr and "Traceback" not in r.stderr


def test_a_spec_file_alone_brings_its_project(tmp_path) -> None:
    (tmp_path / "m1.yaml").write_text(spec())
    (tmp_path / "mlmon.yaml").write_text("apiVersion: mlmon/v1\nkind: Project\nmetadata: {name: p}\n")
    assert with_project([str(tmp_path / "m1.yaml")]) == [tmp_path / "m1.yaml", tmp_path / "mlmon.yaml"]
    assert with_project([str(tmp_path)]) == [tmp_path]


ACCURACY_7D = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: m1, team: t}
scrape: {targets: ['h:1']}
slos:
  accuracy: {objective: 90, period: 7d}
  latency: {objective: 99, threshold: 100ms}
"""


def test_a_tier_that_needs_most_events_bad_is_a_warning_and_2x_is_impossible() -> None:
    accuracy, latency = explained(ACCURACY_7D)
    # 7d at 90%: page-slow's factor is 5% x 7d / 1h = 8.4, so it fires at 8.4 x 10% = 84% wrong.
    page = next(t for t in accuracy.tiers if t.name == "page-slow")
    assert page.threshold == pytest.approx(0.05 * 7 * 24 * 0.1)
    assert page.time_to_fire_double_s is None  # twice 84% is not a share of events
    assert any("84% of labelled predictions are wrong" in w for w in page.warnings)
    ticket = next(t for t in accuracy.tiers if t.name == "ticket-slow")
    assert ticket.threshold < 0.5 and ticket.warnings == []
    assert all(t.time_to_fire_double_s is not None for t in latency.tiers)


def test_prose_names_the_bad_events_of_each_kind() -> None:
    f = fleet(ACCURACY_7D)
    text = render_text(f.models[0], explain_model(f.models[0], f.project), plan_rules(f.models[0], f.project))
    assert "when wrong predictions burn the budget" in text and "when slow requests burn the budget" in text
    assert "errors burn" not in text and "full outage" not in text and "failed requests" not in text
    assert "16h48m in which every labelled prediction is wrong" in text  # 10% of 7d
    assert "7h12m in which every request is slow" in text  # 1% of 30d
    no_data = {line.split()[0]: line for line in text.splitlines() if "SLINoData" in line}
    assert "labels arrive" in no_data["AccuracySLINoData"] and "histogram" not in no_data["AccuracySLINoData"]
    assert "threshold is one of its buckets" in no_data["LatencySLINoData"]
    assert "Columns: burn:" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("page-slow") and "84%" in line)
    assert " - " in row  # fire @2x of an 84% threshold


def test_explain_covers_every_generated_alert(example_fleet) -> None:
    for model in example_fleet.models:
        result = invoke_mlmon("explain", model.source)
        assert result.returncode == 0, result.stderr
        data = json.loads(invoke_mlmon("explain", "--json", model.source).stdout)["models"][0]
        for alert in plan_rules(model, example_fleet.project).alerts():
            if alert.kind == "burn":
                slo = next(s for s in data["slos"] if s["name"] == alert.slo)
                assert alert.tier in [t["name"] for t in slo["tiers"]], alert.name
            else:
                assert f"  {alert.name} (" in result.stdout, alert.name
                assert alert.name in [a["name"] for a in data["alerts"]]
        assert "{{" not in result.stdout


def test_a_grouped_slo_names_its_groups_with_the_same_thresholds() -> None:
    text = spec(extra="slo_defaults: {group_by: [model_version, endpoint], group_values: {model_version: 2}}\n")
    f = fleet(text)
    [s] = explain_model(f.models[0], f.project)
    assert s.group_by == ["model_version", "endpoint"]
    assert s.group_values == {"model_version": 2, "endpoint": 3}  # 3: the estimate's default for an unlisted label
    [ungrouped] = explained(spec())
    assert [t.threshold for t in s.tiers] == [t.threshold for t in ungrouped.tiers]
    out = render_text(f.models[0], [s])
    assert "One SLO per group of model_version (2 values), endpoint (3 values assumed)" in out
    assert "with the same thresholds" in out


def test_a_timeslice_slo_is_explained_in_slices() -> None:
    text = spec(objective=99, extra="").replace(
        "period: 30d}", "period: 30d, budgeting: timeslices, timeslice: {window: 1m, objective: 95}}")
    f = fleet(text)
    [s] = explain_model(f.models[0], f.project)
    slices = PERIOD // 60
    assert s.slice_s == 60 and s.slice_objective == 95
    assert s.budget_slices == pytest.approx(0.01 * slices)  # 432 bad minutes in 30 days
    for t in s.tiers:
        burn, long_s, short_s, _ = WORKBOOK[t.name]
        threshold = burn * 0.01
        # More than threshold × the window's slices must be bad, in each window.
        want = (math.floor(threshold * long_s / 60) + 1, math.floor(threshold * short_s / 60) + 1)
        assert t.bad_slices_to_fire == want, t.name
        assert t.time_to_fire_full_s == max(want) * 60  # a full outage: one bad slice a minute
        assert t.failed_requests_to_page is None
    out = render_text(f.models[0], [s])
    assert "99% of 1m slices are good" in out and "a slice is bad when more than 5% of its events are bad" in out
    assert "it needs 9 bad slices of the last 60 (1h) and 1 of the last 5 (5m)" in out
