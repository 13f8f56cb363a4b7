"""The routing tree as records: alertmanager.yml and the AlertmanagerConfigs are two renderings of it."""

from __future__ import annotations

from dataclasses import replace

from conftest import ROOT

from mlmon_codegen.core import naming
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets import alertmanager as am_target
from mlmon_codegen.targets.alertmanager import Inhibition, Route
from mlmon_codegen.targets.kubernetes import alertmanager_config as extras

# A value alertmanager.yml must escape and the CRD must carry as it is.
AWKWARD = 'say "hi" \\ bye'
TREE = Route("team-default", (("team", "=", AWKWARD),), routes=(
    Route("ci", (("action", "=", "retrain"),), continue_=False),
    Route("tickets", (("severity", "=", "warning"), ("slo", "=~", ".+")), active_time_intervals=("office",)),
))


def test_alertmanager_yml_quotes_each_matcher_and_keeps_an_explicit_continue() -> None:
    assert am_target.render_route(TREE) == {
        "receiver": "team-default",
        "matchers": ['team="say \\"hi\\" \\\\ bye"'],
        "routes": [
            {"receiver": "ci", "matchers": ['action="retrain"'], "continue": False},
            {"receiver": "tickets", "matchers": ['severity="warning"', 'slo=~".+"'],
             "active_time_intervals": ["office"]},
        ],
    }


def test_the_crd_reads_the_same_records_with_raw_values() -> None:
    assert extras._route(TREE) == {
        "receiver": "team-default",
        "matchers": [{"name": "team", "value": AWKWARD, "matchType": "="}],
        "routes": [
            {"receiver": "ci", "matchers": [{"name": "action", "value": "retrain", "matchType": "="}]},
            {"receiver": "tickets", "matchers": [{"name": "severity", "value": "warning", "matchType": "="},
                                                 {"name": "slo", "value": ".+", "matchType": "=~"}],
             "activeTimeIntervals": ["office"]},
        ],
    }


def test_inhibitions_render_as_alertmanager_writes_them() -> None:
    rule = Inhibition(source=(("alertname", "=", "A"),), target=(("alertname", "!=", "A"),), equal=("model",))
    assert am_target.render_inhibition(rule) == {"source_matchers": ['alertname="A"'],
                                                 "target_matchers": ['alertname!="A"'], "equal": ["model"]}


def test_the_example_tree_is_team_then_model_then_severity() -> None:
    fleet = load_and_validate([ROOT / "specs"]).fleet
    am = fleet.project.alertmanager
    assert am is not None
    tree = am_target.route_tree(fleet, am)
    *teams, catch_all = tree.routes
    assert catch_all == Route(naming.NULL_RECEIVER, ((naming.SEVERITY_LABEL, "=", "info"),))
    assert [r.matchers for r in teams] == [((naming.TEAM_LABEL, "=", t),) for t in sorted(dict(am.teams))]
    for team in teams:
        for child in team.routes:
            [(label, op, _)] = child.matchers
            assert op == "=" and label in (naming.MODEL_LABEL, naming.SEVERITY_LABEL, naming.ACTION_LABEL)
    # One AlertmanagerConfig per team route, named from the team matcher's value.
    names = [c["metadata"]["name"] for c in extras.alertmanager_configs(_with_kubernetes(fleet))]
    assert names == [naming.k8s_name(f"team-{t}") for t in sorted(dict(am.teams))]


def _with_kubernetes(fleet: m.Fleet) -> m.Fleet:
    return replace(fleet, project=replace(fleet.project, kubernetes=m.KubernetesSettings(namespace="obs")))
