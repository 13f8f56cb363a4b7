"""Timeslice budgeting (`budgeting: timeslices`, `ratio_timeslices`): the slice recordings, the
budget counted in slices, the burn alerts on the share of bad slices, and the located refusals.

The promtool scenario feeds a service whose minutes are good (0.5% errors, under the slice's 5%)
or bad (10%): the period budget must drop by exactly one slice's share per bad minute, and the
page-fast alert must fire at the bad slice the tier's budget share says, not one minute before.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import yaml
from conftest import invoke_mlmon, promtool_test

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import parse
from mlmon_codegen.plan import burnrate, explain, queries
from mlmon_codegen.spec.validate import load_and_validate

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: scorer, team: ml-platform}
scrape: {targets: ["scorer:8000"], interval: 15s}
slos:
  availability:
    objective: 99
    period: 30d
    budgeting: timeslices
    timeslice: {window: 1m, objective: 95}
  latency:
    objective: 99
    threshold: 100ms
    budgeting: ratio_timeslices
    timeslice: {window: 1m}
"""
SCRAPE_S = 15
REQUESTS_PER_SCRAPE = 200
GOOD_ERRORS, BAD_ERRORS = 1, 20  # per scrape: 0.5% (a good slice at 95%) and 10% (a bad one)
FIRST_BAD_MIN = 30  # minutes 31, 32, ... are bad, once the scenario starts burning


