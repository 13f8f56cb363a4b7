"""Alertmanager: the routing tree, receivers, inhibitions and templates, proven by the real amtool,
and a located error (or warning) for every kind of bad routing input."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import invoke_mlmon

from mlmon_codegen.build.generate import render_all
from mlmon_codegen.check import amtool
from mlmon_codegen.check.promtool import run
from mlmon_codegen.core import naming
from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.emit.write import render_files, write_tree
from mlmon_codegen.spec.validate import Result, load_and_validate
from mlmon_codegen.stack.harness import free_port, stop_process

ALERTMANAGER: dict[str, Any] = {
    "time_intervals": {"office": [{"weekdays": ["monday:friday"], "times": [{"start_time": "08:00",
                                                                             "end_time": "18:00"}]}]},
    "receivers": [
        {"name": "core-pager", "pagerduty": [{"routing_key_file": "/run/secrets/pd"}]},
        {"name": "core-tickets", "email": [{"to": "core@example.com", "from": "am@example.com",
                                            "smarthost": "smtp.example.com:25"}]},
        {"name": "core-chat", "slack": [{"api_url_file": "/run/secrets/slack", "channel": "#core"}]},
        {"name": "special-pager", "opsgenie": [{"api_key_file": "/run/secrets/og"}]},
        {"name": "ci", "webhook": [{"url": "https://ci.example.com/retrain",
                                    "http_config": {"authorization": {"credentials_file": "/run/secrets/ci"}}}]},
    ],
    "teams": {"core": {"critical": "core-pager", "warning": "core-tickets", "info": "core-chat",
                       "retrain": "ci", "tickets_only_during": "office"}},
}


def _model(name: str, team: str, routing: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"apiVersion": "mlmon/v1", "kind": "ModelMonitor",
                            "metadata": {"name": name, "team": team}, "scrape": {"targets": [f"{name}:8000"]},
                            "slos": {"availability": {"objective": 99.9}}}
    if routing is not None:
        spec["alerting"] = {"routing": routing}
    return spec


def _write(folder: Path, alertmanager: dict[str, Any] | None, models: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    project = {"apiVersion": "mlmon/v1", "kind": "Project", "metadata": {"name": "t"}}
    if alertmanager is not None:
        project["alertmanager"] = alertmanager
    (folder / "project.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    for spec in models:
        (folder / f"{spec['metadata']['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def _validate(folder: Path) -> Result:
    return load_and_validate([folder])


def _problems(folder: Path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        _validate(folder)
    return [str(p) for p in exc.value.problems]


def _generate(specs: Path, out: Path) -> Path:
    write_tree(out, render_files(render_all(_validate(specs).fleet)))
    return out


def _cases(out: Path) -> list[dict[str, Any]]:
    return yaml.safe_load((out / naming.ALERTMANAGER_ROUTE_TESTS).read_text())["cases"]


def _expect(cases: list[dict[str, Any]], name: str) -> list[str]:
    return next(c["receivers"] for c in cases if c["name"] == name)


# ---------------------------------------------------------------- the example project


def test_example_project_passes_amtool(example_out: Path, example_fleet):
    runs = amtool.check_tree(example_out)
    assert [r.command[:2] for r in runs] == [["amtool", "check-config"], ["amtool", "config"]]
    assert all(r.ok for r in runs), "\n".join(r.output for r in runs)
    models = len(example_fleet.models)
    assert len(_cases(example_out)) == 4 * models  # critical, warning, info and retrain per model


def test_example_secrets_are_files_only(example_out: Path):
    config = yaml.safe_load((example_out / naming.ALERTMANAGER_CONFIG).read_text())
    for receiver in config["receivers"]:
        for kind, entries in receiver.items():
            for entry in entries if kind != "name" else []:
                secret_fields = {"api_url", "routing_key", "service_key", "api_key", "auth_password", "auth_secret"}
                assert not secret_fields & set(entry), (receiver["name"], entry)
                auth = entry.get("http_config", {}).get("authorization", {})
                assert "credentials" not in auth


# ---------------------------------------------------------------- the tree, proven by amtool


def test_routing_tree_team_override_retrain_and_fallbacks(tmp_path: Path):
    models = [
        _model("plain", "core"),
        _model("special", "core", {"critical": "special-pager", "retrain_continue": True}),
        _model("orphan-override", "nobody-routes-this", {"critical": "special-pager", "warning": "core-tickets"}),
        _model("unrouted", "unknown-team"),
    ]
    specs = _write(tmp_path / "specs", {**ALERTMANAGER, "default_receiver": "core-tickets"}, models)
    out = _generate(specs, tmp_path / "out")
    runs = amtool.check_tree(out)
    assert all(r.ok for r in runs), "\n".join(r.output for r in runs)
    cases = _cases(out)
    # What the routing settings above say, written out by hand.
    assert _expect(cases, "plain critical") == ["core-pager"]
    assert _expect(cases, "plain warning") == ["core-tickets"]
    assert _expect(cases, "plain info") == ["core-chat"]
    assert _expect(cases, "plain retrain") == ["ci"]  # no continue: the chat does not see it
    assert _expect(cases, "special critical") == ["special-pager"]  # the model's own
    assert _expect(cases, "special warning") == ["core-tickets"]  # inherited from its team
    assert _expect(cases, "special retrain") == ["ci", "core-chat"]  # continue: webhook, then info
    assert _expect(cases, "orphan-override critical") == ["special-pager"]
    assert _expect(cases, "unrouted critical") == ["core-tickets"]  # the default receiver
    assert _expect(cases, "unrouted info") == [naming.NULL_RECEIVER]  # info pages nobody, even by default
    config = yaml.safe_load((out / naming.ALERTMANAGER_CONFIG).read_text())
    core = next(r for r in config["route"]["routes"] if r["matchers"] == ['team="core"'])
    warning = next(r for r in core["routes"] if r.get("matchers") == ['severity="warning"'])
    critical = next(r for r in core["routes"] if r.get("matchers") == ['severity="critical"'])
    assert warning["active_time_intervals"] == ["office"]
    assert "active_time_intervals" not in critical and "mute_time_intervals" not in critical


def test_broken_routing_case_is_caught(tmp_path: Path):
    """The route tests can fail: a wrong expectation, and a tree that lost a route."""
    specs = _write(tmp_path / "specs", ALERTMANAGER, [_model("plain", "core")])
    out = _generate(specs, tmp_path / "out")
    routes = out / naming.ALERTMANAGER_ROUTE_TESTS
    data = yaml.safe_load(routes.read_text())
    wrong = copy.deepcopy(data)
    next(c for c in wrong["cases"] if c["name"] == "plain critical")["receivers"] = ["core-tickets"]
    routes.write_text(yaml.safe_dump(wrong))
    result = amtool.route_tests(routes, out / naming.ALERTMANAGER_CONFIG)
    assert not result.ok
    assert "plain critical: expected core-tickets, amtool resolved core-pager" in result.output

    routes.write_text(yaml.safe_dump(data))
    config_path = out / naming.ALERTMANAGER_CONFIG
    config = yaml.safe_load(config_path.read_text())
    team = config["route"]["routes"][0]
    team["routes"] = [r for r in team["routes"] if r["matchers"] != ['severity="critical"']]
    config_path.write_text(yaml.safe_dump(config))
    assert amtool.check_config(config_path).ok  # still a valid config...
    result = amtool.route_tests(routes, config_path)
    assert not result.ok and "plain critical" in result.output  # ...that no longer pages


def test_inhibitions(example_out: Path):
    rules = yaml.safe_load((example_out / naming.ALERTMANAGER_CONFIG).read_text())["inhibit_rules"]
    slo_page = next(r for r in rules if 'severity="critical"' in r["source_matchers"])
    assert 'slo=~".+"' in slo_page["source_matchers"]  # ModelDown, without slo, is not an SLO page
    assert 'severity="warning"' in slo_page["target_matchers"]
    assert sorted(slo_page["equal"]) == ["model", "slo"]
    down = next(r for r in rules if 'alertname="ModelDown"' in r["source_matchers"])
    assert down["target_matchers"] == ['alertname!="ModelDown"'] and down["equal"] == ["model"]
    drift = next(r for r in rules if 'alertname="FeatureDriftSevere"' in r["source_matchers"])
    assert drift["target_matchers"] == ['alertname="FeatureDrift"'] and drift["equal"] == ["model", "feature"]


def test_templates_render_summary_links_and_tier(example_out: Path, tmp_path: Path):
    out = example_out
    alert = {"status": "firing", "labels": {"alertname": "AvailabilityErrorBudgetBurnPageFast", "severity": "critical",
                                            "model": "iris-classifier", "slo": "availability", "tier": "page-fast"},
             "annotations": {"summary": "budget burning", "description": "ratio is 2%",
                             "runbook_url": "https://rb.example/x.md", "dashboard_url": "https://g.example/d/x"},
             "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
    data = {"receiver": "r", "status": "firing", "alerts": [alert], "groupLabels": {},
            "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"], "externalURL": "http://am"}
    (tmp_path / "data.json").write_text(json.dumps(data))
    glob = str(out / naming.ALERTMANAGER_TEMPLATE)
    rendered = {}
    for name in (naming.TEMPLATE_TITLE, naming.TEMPLATE_TEXT, naming.TEMPLATE_HTML):
        r = run("amtool", "template", "render", f"--template.glob={glob}", f"--template.data={tmp_path / 'data.json'}",
                f'--template.text={{{{ template "{name}" . }}}}')
        assert r.ok, r.output
        rendered[name] = r.output
    assert "[FIRING:1] iris-classifier AvailabilityErrorBudgetBurnPageFast" in rendered[naming.TEMPLATE_TITLE]
    assert "page-fast" in rendered[naming.TEMPLATE_TITLE]
    for text in (rendered[naming.TEMPLATE_TEXT], rendered[naming.TEMPLATE_HTML]):
        for part in ("budget burning", "ratio is 2%", "https://rb.example/x.md", "https://g.example/d/x", "page-fast"):
            assert part in text


def test_no_alertmanager_section_generates_nothing(tmp_path: Path):
    out = _generate(_write(tmp_path / "specs", None, [_model("plain", "core")]), tmp_path / "out")
    assert not (out / "alertmanager").exists() and not (out / naming.ALERTMANAGER_ROUTE_TESTS).exists()


# ---------------------------------------------------------------- bad input


def _with(**changes: Any) -> dict[str, Any]:
    am = copy.deepcopy(ALERTMANAGER)
    am.update(changes)
    return am


def _one(problems: list[str], *parts: str) -> str:
    hits = [p for p in problems if all(part in p for part in parts)]
    assert hits, f"no problem with {parts} in:\n" + "\n".join(problems)
    return hits[0]


def test_undefined_receiver(tmp_path: Path):
    am = _with(teams={"core": {"critical": "core-pagr", "warning": "core-tickets"}})
    problem = _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
                   "alertmanager.teams.core.critical:", "receiver 'core-pagr' is not defined")
    assert "did you mean 'core-pager'?" in problem
    assert problem.startswith(f"{tmp_path / 'project.yaml'}:")


def test_model_override_names_undefined_receiver(tmp_path: Path):
    specs = _write(tmp_path, ALERTMANAGER, [_model("plain", "core", {"warning": "nobody"})])
    _one(_problems(specs), "plain.yaml:", "alerting.routing.warning:", "receiver 'nobody' is not defined")


def test_duplicate_receiver_name(tmp_path: Path):
    am = _with(receivers=[*ALERTMANAGER["receivers"], {"name": "core-chat", "slack": []}])
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])), "alertmanager.receivers[5].name:",
         "two receivers are named 'core-chat'", "receivers[2]")


@pytest.mark.parametrize(("receiver", "field", "use"), [
    ({"slack": [{"api_url": "https://example.com/hook"}]}, "slack[0].api_url", "api_url_file"),
    ({"pagerduty": [{"routing_key": "abc"}]}, "pagerduty[0].routing_key", "routing_key_file"),
    ({"opsgenie": [{"api_key": "abc"}]}, "opsgenie[0].api_key", "api_key_file"),
    ({"email": [{"to": "a@example.com", "from": "b@example.com", "smarthost": "h:25", "auth_password": "pw"}]},
     "email[0].auth_password", "auth_password_file"),
    ({"webhook": [{"url": "https://ci.example.com/hook?token=abc"}]}, "webhook[0].url",
     "http_config.authorization.credentials_file"),
    ({"webhook": [{"url": "https://ci.example.com/hooks/a1b2c3d4e5f6a7b8c9d0e1f2a3b4"}]}, "webhook[0].url",
     "credentials_file"),
    ({"webhook": [{"url": "https://ci.example.com/hook",
                   "http_config": {"authorization": {"credentials": "abc"}}}]},
     "webhook[0].http_config.authorization.credentials", "credentials_file"),
])
def test_inline_secret(tmp_path: Path, receiver: dict[str, Any], field: str, use: str):
    am = _with(receivers=[*ALERTMANAGER["receivers"], {"name": "leaky", **receiver}])
    problem = _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
                   f"alertmanager.receivers[5].{field}:", "inline secret")
    assert use in problem


def test_secret_file_must_be_absolute(tmp_path: Path):
    am = _with(receivers=[*ALERTMANAGER["receivers"], {"name": "rel", "slack": [{"api_url_file": "secrets/url"}]}])
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
         "alertmanager.receivers[5].slack[0].api_url_file:", "'secrets/url' is relative")


@pytest.mark.parametrize(("interval", "field", "message"), [
    ({"times": [{"start_time": "25:00", "end_time": "26:00"}]}, "times[0].start_time", "is not a time of day"),
    ({"times": [{"start_time": "18:00", "end_time": "08:00"}]}, "times[0]", "start must be before end"),
    ({"weekdays": ["funday"]}, "weekdays[0]", "not a valid weekday"),
    ({"weekdays": ["friday:monday"]}, "weekdays[0]", "ends before it starts"),
    ({"months": ["smarch"]}, "months[0]", "not a valid month"),
    ({"days_of_month": [32]}, "days_of_month[0]", "not a valid day of month"),
    ({"location": "Mars/Olympus_Mons"}, "location", "not an IANA time zone"),
])
def test_time_interval_that_does_not_parse(tmp_path: Path, interval: dict[str, Any], field: str, message: str):
    am = _with(time_intervals={"office": [interval]})
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
         f"alertmanager.time_intervals.office[0].{field}:", message)


def test_undefined_time_interval(tmp_path: Path):
    am = _with(time_intervals={})
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
         "alertmanager.teams.core.tickets_only_during:", "time interval 'office' is not defined")


def test_team_without_receivers(tmp_path: Path):
    am = _with(teams={**ALERTMANAGER["teams"], "empty": {"tickets_only_during": "office"}})
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
         "alertmanager.teams.empty:", "team 'empty' has no receivers")


def test_info_must_not_page(tmp_path: Path):
    am = _with(teams={"core": {"critical": "core-pager", "info": "special-pager"}})
    _one(_problems(_write(tmp_path, am, [_model("plain", "core")])),
         "alertmanager.teams.core.info:", "info alerts page nobody", "opsgenie")


def test_model_routing_needs_project_section(tmp_path: Path):
    _one(_problems(_write(tmp_path, None, [_model("plain", "core", {"critical": "x"})])),
         "alerting.routing:", "needs an `alertmanager:` section")


def test_alerts_that_reach_nobody_warn_with_severities(tmp_path: Path):
    am = _with(teams={"core": {"warning": "core-tickets"}})
    specs = _write(tmp_path / "specs", am, [_model("plain", "core"), _model("lost", "unknown-team")])
    warnings = [str(w) for w in _validate(specs).warnings]
    assert any("warning:" in w and "critical alerts of model 'plain' reach nobody" in w for w in warnings), warnings
    assert any("critical and warning alerts of model 'lost' reach nobody" in w for w in warnings), warnings
    assert len(warnings) == 2
    proc = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))  # a warning, not a failure
    assert proc.returncode == 0, proc.stderr
    assert "critical alerts of model 'plain' reach nobody" in proc.stderr
    assert "default_receiver" in proc.stderr


def test_cli_bad_routing_exits_2_and_writes_nothing(tmp_path: Path):
    am = _with(receivers=[*ALERTMANAGER["receivers"], {"name": "core-chat"}])
    specs = _write(tmp_path / "specs", am, [_model("plain", "core")])
    proc = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "two receivers are named 'core-chat'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- inhibitions in a real Alertmanager


def _http(url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as resp:
        text = resp.read()
    return json.loads(text) if resp.headers.get_content_type() == "application/json" else text


def test_inhibitions_in_a_real_alertmanager(example_out: Path, tmp_path: Path):
    """A critical SLO page silences that SLO's tickets only; FeatureDriftSevere silences FeatureDrift
    on its feature only; ModelDown silences the rest of its model."""
    out = tmp_path / "out"
    shutil.copytree(example_out, out)
    # The generated tree and inhibitions as they are, but receivers that notify nobody: the test
    # must never reach out to PagerDuty or Slack, whatever the timing.
    config_path = out / naming.ALERTMANAGER_CONFIG
    config = yaml.safe_load(config_path.read_text())
    config["receivers"] = [{"name": r["name"]} for r in config["receivers"]]
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={out / naming.ALERTMANAGER_CONFIG}", "--cluster.listen-address=",
         f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={tmp_path / 'data'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:  # bounded: ready, exited, or 20 s
            assert proc.poll() is None, "alertmanager exited"
            try:
                _http(f"{url}/-/ready")
                break
            except OSError:
                assert time.monotonic() < deadline, "alertmanager not ready within 20 s"
                time.sleep(0.1)
        iris = {"team": "ml-platform", "model": "iris-classifier"}
        fraud = {"team": "risk", "model": "fraud_detector"}

        def alert(base: dict[str, str], name: str, severity: str, slo: str | None = None,
                  feature: str | None = None) -> dict[str, Any]:
            labels = {**base, "alertname": name, "severity": severity}
            extra = {k: v for k, v in (("slo", slo), ("feature", feature)) if v}
            return {"labels": {**labels, **extra}}

        _http(f"{url}/api/v2/alerts", [
            alert(iris, "AvailabilityErrorBudgetBurnPageFast", "critical", "availability"),
            alert(iris, "AvailabilityErrorBudgetBurnTicketFast", "warning", "availability"),
            alert(iris, "LatencyErrorBudgetBurnTicketFast", "warning", "latency"),
            alert(iris, "FeatureDriftSevere", "critical", feature="petal_width"),
            alert(iris, "FeatureDrift", "warning", feature="petal_width"),
            alert(iris, "FeatureDrift", "warning", feature="sepal_length"),
            alert(fraud, "ModelDown", "critical"),
            alert(fraud, "AvailabilityErrorBudgetBurnPageFast", "critical", "availability"),
            alert(fraud, "AccuracyErrorBudgetBurnTicketSlow", "warning", "accuracy"),
        ])
        state: dict[tuple[str, ...], bool] = {}
        deadline = time.monotonic() + 10
        while len(state) < 9 or not any(state.values()):  # inhibition is evaluated as alerts arrive
            state = {(a["labels"]["model"], a["labels"]["alertname"], *filter(None, [a["labels"].get("feature")])):
                     bool(a["status"]["inhibitedBy"]) for a in _http(f"{url}/api/v2/alerts")}
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state == {
            ("iris-classifier", "AvailabilityErrorBudgetBurnPageFast"): False,
            ("iris-classifier", "AvailabilityErrorBudgetBurnTicketFast"): True,  # same model and SLO
            ("iris-classifier", "LatencyErrorBudgetBurnTicketFast"): False,  # another SLO
            ("iris-classifier", "FeatureDriftSevere", "petal_width"): False,
            ("iris-classifier", "FeatureDrift", "petal_width"): True,  # same model and feature
            ("iris-classifier", "FeatureDrift", "sepal_length"): False,  # another feature
            ("fraud_detector", "ModelDown"): False,
            ("fraud_detector", "AvailabilityErrorBudgetBurnPageFast"): True,
            ("fraud_detector", "AccuracyErrorBudgetBurnTicketSlow"): True,
        }
    finally:
        stop_process(proc, grace=10)
