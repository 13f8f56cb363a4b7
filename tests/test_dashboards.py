"""Grafana dashboards: structure, every query parsed by promtool, links from alerts to panels,
and panels that read the recording rules the compiler generates."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.check import dashboards as dc
from mlmon_codegen.core import naming
from mlmon_codegen.plan import alert_text, burnrate, panel_keys
from mlmon_codegen.plan.rules import info_rule
from mlmon_codegen.preview import render as preview
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.grafana import dashboards
from mlmon_codegen.targets.rules import rule_file as rules

RECORDED = dc.RECORDED
# A family the shared dashboard reads whatever the window: `__name__=~"mlmon_ml:regression_mae:.+"`.
FAMILY = re.compile(r'__name__=~"(mlmon_(?:slo|ml):[a-z_]+:)\.\+"')


PER_MODEL = "dashboards: per_model\n"
# specs/ holds classifiers only: the tests here add this regression model with every residual signal.
REGRESSION_SPEC = ROOT / "tests" / "regression" / "house-price.yaml"


def _generate(tmp_path_factory, project_extra: str) -> Path:
    specs = _specs_copy(tmp_path_factory.mktemp("dashboards"), "specs", project_extra)
    out = specs.parent / "out"
    result = invoke_mlmon("generate", str(specs), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """`mlmon generate` of the example specs and the regression model with `dashboards: per_model`,
    which most tests here are about; the tests only read it."""
    return _generate(tmp_path_factory, PER_MODEL)


@pytest.fixture(scope="module")
def fleet(generated):
    """The fleet `generated` was generated from."""
    return load_and_validate([generated.parent / "specs"]).fleet


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory) -> Path:
    """The same fleet with the shared model dashboard (the default)."""
    return _generate(tmp_path_factory, "")


def _load(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "grafana" / "dashboards").glob("*.json"))}


def test_one_dashboard_per_model_and_a_fleet_overview(generated, fleet):
    names = set(_load(generated))
    assert names == {f"{x.name}.json" for x in fleet.models} | {"fleet.json"}


def test_generated_dashboards_pass_structure_and_promtool(generated):
    boards = _load(generated)
    assert dc.check_dashboards(boards) == []
    for board in boards.values():
        assert board["schemaVersion"] == 39
        assert len(board["uid"]) <= 40
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in dc.panels(board):
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
                assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_mlmon_check_runs_the_dashboard_checks(generated, tmp_path):
    # Only the dashboards: the rest of the tree has its own (slower) promtool tests.
    shutil.copytree(generated / "grafana", tmp_path / "out" / "grafana")
    result = invoke_mlmon("check", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"ok\s+grafana dashboards \d+ dashboards, \d+ queries", result.stdout), result.stdout


def test_mlmon_check_finds_a_panel_whose_recorded_series_the_rules_do_not_record(generated, tmp_path):
    """A model's own dashboard reads what its rule file records (the regression model's six
    statistics among them); a recording dropped from the rule file leaves its panel reading
    nothing, and `mlmon check` says which panel, which series and which file."""
    out = tmp_path / "out"
    for part in ("grafana", "prometheus"):
        shutil.copytree(generated / part, out / part)
    assert dc.check_folder(out / "grafana" / "dashboards")[0].ok
    rule_path = out / naming.rules_file("house-price")
    doc = yaml.safe_load(rule_path.read_text())
    dropped = "mlmon_ml:regression_mape:increase1h"
    for group in doc["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("record") != dropped]
    rule_path.write_text(yaml.safe_dump(doc))
    (run,) = dc.check_folder(out / "grafana" / "dashboards")
    assert not run.ok
    mape = next(p["id"] for p in _load(out)["house-price.json"]["panels"] if p["title"] == "MAPE (1h)")
    assert run.output.splitlines() == [f"house-price.json: panel {mape} 'MAPE (1h)' "
                                       f"target A: reads {dropped}, which {naming.rules_file('house-price')} does not "
                                       "record (regenerate the tree; a dashboard written by hand must read what the "
                                       "rules record)"]
    result = invoke_mlmon("check", str(out))
    assert result.returncode == 1 and dropped in result.stderr and "Traceback" not in result.stderr


def test_a_broken_panel_expression_is_caught(generated):
    boards = _load(generated)
    board = boards["iris-classifier.json"]
    victim = next(p for p in board["panels"] if p.get("title") == "Latency p50, p95, p99")
    victim["targets"][1]["expr"] = victim["targets"][1]["expr"].replace("histogram_quantile(", "histogram_quantile((")
    problems = dc.check_dashboards(boards)
    assert len(problems) == 1, problems
    assert "iris-classifier.json: panel" in problems[0] and "'Latency p50, p95, p99' target B" in problems[0]
    assert "promtool cannot parse" in problems[0]


def test_a_broken_panel_fails_mlmon_check(generated, tmp_path):
    out = tmp_path / "out"
    (out / "grafana" / "dashboards").mkdir(parents=True)
    board = _load(generated)["iris-classifier.json"]
    board["panels"][2]["targets"][0]["expr"] = "sum(rate(x[5m]) by (le)"
    (out / "grafana" / "dashboards" / "iris-classifier.json").write_text(json.dumps(board))
    result = invoke_mlmon("check", str(out))
    assert result.returncode == 1
    assert "FAIL grafana dashboards" in result.stdout
    assert "promtool cannot parse 'sum(rate(x[5m]) by (le)'" in result.stderr


def test_structure_problems_are_found(generated):
    board = _load(generated)["iris-classifier.json"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    broken = copy.deepcopy(board)
    bp = [p for p in broken["panels"] if p["type"] != "row"]
    bp[1]["id"] = bp[0]["id"]  # duplicate id
    bp[2]["gridPos"] = dict(bp[3]["gridPos"])  # overlaps its neighbour
    bp[4]["targets"] = []  # no query
    del bp[5]["type"]
    bp[6]["id"] = 2**31  # past what Grafana keeps in 32 bits
    problems = dc.structure_problems("x.json", broken)
    text = "\n".join(problems)
    assert f"id also used by {panels[0]['title']!r}" in text
    overlaps = [p for p in problems if "overlaps" in p]
    assert len(overlaps) == 1 and repr(panels[2]["title"]) in overlaps[0] and repr(panels[3]["title"]) in overlaps[0]
    assert f"{panels[4]['title']!r}: no query targets" in text
    assert f"{panels[5]['title']!r}: no type" in text
    assert f"{panels[6]['title']!r}: id outside 1..{2**31 - 1}" in text
    assert dc.structure_problems("x.json", board) == []


def test_uids_must_be_unique_across_dashboards(generated):
    boards = _load(generated)
    twin = copy.deepcopy(boards["iris-classifier.json"])
    boards["twin.json"] = twin
    problems = dc.check_dashboards(boards)
    assert any("uid 'mlmon-iris-classifier' is also the uid of iris-classifier.json" in p for p in problems)


def test_variables_are_substituted_before_parsing():
    values = dc.variables({"templating": {"list": [
        {"name": "version", "includeAll": True, "allValue": ".*", "current": {"value": "$__all"}}]}})
    expr = 'sum(rate(x{v=~"$version"}[$__rate_interval])) / $__range_s + rate(y[${__interval}])'
    assert dc.substitute(expr, values) == 'sum(rate(x{v=~".*"}[1m])) / 3600 + rate(y[1m])'


def _alerts(rule_file: dict) -> list[dict]:
    return [r for g in rule_file["groups"] for r in g["rules"] if "alert" in r]


def _opened_panel(rule: dict, board: dict) -> dict:
    """The panel of `board` the alert's dashboard_url opens, checked to show what the alert reads."""
    url = urlparse(rule["annotations"]["dashboard_url"])
    model = rule["labels"]["model"]
    assert url.path == f"/d/{naming.dashboard_uid(model)}/{model}"
    assert board["uid"] == naming.dashboard_uid(model)
    (panel_id,) = parse_qs(url.query)["viewPanel"]
    [panel] = [p for p in dc.panels(board) if p["id"] == int(panel_id)]
    exprs = " ".join(t["expr"] for t in panel["targets"])
    # The panel shows what the alert reads: its SLO's series, the job's `up`, or the ML series
    # named in the alert's expression.
    if "slo" in rule["labels"]:
        assert f'slo="{rule["labels"]["slo"]}"' in exprs, (rule["alert"], panel["title"])
    elif rule["alert"] == naming.MODEL_DOWN_ALERT:
        assert f'up{{job="{naming.job(model)}"}}' in exprs
    else:
        shown = set(RECORDED.findall(exprs)) | set(re.findall(r"ml_[a-z_]+", exprs))
        read = set(RECORDED.findall(rule["expr"])) | set(re.findall(r"ml_[a-z_]+", rule["expr"]))
        assert shown & read, (rule["alert"], panel["title"])
    return panel