def _generate(tmp_path: Path, text: str = SPEC) -> Path:
    (tmp_path / "spec.yaml").write_text(text)
    r = invoke_mlmon("generate", str(tmp_path / "spec.yaml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    return tmp_path / "out" / "prometheus" / "rules" / "scorer.rules.yml"


def _counters(bad_minutes: set[int], minutes: int) -> tuple[str, str]:
    """requests and errors sampled every scrape; the scrapes of minute m (after m-1, up to m) carry
    that minute's errors, so the slice recorded at m reads them alone."""
    requests, errors, total, failed = [], [], 0, 0
    for i in range(minutes * 60 // SCRAPE_S + 1):
        if i:
            total += REQUESTS_PER_SCRAPE
            failed += BAD_ERRORS if math.ceil(i * SCRAPE_S / 60) in bad_minutes else GOOD_ERRORS
        requests.append(str(total))
        errors.append(str(failed))
    return " ".join(requests), " ".join(errors)


def test_the_slices_are_recorded_once_per_slice_and_read_by_the_windows(tmp_path: Path) -> None:
    groups = yaml.safe_load(_generate(tmp_path).read_text())["groups"]
    slices = groups[0]
    assert slices["name"] == "mlmon-scorer-slo-slices-1m" and slices["interval"] == "1m"
    avail, latency = slices["rules"]
    assert avail["record"] == naming.slo_slice_error(60_000) and avail["expr"].endswith("> bool 0.05")
    assert latency["expr"].endswith(">= 0")  # the slice's own ratio, NaN dropped
    windows = [r for r in next(g for g in groups if g["name"] == naming.rule_group("scorer", None))["rules"]
               if r.get("record", "").startswith(naming.SLO_ERROR_RATIO_WINDOWS)]
    ratio_1h = next(r for r in windows if r["record"] == naming.slo_error_ratio(3_600_000)
                    and r["labels"]["slo"] == "availability")
    assert "sum_over_time(mlmon_slo:slice_error:rate1m" in ratio_1h["expr"] and ratio_1h["expr"].endswith("/ 60")
    # No window reads the raw counters: every one is a share of slices.
    assert not any("requests_total" in r["expr"] for r in windows)


def test_budget_drops_one_slice_per_bad_slice_and_page_fast_fires_when_the_math_says(tmp_path: Path) -> None:
    rules = _generate(tmp_path)
    period_slices = parse("30d") // parse("1m")
    budget = Fraction(1, 100)
    # page-fast: 2% of the budget over 1h, 5m; the 1h window must hold more than its share of slices.
    tier = next(t for t in burnrate.POLICY if t.name == "page-fast")
    long_slices, short_slices = 60, 5
    threshold = tier.budget_consumed * period_slices * budget / long_slices  # 14.4 × 1% = 0.144
    needed = math.floor(threshold * long_slices) + 1  # 8.64 slices of the hour → the 9th bad slice
    assert math.floor(threshold * short_slices) + 1 <= needed  # the 5m window already holds enough
    # What `mlmon explain` tells the reader is what promtool shows below.
    fleet = load_and_validate([tmp_path / "spec.yaml"]).fleet
    model = fleet.models[0]
    page = next(t for t in explain.explain_slo(model, model.slos[0], fleet.project).tiers if t.name == "page-fast")
    assert page.bad_slices_to_fire == (needed, 1)
    burst = set(range(FIRST_BAD_MIN + 1, FIRST_BAD_MIN + 1 + 12))
    minutes = FIRST_BAD_MIN + 20
    requests, errors = _counters(burst, minutes)
    base = '{model_name="scorer"}'
    series = [{"series": f"ml_prediction_requests_total{base}", "values": requests},
              {"series": f"ml_prediction_errors_total{base}", "values": errors}]
    alert = naming.burn_alert("availability", "page-fast")
    firing = f'count(ALERTS{{alertname="{alert}", alertstate="firing"}})'
    labels = '{model="scorer", slo="availability"}'
    cases = []
    for minute in (FIRST_BAD_MIN, FIRST_BAD_MIN + 1, FIRST_BAD_MIN + 5, FIRST_BAD_MIN + 12):
        bad = len([b for b in burst if b <= minute])
        left = 1 - Fraction(bad, period_slices) / budget  # 1/432 of the budget per bad slice
        remaining = queries.budget_left(naming.SLO_PERIOD_ERROR_RATIO + labels, naming.SLO_OBJECTIVE + labels)
        cases.append({"expr": f"abs({remaining} - {float(left)!r}) < bool 1e-9",
                      "eval_time": f"{minute}m", "exp_samples": [{"labels": labels, "value": 1}]})
    for minute, fires in ((FIRST_BAD_MIN + needed - 1, False), (FIRST_BAD_MIN + needed, True)):
        cases.append({"expr": firing, "eval_time": f"{minute}m",
                      "exp_samples": [{"labels": "{}", "value": 1}] if fires else []})
    promtool_test(rules, [{"interval": f"{SCRAPE_S}s", "input_series": series, "promql_expr_test": cases}],
                  "timeslices")


def test_ratio_timeslices_average_the_slices_ratios(tmp_path: Path) -> None:
    """The latency SLO's 5m ratio is the mean of its five slices' error ratios, whatever their traffic."""
    rules = _generate(tmp_path)
    # Slices of 1m: 40 requests of which 4 slow (10%) for the first two minutes, then 400 with 4 slow (1%).
    per_min = [(40, 4), (40, 4), (400, 4), (400, 4), (400, 4), (400, 4)]
    count, fast, total, slow = ["0"], ["0"], 0, 0
    for n, bad in per_min:
        for _ in range(4):
            total += n // 4
            slow += bad // 4
            count.append(str(total))
            fast.append(str(total - slow))
    series = [{"series": 'ml_prediction_latency_seconds_bucket{model_name="scorer", le="0.1"}',
               "values": " ".join(fast)},
              {"series": 'ml_prediction_latency_seconds_count{model_name="scorer"}', "values": " ".join(count)}]
    labels = '{model="scorer", slo="latency"}'
    mean = (0.1 + 0.1 + 0.01 + 0.01 + 0.01) / 5  # minutes 1-5; by events it would be 20/1680
    case = {"expr": f"abs({naming.slo_error_ratio(300_000)}{labels} - {mean!r}) < bool 1e-9", "eval_time": "5m",
            "exp_samples": [{"labels": labels, "value": 1}]}
    promtool_test(rules, [{"interval": f"{SCRAPE_S}s", "input_series": series, "promql_expr_test": [case]}],
                  "ratio-timeslices")


def _refused(tmp_path: Path, slo: str) -> str:
    text = SPEC.split("slos:")[0] + "slos:\n" + slo
    (tmp_path / "bad.yaml").write_text(text)
    r = invoke_mlmon("generate", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and not (tmp_path / "out").exists() and "Traceback" not in r.stderr
    return r.stderr


def test_a_slice_that_does_not_fit_the_windows_is_located(tmp_path: Path) -> None:
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, "
                             "timeslice: {window: 10m, objective: 95}}\n")
    assert "bad.yaml:6:68: slos.availability.timeslice.window: timeslice window 10m is longer than the " \
           "shortest alert window (5m)" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, "
                             "timeslice: {window: 7m, objective: 95}, alerts: {tiers: [ticket-slow]}}\n")
    assert "timeslice window 7m does not divide the alert window 6h" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, "
                             "timeslice: {window: 15s, objective: 95}}\n")
    assert "holds fewer than 2 scrapes" in err, err


def test_slice_objectives_and_budgeting_are_checked(tmp_path: Path) -> None:
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, "
                             "timeslice: {window: 1m, objective: 0.95}}\n")
    assert "slice objective 0.95 must be a percent" in err and "did you mean 95?" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, timeslice: {window: 1m}}\n")
    assert "a slice needs an objective" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: ratio_timeslices, "
                             "timeslice: {window: 1m, objective: 95}}\n")
    assert "ratio_timeslices counts each slice with its own error ratio" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, timeslice: {window: 1m, objective: 95}}\n")
    assert "a timeslice has no meaning with occurrences budgeting" in err, err
    err = _refused(tmp_path, "  availability: {objective: 99, budgeting: timeslices, "
                             "timeslice: {window: 1m, objective: 95}, alerts: {min_events: 10}}\n")
    assert "min_events has no meaning with timeslices" in err, err


