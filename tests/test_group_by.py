"""`group_by` on SLOs: one SLO per group (model_version here), with its own budget and burn alerts.

The promtool scenario pins the timing of a failing canary beside a healthy stable version: only
the canary's page-fast alert fires, with its model_version label, when the tier's long window
crosses the threshold (computed from plan/burnrate.py's tiers, as tests/scenarios/ does by hand).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import invoke_mlmon, promtool_test

from mlmon_codegen.core import naming
from mlmon_codegen.plan import burnrate, grouping
from mlmon_codegen.plan import series as cardinality
from mlmon_codegen.plan.sli import windows
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.grafana import dashboards

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: ranker, team: search}
scrape: {targets: ["ranker:8000"], interval: 15s}
slo_defaults: {group_by: [model_version]}
slos:
  availability: {objective: 99.9, period: 30d}
"""
REQUESTS_PER_MIN = 10_000
FAULT_START_MIN = 60  # the canary's errors start here, once the 1h window is full of traffic


def _load(tmp_path: Path, text: str) -> m.Model:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    return load_and_validate([spec]).fleet.models[0]


def _generate(tmp_path: Path, text: str, name: str = "out") -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    result = invoke_mlmon("generate", str(spec), "-o", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    return tmp_path / name


def _promtool(test_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True, timeout=300)


def _alerts_selector(labels: dict[str, str]) -> str:
    return "ALERTS{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _minutes(ms: int) -> int:
    assert ms % 60_000 == 0
    return ms // 60_000


def _ratio_over(window_min: float, elapsed: float, ratio: float) -> float:
    """The error ratio a window reads `elapsed` minutes into a fault at `ratio`, with steady
    traffic since t=0: errors over the fault's part of the window, traffic over what of the window
    has data (a window longer than the history reads the history)."""
    return ratio * min(elapsed, window_min) / min(window_min, FAULT_START_MIN + elapsed)


def _crossing(tier: burnrate.Tier, ratio: float) -> float:
    """Minutes after t=0 at which both of the tier's windows exceed its threshold (to 0.01 min)."""
    elapsed = 0.0
    while not all(_ratio_over(_minutes(w), elapsed, ratio) > tier.threshold for w in (tier.short_ms, tier.long_ms)):
        elapsed += 0.01
    return FAULT_START_MIN + elapsed


def test_only_the_failing_version_pages_with_its_labels_when_the_long_window_crosses(tmp_path):
    model = _load(tmp_path, SPEC)
    slo = model.slos[0]
    tiers = {t.name: t for t in burnrate.tiers(slo)}
    fast = tiers["page-fast"]
    # The canary fails at twice page-fast's threshold; the stable version at half the lowest
    # threshold of any tier, so nothing of its own may ever fire.
    canary_ratio = 2 * fast.threshold
    stable_ratio = min(t.threshold for t in tiers.values()) / 2
    canary_errors = round(REQUESTS_PER_MIN * canary_ratio)
    stable_errors = round(REQUESTS_PER_MIN * stable_ratio)
    assert canary_errors == REQUESTS_PER_MIN * canary_ratio and stable_errors == REQUESTS_PER_MIN * stable_ratio
    # Page-fast's 1h window is full of good traffic at the fault: its ratio grows as ratio x
    # elapsed / 1h and crosses the threshold half-way through the window.
    cross = {name: _crossing(t, canary_ratio) for name, t in tiers.items()}
    assert cross["page-fast"] == pytest.approx(FAULT_START_MIN + _minutes(fast.long_ms) / 2, abs=0.02)
    before, after = round(cross["page-fast"]) - 3, round(cross["page-fast"]) + 3
    # Each check is minutes away from any tier's crossing: rate()'s extrapolation at a
    # window's edges moves a crossing by well under a minute.
    assert all(abs(c - t) >= 2.5 for c in cross.values() for t in (before, after)), cross
    steps = after + 5
    steps = after + 5
    out = _generate(tmp_path, SPEC)
    rules = out / "prometheus" / "rules" / naming.rules_file("ranker").split("/")[-1]
    groups = [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]]

    def firing(at: int) -> list[dict[str, object]]:
        """The canary's alerts firing at minute `at`, and only the canary's."""
        return [{"labels": _alerts_selector({
            "alertname": naming.burn_alert(slo.name, t.name), "alertstate": "firing", "model": "ranker",
            "team": "search", "slo": slo.name, "severity": t.severity, "tier": t.name, "model_version": "canary"}),
            "value": 1} for t in tiers.values() if cross[t.name] < at]

    def series(version: str, errors_per_min: int, start: int) -> list[dict[str, str]]:
        return [{"series": f'ml_prediction_requests_total{{model_name="ranker", model_version="{version}"}}',
                 "values": f"0+{REQUESTS_PER_MIN}x{steps}"},
                {"series": f'ml_prediction_errors_total{{model_name="ranker", model_version="{version}", '
                           'error_type="internal"}',
                 "values": f"0x{start} {errors_per_min}+{errors_per_min}x{steps - start - 1}"}]

    test = {
        "rule_files": [rules.name], "evaluation_interval": "1m", "group_eval_order": groups,
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": 'up{job="mlmon-ranker", instance="ranker:8000"}', "values": f"1x{steps}"},
                             *series("canary", canary_errors, FAULT_START_MIN),
                             *series("stable", stable_errors, 0)],
            "promql_expr_test": [
                {"expr": 'ALERTS{alertstate="firing", slo="availability"}', "eval_time": f"{before}m",
                 "exp_samples": firing(before)},
                {"expr": 'ALERTS{alertstate="firing", slo="availability"}', "eval_time": f"{after}m",
                 "exp_samples": firing(after)},
                {"expr": 'ALERTS{model_version="stable"}', "eval_time": f"{steps - 1}m", "exp_samples": []},
            ],
        }],
    }
    shutil.copy(rules, tmp_path / rules.name)
    (tmp_path / "scenario.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    # The scenario is about page-fast: quiet for the canary before, firing after.
    assert fast.name not in str(firing(before)) and fast.name in str(firing(after))
    result = _promtool(tmp_path / "scenario.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr

    # The same scenario against the rules of the ungrouped SLO fails: its one alert has no
    # model_version, and the canary's errors are diluted by the stable version's traffic.
    plain = _generate(tmp_path, SPEC.replace("slo_defaults: {group_by: [model_version]}\n", ""), "plain")
    shutil.copy(plain / "prometheus" / "rules" / rules.name, tmp_path / rules.name)
    result = _promtool(tmp_path / "scenario.test.yml")
    assert result.returncode != 0


def test_the_generated_unit_tests_fire_for_the_burning_group_only(tmp_path):
    spec = SPEC.replace("period: 30d}", "period: 30d, alerts: {tiers: [page-fast]}}")
    out = _generate(tmp_path, spec)
    tests = yaml.safe_load((out / naming.unit_test_file("ranker")).read_text())["tests"]
    case = next(c for c in tests if "PageFast" in c["alert_rule_test"][0]["alertname"]
                and c["alert_rule_test"][0]["exp_alerts"])
    versions = {s["series"].split('model_version="')[1].split('"')[0] for s in case["input_series"]
                if "model_version" in s["series"]}
    assert versions == {"burning", "healthy"}
    (expected,) = case["alert_rule_test"][0]["exp_alerts"]
    assert expected["exp_labels"]["model_version"] == "burning"
    assert expected["exp_annotations"]["summary"].endswith(" for model_version=burning")
    rules = (out / "prometheus" / "rules" / "ranker.rules.yml").read_text()
    assert "for model_version={{ $labels.model_version }}" in rules
    result = _promtool(out / naming.unit_test_file("ranker"))
    assert result.returncode == 0, result.stdout + result.stderr
    # Proven against rules that group: the ungrouped rules fail the same tests.
    plain = _generate(tmp_path, spec.replace("slo_defaults: {group_by: [model_version]}\n", ""), "plain")
    shutil.copy(plain / "prometheus" / "rules" / "ranker.rules.yml", out / "prometheus" / "rules" / "ranker.rules.yml")
    assert _promtool(out / naming.unit_test_file("ranker")).returncode != 0


def test_recordings_and_alerts_keep_the_group_labels(tmp_path):
    out = _generate(tmp_path, SPEC.replace("[model_version]", "[model_version, endpoint]"))
    rules = [r for g in yaml.safe_load((out / "prometheus" / "rules" / "ranker.rules.yml").read_text())["groups"]
             for r in g["rules"]]
    ratio = next(r for r in rules if r.get("record", "").startswith("mlmon_slo:error_ratio:rate"))
    assert "sum by (model_version, endpoint) (" in ratio["expr"] and " sum(" not in ratio["expr"]
    burn = next(r for r in rules if r.get("alert", "").endswith("PageFast"))
    assert "max by (model, slo, model_version, endpoint) (" in burn["expr"]
    period = next(r for r in rules if r.get("record") == naming.SLO_PERIOD_ERROR_RATIO)
    assert "sum by (model_version, endpoint) (" in period["expr"] and " sum(" not in period["expr"]


def test_stats_count_each_group(tmp_path):
    plain = _load(tmp_path, SPEC.replace("slo_defaults: {group_by: [model_version]}\n", ""))
    guessed = _load(tmp_path, SPEC)
    given = _load(tmp_path, SPEC.replace("{group_by: [model_version]}",
                                         "{group_by: [model_version], group_values: {model_version: 2}}"))
    project = m.DEFAULT_PROJECT
    base = dict(cardinality.estimate(plain, project).by_record)
    # one series per SLO (per tier) and per model, whatever the groups
    ungrouped = {naming.SLO_OBJECTIVE, naming.SLO_BURN_THRESHOLD, naming.MODEL_INFO}
    for model, values in ((guessed, grouping.UNLISTED_GROUP_VALUES), (given, 2)):
        est = cardinality.estimate(model, project)
        assert dict(est.by_record) == {k: n if k in ungrouped else n * values for k, n in base.items()}
    assert cardinality.estimate(guessed, project).assumed_groups == ("model_version",)
    assert cardinality.estimate(given, project).assumed_groups == ()
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    result = invoke_mlmon("stats", str(spec))
    assert result.returncode == 0, result.stderr
    total = cardinality.estimate(guessed, project).total
    assert f"ranker: {total} series" in result.stdout
    assert f"assuming {grouping.UNLISTED_GROUP_VALUES} values of model_version" in result.stdout
    as_json = json.loads(invoke_mlmon("stats", "--json", str(spec)).stdout)
    assert as_json["models"][0]["groups_assumed"] == ["model_version"]


@pytest.mark.parametrize(("label", "variable"), [("model_version", "model_version"), ("version", "group_version")])
def test_the_dashboard_has_a_variable_per_group_label_and_slo_panels_filter_by_it(tmp_path, label, variable):
    model = _load(tmp_path, SPEC.replace("[model_version]", f"[{label}]"))
    dash = dashboards.render_model(model)
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables[variable]["query"] == f'label_values({naming.SLO_PERIOD_ERROR_RATIO}{{model="ranker"}}, {label})'
    assert variables[variable]["includeAll"] is True
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", ())]
    budget = [e for e in exprs if naming.SLO_PERIOD_ERROR_RATIO in e]
    assert budget and all(f'{label}=~"${variable}"' in e for e in budget)
    # The objective's selectors: recorded once, not per group (burn rates divide by it many to one).
    objective = [sel for e in exprs for sel in re.findall(rf"{re.escape(naming.SLO_OBJECTIVE)}{{[^}}]*}}", e)]
    assert objective and not any(f"${variable}" in sel for sel in objective)
    plain = dashboards.render_model(_load(tmp_path, SPEC.replace("slo_defaults: {group_by: [model_version]}\n", "")))
    assert variable not in {v["name"] for v in plain["templating"]["list"]}


CUSTOM = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: ranker, team: search}
scrape: {targets: ["ranker:8000"]}
slos:
  business:
    objective: 99
    group_by: [tenant]
    sli:
      error_query: 'ERRORS'
      total_query: 'sum by (tenant) (rate(app_requests_total[{{window}}]))'
"""


@pytest.mark.parametrize(("query", "warned"), [
    ("sum by (tenant, handler) (rate(app_errors_total[{{window}}]))", "keeps handler, which group_by does not name"),
    ("sum(rate(app_errors_total[{{window}}])) by (handler, tenant)", "keeps handler, which group_by does not name"),
    ("sum without (instance) (rate(app_errors_total[{{window}}]))", "keeps every label but instance"),
    ("sum by (tenant) (rate(app_errors_total[{{window}}]))", None),
    ("rate(app_errors_total[{{window}}])", None),
])
def test_a_custom_query_keeping_labels_group_by_does_not_name_is_warned_about(tmp_path, query, warned):
    spec = tmp_path / "spec.yaml"
    spec.write_text(CUSTOM.replace("ERRORS", query))
    result = invoke_mlmon("validate", str(spec))
    assert result.returncode == 0, result.stderr
    if warned is None:
        assert "warning" not in result.stderr
    else:
        (line,) = [x for x in result.stderr.splitlines() if "warning" in x]
        assert line.startswith(f"{spec}:10:7: warning: slos.business.sli.error_query: the query {warned}")
        assert "would collapse them into one series per group" in line


def test_a_group_label_the_roles_matchers_fix_is_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("slos:", "metrics: {requests: {name: reqs_total, matchers: {handler: /predict}}}\n"
                                 "slos:").replace("[model_version]", "[handler]"))
    result = invoke_mlmon("validate", str(spec))
    assert result.returncode == 2
    assert "slo_defaults.group_by[0]: `handler` is a label of the model's selector or of a role's matchers" \
        in result.stderr
    assert "Traceback" not in result.stderr



SILENT_FROM_MIN = 60  # the canary's last scrape; the stable version keeps reporting


def test_only_the_silent_group_raises_no_data_with_its_labels_when_the_for_says(tmp_path):
    model = _load(tmp_path, SPEC)
    slo = model.slos[0]
    shortest = windows(slo)[0]
    # rate() needs two samples in its range, which Prometheus 2 closes at both ends: with a sample
    # a minute, the shortest window's ratio still reads the last two `shortest - 1` minutes after
    # the last scrape and is gone a minute later; the alert is pending from then, firing `for` later.
    gone = SILENT_FROM_MIN + _minutes(shortest)
    fires = gone + _minutes(model.no_data_for_ms)
    steps = fires + 5
    alert = naming.no_data_alert(slo.name)

    def series(version: str, last: int) -> list[dict[str, str]]:
        return [{"series": f'ml_prediction_requests_total{{model_name="ranker", model_version="{version}"}}',
                 "values": f"0+{REQUESTS_PER_MIN}x{last}"},
                {"series": f'ml_prediction_errors_total{{model_name="ranker", model_version="{version}", '
                           'error_type="internal"}', "values": f"0x{last}"}]

    def no_data(at: int, state: str | None) -> dict[str, object]:
        labels = {"alertname": alert, "alertstate": state or "", "model": "ranker", "team": "search",
                  "slo": slo.name, "severity": "warning", "model_version": "canary"}
        return {"expr": f'ALERTS{{alertname="{alert}"}}', "eval_time": f"{at}m",
                "exp_samples": [{"labels": _alerts_selector(labels), "value": 1}] if state else []}

    ratio = f'{naming.slo_error_ratio(shortest)}{{model="ranker", slo="{slo.name}", model_version="stable"}}'
    tests = [{
        "interval": "1m",
        "input_series": [{"series": 'up{job="mlmon-ranker", instance="ranker:8000"}', "values": f"1x{steps}"},
                         *series("canary", SILENT_FROM_MIN), *series("stable", steps)],
        "promql_expr_test": [
            no_data(gone - 1, None), no_data(gone, "pending"), no_data(fires - 1, "pending"),
            no_data(fires, "firing"), no_data(steps - 1, "firing"),
            # The stable version keeps its ratio (no errors: 0) and raises nothing.
            {"expr": ratio, "eval_time": f"{steps - 1}m", "exp_samples": [{"labels": ratio, "value": 0}]},
        ],
    }]
    rules = _generate(tmp_path, SPEC) / "prometheus" / "rules" / naming.rules_file("ranker").split("/")[-1]
    promtool_test(rules, tests, "no-data")

    # Control: one ratio for the whole SLO (the ungrouped rules) still has the stable version's data,
    # so nothing fires and the same scenario fails.
    plain = _generate(tmp_path, SPEC.replace("slo_defaults: {group_by: [model_version]}\n", ""), "plain")
    shutil.copy(plain / "prometheus" / "rules" / rules.name, rules)
    with pytest.raises(AssertionError, match=alert):
        promtool_test(rules, tests, "no-data")