def test_every_alert_links_to_the_panel_that_shows_it(generated):
    boards = _load(generated)
    checked = 0
    for rules_file in sorted((generated / "prometheus" / "rules").glob("*.yml")):
        rule_file = yaml.safe_load(rules_file.read_text())
        for rule in _alerts(rule_file):
            _opened_panel(rule, boards[f"{rule['labels']['model']}.json"])
            checked += 1
        # The promtool unit tests expect the same links the rules write.
        model = rules_file.name.removesuffix(".rules.yml")
        links = {r["alert"]: r["annotations"]["dashboard_url"] for r in _alerts(rule_file)}
        tests = yaml.safe_load((generated / naming.unit_test_file(model)).read_text())["tests"]
        expected = [(a["exp_annotations"]["dashboard_url"], case["alertname"]) for t in tests
                    for case in t.get("alert_rule_test", []) for a in case["exp_alerts"]]
        assert expected and all(url == links[name] for url, name in expected)
    assert checked > 20


def _variants(model: m.Model) -> list[m.Model]:
    """The model with each optional part of the dashboard on and off."""
    out = [model, dataclasses.replace(model, ml=None), dataclasses.replace(model, task="regression"),
           dataclasses.replace(model, features=())]
    if model.ml is not None:
        for name, value in (("class_priors", ()), ("retrain_drift_for_ms", None), ("retrain_accuracy_floor", None),
                            ("retrain_max_age_ms", None), ("retrain_new_labels", None), ("no_labels_for_ms", None)):
            out.append(dataclasses.replace(model, ml=dataclasses.replace(model.ml, **{name: value})))
    return out