def test_runbooks_speak_of_slices(tmp_path: Path) -> None:
    # A model's own runbooks (`runbooks: per_model`) quote its numbers; the shared ones point at the alert's.
    (tmp_path / "mlmon.yaml").write_text("apiVersion: mlmon/v1\nkind: Project\nmetadata: {name: p}\n"
                                         "runbooks: per_model\n")
    _generate(tmp_path)
    page = (tmp_path / "out" / "runbooks" / "scorer" / "AvailabilityErrorBudgetBurnPageFast.md").read_text()
    assert "99% of slices must be good over 30d, so 1% may be 1m slices with more than 5% failed requests" in page
    assert "fires it after 9m" in page  # nine whole bad minutes, as the scenario above shows
    latency = (tmp_path / "out" / "runbooks" / "scorer" / "LatencyErrorBudgetBurnPageFast.md").read_text()
    assert "requests slower than 100ms, averaged over 1m slices" in latency


def test_accuracy_slices_take_no_min_samples(tmp_path: Path) -> None:
    head = SPEC.split("slos:")[0].replace("metadata:", "model: {classes: [a, b]}\nmetadata:")
    (tmp_path / "bad.yaml").write_text(head + "slos:\n  accuracy: {objective: 90, budgeting: timeslices, "
                                       "timeslice: {window: 1m, objective: 95}, min_samples: 50}\n")
    r = invoke_mlmon("generate", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "min_samples has no meaning with timeslices" in r.stderr, r.stderr
    (tmp_path / "ok.yaml").write_text(head + "slos:\n  accuracy: {objective: 90, budgeting: timeslices, "
                                      "timeslice: {window: 1m, objective: 95}}\n")
    r = invoke_mlmon("generate", str(tmp_path / "ok.yaml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    rules = (tmp_path / "out" / "prometheus" / "rules" / "scorer.rules.yml").read_text()
    assert "requests:rate" not in rules  # no min_events guard: a slice judges the labels it has