def test_links_open_their_panel_whichever_panels_a_model_has(fleet):
    # The links are decided from the model (plan/panel_keys.py), the panels by the dashboard's
    # rows: every combination of optional rows and panels must agree.
    variants = [v for x in fleet.models for v in _variants(x)]
    assert any(v.ml is not None and v.features for v in variants) and any(v.ml is None for v in variants)
    for v in variants:
        board = dashboards.render_model(v)
        assert dc.structure_problems(v.name, board) == []
        for rule in _alerts(rules.render(v, fleet.project)):
            _opened_panel(rule, board)


def test_an_alert_whose_panel_the_dashboard_lacks_links_to_the_whole_dashboard(fleet):
    plain = next(x for x in fleet.models if x.ml is None)
    full = next(x for x in fleet.models if x.ml is not None and x.features)
    drift = naming.ML_ALERTS["feature_drift"]
    url = alert_text.links(fleet.project, plain, drift)["dashboard_url"]
    assert url == naming.dashboard_url(fleet.project.grafana_base_url, plain.name)
    assert "viewPanel" not in alert_text.links(fleet.project, full, "NotAnAlert")["dashboard_url"]
    # The same alert name opens its panel where the dashboard draws one.
    (opened,) = parse_qs(urlparse(alert_text.links(fleet.project, full, drift)["dashboard_url"]).query)["viewPanel"]
    psi = [p for p in dashboards.render_model(full)["panels"] if p["title"].startswith("PSI per feature")]
    assert [p["id"] for p in psi] == [int(opened)]


def _dashboard_urls(fleet: m.Fleet) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """(alert, labels) → dashboard_url of every alert the fleet's rule files hold."""
    return {(r["alert"], tuple(sorted(r["labels"].items()))): r["annotations"]["dashboard_url"]
            for x in fleet.models for r in _alerts(rules.render(x, fleet.project))}


def _positions(fleet: m.Fleet) -> dict[str, dict]:
    """dashboard_url → gridPos of the panel it opens."""
    out = {}
    for x in fleet.models:
        board = dashboards.render_model(x)
        for rule in _alerts(rules.render(x, fleet.project)):
            out[rule["annotations"]["dashboard_url"]] = _opened_panel(rule, board)["gridPos"]
    return out


def _specs_copy(tmp_path: Path, name: str, project_extra: str = PER_MODEL) -> Path:
    """The example specs and the regression model, their project file with `project_extra` appended
    (per_model dashboards)."""
    folder = tmp_path / name
    shutil.copytree(ROOT / "specs", folder)
    shutil.copy(REGRESSION_SPEC, folder)
    project = folder / "mlmon.yaml"
    project.write_text(project.read_text() + project_extra)
    return folder


def _edit_yaml(path: Path, edit) -> None:
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _assert_links_stay(before: m.Fleet, after: m.Fleet) -> None:
    old, new = _dashboard_urls(before), _dashboard_urls(after)
    assert old.keys() < new.keys(), "the edit adds alerts and removes none"
    assert {k: new[k] for k in old} == old
    # Not vacuous: panels that alerts open moved on the grid (rows were inserted above them),
    # which renumbered them when ids counted panels by position; their links did not change.
    was, now = _positions(before), _positions(after)
    assert [url for url in was if was[url] != now[url]]


def test_adding_an_slo_changes_no_other_alerts_link(tmp_path):
    specs = _specs_copy(tmp_path, "specs")
    before = load_and_validate([specs]).fleet
    # First in the spec, so its panels come before every other SLO's.
    _edit_yaml(specs / "iris-full.yaml", lambda doc: doc.update(
        slos={"checkout-latency": {"objective": 95, "threshold": "250ms"}, **doc["slos"]}))
    after = load_and_validate([specs]).fleet
    assert {s.name for x in after.models for s in x.slos} - {s.name for x in before.models for s in x.slos} \
        == {"checkout-latency"}
    _assert_links_stay(before, after)


def test_adding_a_feature_changes_no_other_alerts_link(tmp_path):
    def features(keep: set[str]) -> m.Fleet:
        specs = _specs_copy(tmp_path, f"specs-{len(keep)}")
        for name in ("iris-full.yaml", "iris-full.baseline.yaml"):
            _edit_yaml(specs / name, lambda doc: doc.update(
                features={k: v for k, v in doc["features"].items() if k in keep}))
        return load_and_validate([specs]).fleet

    # The first feature adds the drift panels above the ground-truth and retraining rows.
    before, after = features(set()), features({"sepal_length"})
    assert [len(x.features) for x in after.models] != [len(x.features) for x in before.models]
    _assert_links_stay(before, after)


def test_panel_ids_collision_rule():
    # Two keys with the same hash, found by trying keys in a fixed order (about 2**16 of them).
    seen: dict[int, str] = {}
    key = 0
    while naming.panel_id(f"k{key}") not in seen:
        seen[naming.panel_id(f"k{key}")] = f"k{key}"
        key += 1
    a, b = seen[naming.panel_id(f"k{key}")], f"k{key}"
    assert a != b and naming.panel_id(a) == naming.panel_id(b)
    # The first keeps its hash, the later one takes its next attempt; order decides, not the keys.
    assert naming.panel_ids([a, b]) == {a: naming.panel_id(a), b: naming.panel_id(b, 1)}
    assert naming.panel_ids([b, a]) == {b: naming.panel_id(b), a: naming.panel_id(a, 1)}
    assert naming.panel_id(b, 1) != naming.panel_id(b)
    # Earlier keys never move for later ones, whatever comes after them.
    many = [f"k{i}" for i in range(key + 1)]
    ids = naming.panel_ids(many)
    assert len(set(ids.values())) == len(many)
    assert all(0 < i < 2**31 for i in ids.values())
    assert all(naming.panel_ids(many[:n])[many[n - 1]] == ids[many[n - 1]] for n in (1, key // 2, key + 1))
    with pytest.raises(ValueError, match="appears twice"):
        naming.panel_ids(["traffic/targets-up", "slos", "traffic/targets-up"])


@pytest.fixture
def every_key_collides(monkeypatch):
    """naming.panel_id gives every key the same first id, so each dashboard resolves a collision
    for every panel; the cached layouts and link ids are dropped before and after."""
    def clear():
        dashboards.model_layout.cache_clear()
        panel_keys._alert_panel_ids.cache_clear()

    clear()
    monkeypatch.setattr(naming, "panel_id", lambda key, attempt=0: 7 + attempt)
    yield
    monkeypatch.undo()
    clear()


def test_colliding_ids_never_duplicate_and_links_still_open_their_panel(fleet, every_key_collides):
    for x in fleet.models:
        board = dashboards.render_model(x)
        ids = [p["id"] for p in dc.panels(board)]
        assert len(ids) == len(set(ids)) and dc.structure_problems(x.name, board) == []
        for rule in _alerts(rules.render(x, fleet.project)):
            _opened_panel(rule, board)


def test_rendering_rules_does_not_load_the_dashboards():
    code = ("import sys; from pathlib import Path; from mlmon_codegen.spec.validate import load_and_validate; "
            "from mlmon_codegen.targets.rules import rule_file; fleet = load_and_validate([Path('specs')]).fleet; "
            "[rule_file.render(x, fleet.project) for x in fleet.models]; "
            "print(sorted(n for n in sys.modules if n.startswith(('grafanalib', 'mlmon_codegen.targets.grafana'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_panels_read_only_recording_rules_that_exist(generated, shared_out):
    recorded = set()
    for rules_file in (generated / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(rules_file.read_text())["groups"]:
            recorded |= {r["record"] for r in group["rules"] if "record" in r}
    used = set()
    for board in _load(generated).values():
        for _, expr in dc.expressions("", board):
            used |= set(RECORDED.findall(expr))
    assert used, "dashboards read no recording rule"
    assert used <= recorded, used - recorded
    # Not vacuous for regression models: every statistic their rules record is on their dashboard.
    hour = 3_600_000  # house-price's regression.window
    regression = {rule(hour) for rule in (naming.regression_labels, naming.regression_mae, naming.regression_rmse,
                                          naming.regression_mean_error, naming.regression_mape,
                                          naming.regression_residual_quantile)}
    assert regression <= recorded and regression <= used, regression - used
    # The SLO rows read the error ratios and the objective; burn rates and the budget left are
    # computed from them (they are not recorded).
    assert {naming.SLO_PERIOD_ERROR_RATIO, naming.SLO_OBJECTIVE} <= used
    assert not {n for n in used if ":burn_rate:" in n or ":error_budget_remaining:" in n}
    # The shared dashboard reads the same and the tier factors (less the error ratios' name prefix,
    # which label_replace's regex holds, and the training accuracy, which only specs with
    # `predictions.expected_accuracy` record).
    board = _load(shared_out)["model.json"]
    shared = {n for _, e in dc.expressions("", board) for n in RECORDED.findall(e)}
    assert shared and shared - {naming.SLO_ERROR_RATIO_WINDOWS} <= recorded | {
        naming.BASELINE_EXPECTED_ACCURACY}, shared - recorded
    # and the families it reads whatever the window (`__name__=~"<family>.+"`) are each recorded
    families = {f for _, e in dc.expressions("", board) for f in FAMILY.findall(e)}
    assert {_family(r) for r in regression} <= families
    assert all(any(r.startswith(f) for r in recorded) for f in families), families


def test_a_regression_model_shows_its_residual_slo_in_the_slo_row_not_as_service_errors(generated, fleet):
    """regression.slo's bad events are predictions off by more than its threshold: the SLO row
    shows them; the Errors row keeps the service's errors over its requests."""
    model = next(x for x in fleet.models if x.name == "house-price")
    (slo,) = model.slos
    board = _load(generated)["house-price.json"]
    titles = {p["title"]: [t["expr"] for t in p.get("targets", [])] for p in board["panels"]}
    assert all(f'slo="{slo.name}"' in e for e in titles[f"{slo.name}: burn rate"])
    (ratio,) = titles["Error ratio"]
    assert "slo=" not in ratio and model.metrics.errors in ratio and model.metrics.requests in ratio


def test_thresholds_from_the_spec_are_drawn(fleet):
    iris = next(x for x in fleet.models if x.name == "iris-classifier")
    board = dashboards.render_model(iris)
    latency = next(p for p in board["panels"] if p["title"] == "Latency p50, p95, p99")
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    slo = next(s for s in iris.slos if s.kind == "latency")
    assert slo.threshold_s in [s["value"] for s in steps]
    assert latency["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
    burn = next(p for p in board["panels"] if p["title"] == "availability: burn rate")
    factors = sorted(s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"] if s["value"])
    availability = next(s for s in iris.slos if s.kind == "availability")
    assert factors == sorted(t.factor for t in burnrate.tiers(availability))


def test_long_model_names_get_short_unique_uids(fleet):
    base = fleet.models[0]
    long_a = dataclasses.replace(base, name="a" * 60)
    long_b = dataclasses.replace(base, name="a" * 59 + "b")
    boards = {f"{x.name}.json": dashboards.render_model(x) for x in (long_a, long_b)}
    uids = [b["uid"] for b in boards.values()]
    assert all(len(u) <= 40 for u in uids) and len(set(uids)) == 2
    fleet2 = dataclasses.replace(fleet, models=(long_a, long_b))
    table = next(p for p in dashboards.render_fleet(fleet2)["panels"] if p["type"] == "table")
    # The table links by uid, not by name: its first query keeps the uid label of the info series
    # each model's rules record, and those carry the dashboards' uids.
    base = table["targets"][0]["expr"]
    assert base.startswith(f"max by (model, {naming.DASHBOARD_UID_LABEL}) ({naming.MODEL_INFO}{{")
    assert [info_rule(x, fleet.project).labels[naming.DASHBOARD_UID_LABEL] for x in (long_a, long_b)] == uids


def test_fleet_table_links_to_each_model(generated, fleet):
    board = _load(generated)["fleet.json"]
    table = next(p for p in board["panels"] if p["type"] == "table")
    listed = re.search(r'model=~"([^"]*)"', table["targets"][0]["expr"])
    assert listed and sorted(listed.group(1).split("|")) == sorted(x.name for x in fleet.models)
    for model in fleet.models:  # each model's rule file records the info series the table reads
        rule_file = yaml.safe_load((generated / naming.rules_file(model.name)).read_text())
        [info] = [r for g in rule_file["groups"] for r in g["rules"] if r.get("record") == naming.MODEL_INFO]
        assert info["labels"][naming.DASHBOARD_UID_LABEL] == _load(generated)[f"{model.name}.json"]["uid"]
    links = table["fieldConfig"]["overrides"][0]["properties"][0]["value"]
    # The uid opens the model's own dashboard, or the shared one, which `var-model` sets on the model.
    assert links[0]["url"] == "/d/${__data.fields.uid}?var-model=${__data.fields.model}"


def test_preview_draws_panels_from_query_results(generated):
    board = _load(generated)["iris-classifier.json"]
    asked: list[str] = []

    def fetch(path: str, params: dict[str, str]) -> dict:
        asked.append(params["query"])
        if "histogram_quantile((" in params["query"]:
            return {"status": "error", "error": "parse error"}
        if path == "/api/v1/query":
            return {"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"model": "iris-classifier"}, "value": [1000.0, "0.5"]}]}}
        return {"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"le": "0.1"}, "values": [[1000.0 + i, str(i / 10)] for i in range(10)]}]}}

    page = preview.render_page(board, fetch, range_ms=600_000, end=1010.0)
    assert page.panels == page.with_data == len([p for p in board["panels"] if p["type"] != "row"])
    assert "$__rate_interval" not in " ".join(asked) and "$version" not in " ".join(asked)
    assert page.html.count("<polyline") >= 10 and "50%" in page.html
    broken = copy.deepcopy(board)
    victim = next(p for p in broken["panels"] if p.get("title") == "Latency p50, p95, p99")
    for t in victim["targets"]:
        t["expr"] = t["expr"].replace("histogram_quantile(", "histogram_quantile((")
    page = preview.render_page(broken, fetch, range_ms=600_000, end=1010.0)
    assert page.empty == ["Latency p50, p95, p99"]
    assert "parse error" in page.html


def test_a_model_named_fleet_is_refused_with_its_location(tmp_path):
    spec = tmp_path / "fleet.yaml"
    spec.write_text("apiVersion: mlmon/v1\nkind: ModelMonitor\nmetadata: {name: fleet, team: a}\n"
                    "scrape: {targets: [\"x:1\"]}\nslos:\n  availability: {objective: 99.9}\n")
    result = invoke_mlmon("generate", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{spec}:3:" in result.stderr and "'fleet' is reserved" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_no_key_that_grafanas_current_schema_dropped(generated, shared_out):
    """rows, spans, the old table's styling and Graphite-era target fields: none at the level
    where the old schema had them, in the per-model and the shared dashboards."""
    boards = {**_load(generated), **{f"shared {k}": v for k, v in _load(shared_out).items()}}
    assert len(boards) >= 5 and "shared model.json" in boards
    for name, board in boards.items():
        found = set(board) & set(dashboards.LEGACY_DASHBOARD_KEYS)
        found |= set(board["timepicker"]) & set(dashboards.LEGACY_TIMEPICKER_KEYS)
        for variable in board["templating"]["list"]:
            found |= set(variable) & set(dashboards.LEGACY_VARIABLE_KEYS)
        for panel in board["panels"]:
            assert "gridPos" in panel, name
            found |= set(panel) & set(dashboards.LEGACY_PANEL_KEYS)
            if panel["type"] == "row":  # a row is a title and a place, no queries or field config
                found |= set(panel) - dashboards.ROW_KEYS
            if panel["type"] == "table":
                found |= set(panel) & set(dashboards.LEGACY_TABLE_KEYS)
            for target in panel.get("targets", []):
                assert "expr" in target, name
                found |= set(target) & set(dashboards.LEGACY_TARGET_KEYS)
        assert not found, (name, sorted(found))


def test_threshold_lines_stay_in_view_and_read_in_their_units(generated):
    """Soft axis bounds hold every threshold line; burn rates read as "6x", durations in time units."""
    checked = 0
    for name, board in _load(generated).items():
        for panel in board["panels"]:
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            custom = defaults.get("custom", {})
            lines = [s["value"] for s in defaults.get("thresholds", {}).get("steps", []) if s["value"] is not None]
            if panel["type"] != "timeseries" or custom.get("thresholdsStyle", {}).get("mode") != "line" or not lines:
                continue
            low = custom["axisSoftMin"]
            assert low < min(lines) or low == 0 <= min(lines), (name, panel["title"])
            assert max(lines) < custom["axisSoftMax"], (name, panel["title"])
            checked += 1
            if "burn rate" in panel["title"]:
                assert defaults["unit"] == "suffix:x"
    assert checked >= 6
    full = _load(generated)["iris-full.json"]
    lag = next(p for p in full["panels"] if p["title"].startswith("Label lag"))
    assert [t["legendFormat"] for t in lag["targets"]] == ["p50", "p90"]
    age = next(p for p in full["panels"] if p["title"] == "Model age")
    assert age["fieldConfig"]["defaults"]["unit"] == "dtdurations"


def test_preview_draws_threshold_lines_on_round_ticks() -> None:
    """A healthy latency far under its 100 ms threshold: the line is still drawn, ticks are round."""
    panel = {"type": "timeseries", "fieldConfig": {"defaults": {
        "unit": "s", "custom": {"thresholdsStyle": {"mode": "line"}, "axisSoftMin": 0.0, "axisSoftMax": 0.11},
        "thresholds": {"steps": [{"color": "green", "value": None}, {"color": "red", "value": 0.1}]}}}}
    res = preview.Result([("p99", {}, [(0.0, 0.004), (60.0, 0.006), (120.0, 0.005)])])
    svg = preview.svg_timeseries(panel, res, 600, 200)
    assert 'stroke-dasharray="6 4"' in svg  # the threshold line
    ticks = preview.nice_ticks(0.0, 0.11)
    assert ticks == [0.0, 0.05, 0.1, 0.15]
    for t in ticks:
        assert f">{preview.fmt(t, 's')}<" in svg


def test_fleet_table_says_which_models_are_down(generated, fleet, tmp_path):
    """The "scrape targets" column, evaluated by promtool: `up` by job becomes up or down by model."""
    board = _load(generated)["fleet.json"]
    table = next(p for p in board["panels"] if p["type"] == "table")
    names = [t["expr"] for t in table["targets"]]
    organize = next(t for t in table["transformations"] if t["id"] == "organize")["options"]["renameByName"]
    ref = next(k for k, v in organize.items() if v == "scrape targets").removeprefix("Value #")
    expr = next(t["expr"] for t in table["targets"] if t["refId"] == ref)
    assert expr in names
    down, up = fleet.models[0].name, fleet.models[1].name
    (tmp_path / "empty.yml").write_text("groups: []\n")
    (tmp_path / "t.yml").write_text(yaml.safe_dump({
        "rule_files": ["empty.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [
            {"series": f'up{{job="{naming.job(down)}", instance="a"}}', "values": "0x5"},
            {"series": f'up{{job="{naming.job(up)}", instance="b"}}', "values": "1x5"},
            {"series": 'up{job="someone-else", instance="c"}', "values": "1x5"}],
            "promql_expr_test": [{"expr": expr, "eval_time": "4m", "exp_samples": [
                {"labels": f'{{model="{down}"}}', "value": 0}, {"labels": f'{{model="{up}"}}', "value": 1}]}]}]}))
    run = subprocess.run(["promtool", "test", "rules", str(tmp_path / "t.yml")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    overrides = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    mapping = overrides["scrape targets"][0]["value"][0]["options"]
    assert mapping["0"]["text"] == "down" and mapping["1"]["text"] == "up"
    budget = {p["id"]: p["value"] for p in overrides["budget left (worst SLO)"]}
    assert budget["custom.displayMode"] == "color-background" and budget["thresholds"]["steps"][0]["color"] == "red"


# ---------------------------------------------------------------- the shared model dashboard


def _family(name: str) -> str:
    """A recorded name without its window (`mlmon_ml:feature_psi:` for `...:increase1h`)."""
    return name.rsplit(":", 1)[0] + ":" if name.count(":") == 2 else name


def test_every_dashboard_url_resolves_to_a_panel_of_the_shared_dashboard_that_shows_that_model(shared_out):
    """Issue 17: each alert's link opens the one model dashboard on its model (and its SLO's row),
    on a panel whose queries, with the link's variables put in, select that model and show what
    the alert reads."""
    board = _load(shared_out)["model.json"]
    assert board["uid"] == naming.MODEL_DASHBOARD_UID
    # Rows repeated per SLO and per feature, each over its variable (the model's values).
    assert {p["title"]: p.get("repeat") for p in board["panels"] if p.get("repeat")} == {
        "SLO $slo": naming.SLO_VAR, "Feature $feature": naming.FEATURE_VAR}
    variables = {v["name"]: v["query"] for v in board["templating"]["list"]}
    assert variables[naming.FEATURE_VAR] == (
        'label_values({__name__=~"mlmon_ml:feature_psi:.+", model="$model"}, feature)')
    assert variables[naming.SLO_VAR] == 'label_values(mlmon_slo:objective:ratio{model="$model"}, slo)'
    by_id = {p["id"]: p for p in dc.panels(board)}
    repeated_row = next(p for p in board["panels"] if p.get("repeat") == naming.SLO_VAR)
    row_of, row = {}, None
    for p in sorted(board["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        row = p if p["type"] == "row" else row
        row_of[p["id"]] = row
    checked = set()
    opened: dict[str, dict[str, int]] = {}
    for rules_file in sorted((shared_out / "prometheus" / "rules").glob("*.yml")):
        rule_file = yaml.safe_load(rules_file.read_text())
        info = next(r for g in rule_file["groups"] for r in g["rules"] if r.get("record") == naming.MODEL_INFO)
        from_raw: dict[str, set[str]] = {}  # recorded family → the raw series its recordings read
        for r in (r for g in rule_file["groups"] for r in g["rules"] if "record" in r):
            from_raw.setdefault(_family(r["record"]), set()).update(re.findall(r"\bml_[a-z_]+", r["expr"]))
        for rule in _alerts(rule_file):
            model = rule["labels"]["model"]
            url = urlparse(rule["annotations"]["dashboard_url"])
            assert url.path == f"/d/{naming.MODEL_DASHBOARD_UID}"
            params = {k: v for k, (v,) in parse_qs(url.query).items()}
            assert params["var-model"] == model
            panel = by_id[int(params["viewPanel"])]
            values = {**dc.variables(board), **{k.removeprefix("var-"): v for k, v in params.items()}}
            exprs = [dc.substitute(t["expr"], values) for t in panel["targets"]]
            assert all(f'model="{model}"' in e for e in exprs), (rule["alert"], panel["title"])
            read = {_family(n) for n in RECORDED.findall(rule["expr"])}
            # Names, and the families a shared panel reads whatever the window (`__name__=~"<family>.+"`).
            shown = {_family(n) for e in exprs for n in RECORDED.findall(e)} | {
                f for e in exprs for f in FAMILY.findall(e)}
            if "slo" in rule["labels"]:
                # The SLO's row, shown for that SLO alone: the repeated row with `slo` set.
                assert params["var-slo"] == rule["labels"]["slo"]
                assert row_of[panel["id"]] is repeated_row
                assert all(f'slo=~"{rule["labels"]["slo"]}"' in e for e in exprs), (rule["alert"], panel["title"])
                assert shown & read, (rule["alert"], panel["title"])
            elif rule["alert"] == naming.MODEL_DOWN_ALERT and naming.SCRAPE_JOB_LABEL in info["labels"]:
                # `up` of the job ModelDown reads, through the info series that names it.
                assert f'up{{job="{info["labels"][naming.SCRAPE_JOB_LABEL]}"}}' in rule["expr"]
                assert any(e.startswith("sum(up * on(job) group_left()") for e in exprs)
            elif any("ALERTS{" in e for e in exprs):
                # Its own panel reads raw series the shared dashboard cannot name: the model's firing alerts.
                assert panel["title"] == "Firing alerts"
            else:
                # The alert's recordings, or recordings of the raw series it reads.
                raw = set(re.findall(r"\bml_[a-z_]+", rule["expr"]))
                assert shown & read or any(raw & from_raw.get(f, set()) for f in shown), (rule["alert"],
                                                                                         panel["title"])
            checked.add((model, rule["alert"]))
            opened.setdefault(model, {})[rule["alert"]] = panel["id"]
    assert len(checked) > 30 and len({m for m, _ in checked}) == 4
    # The regression model's alerts open the panels of their statistics, not the firing alerts.
    ids = opened["house-price"]
    assert {a: by_id[ids[a]]["title"] for a in ("RegressionMAEHigh", "RegressionRMSEHigh", "RegressionMAPEHigh")} == {
        "RegressionMAEHigh": "Prediction error", "RegressionRMSEHigh": "Prediction error", "RegressionMAPEHigh": "MAPE"}


def test_the_shared_dashboard_reads_no_number_of_any_model(shared_out):
    """Objectives, tier factors and ML thresholds are series: no model's value is in the JSON, so
    adding a model changes nothing in it (only its rules, tests and scrape job are per model)."""
    example_fleet = load_and_validate([shared_out.parent / "specs"]).fleet
    text = (shared_out / naming.MODEL_DASHBOARD_FILE).read_text()
    board = json.loads(text)
    exprs = " ".join(t["expr"] for p in dc.panels(board) for t in p.get("targets", []))
    for model in example_fleet.models:
        assert model.name not in text
        for slo in model.slos:
            assert f"{slo.objective / 100:g}" not in exprs
    assert naming.SLO_BURN_THRESHOLD in exprs and naming.ML_THRESHOLD in exprs
    # Every threshold the dashboard draws is one some model records.
    drawn = set(re.findall(rf'{naming.THRESHOLD_LABEL}="([a-z_]+)"', exprs))
    recorded = {r["labels"][naming.THRESHOLD_LABEL] for f in (shared_out / "prometheus" / "rules").glob("*.yml")
                for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]
                if r.get("record") == naming.ML_THRESHOLD}
    assert {"mae_max", "rmse_max", "mape_max"} <= recorded
    assert recorded and recorded <= drawn
    iris_full = next(x for x in example_fleet.models if x.name == "iris-full")
    assert ("psi_warn", iris_full.ml.drift.psi_warn) in rules_ml_thresholds(iris_full)


def rules_ml_thresholds(model: m.Model) -> list[tuple[str, float]]:
    from mlmon_codegen.plan import ml_rules
    return ml_rules.thresholds(model)


def test_dashboards_option_shared_or_per_model(tmp_path, example_out):
    """`dashboards: shared` (the default) writes model.json and the fleet overview and no model's
    own dashboard; `per_model` the reverse, and its alerts link to the model's own dashboard."""
    shared = set(_load(example_out))
    assert shared == {"model.json", "fleet.json"}
    specs = _specs_copy(tmp_path, "specs")
    out = tmp_path / "out"
    assert invoke_mlmon("generate", str(specs), "-o", str(out)).returncode == 0
    per_model = set(_load(out))
    assert "model.json" not in per_model and "fleet.json" in per_model and len(per_model) == 5
    rule_file = yaml.safe_load((out / naming.rules_file("iris-classifier")).read_text())
    assert all(urlparse(r["annotations"]["dashboard_url"]).path == "/d/mlmon-iris-classifier/iris-classifier"
               for r in _alerts(rule_file))
    info = next(r for g in rule_file["groups"] for r in g["rules"] if r.get("record") == naming.MODEL_INFO)
    assert info["labels"][naming.DASHBOARD_UID_LABEL] == "mlmon-iris-classifier"
    shared_info = next(r for g in yaml.safe_load((example_out / naming.rules_file("iris-classifier")).read_text())[
        "groups"] for r in g["rules"] if r.get("record") == naming.MODEL_INFO)
    assert shared_info["labels"][naming.DASHBOARD_UID_LABEL] == naming.MODEL_DASHBOARD_UID
    # A value that is neither is a located error, and nothing is written.
    bad = _specs_copy(tmp_path, "bad", "dashboards: per-model\n")
    result = invoke_mlmon("generate", str(bad), "-o", str(tmp_path / "bad-out"))
    assert result.returncode == 2 and f"{bad / 'mlmon.yaml'}:" in result.stderr and "dashboards" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "bad-out").exists()


def test_preview_of_the_shared_dashboard_writes_pages_only_for_model_names(tmp_path):
    """A page per model, named after it: a `model` label value that is no spec name (`../x`) from
    Prometheus is not a page, and `--model ../x` is a usage error that writes nothing."""
    result = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"model": m}, "value": [0, "1"]} for m in ("iris", "../x", "a/b", "fraud_detector")]}}
    assert preview.listed_models(lambda path, params: result) == ["fraud_detector", "iris"]
    r = invoke_mlmon("preview", str(ROOT / "out"), "-o", str(tmp_path / "pages"), "--model", "../x")
    assert r.returncode == 2 and "not a model name" in r.stderr and not (tmp_path / "pages").exists()
