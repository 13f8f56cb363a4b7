"""`--target kubernetes`, built from other targets' output: an AlertmanagerConfig per team
(monitoring.coreos.com/v1alpha1) from the project's `alertmanager:` routing, and the Grafana
dashboards as ConfigMaps labelled for the Grafana sidecar. Plain data, no I/O.

Alertmanager reads secrets from files; the operator reads them from Secrets. Every `*_file`
path becomes a key of one Secret, KUBERNETES_SECRET, named after the file (its basename), which
the cluster's owner creates. The operator scopes each AlertmanagerConfig to alerts whose
`namespace` label is its own unless the Alertmanager sets `alertmanagerConfigMatcherStrategy:
{type: None}`, which mlmon's alerts (labelled by model and team) need.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from mlmon_codegen import model as m
from mlmon_codegen.plan import naming
from mlmon_codegen.plan.durations import format_ms
from mlmon_codegen.targets import alertmanager as am_target
from mlmon_codegen.targets import kubernetes as k8s
from mlmon_codegen.write import Artifact

KUBERNETES_SECRET = "mlmon-alertmanager"


def _secret(path: str) -> dict[str, str]:
    return {"name": KUBERNETES_SECRET, "key": posixpath.basename(str(path))}


def _kv(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(d.items())]


def _notifier(kind: str, cfg: m.ReceiverConfig) -> dict[str, Any]:
    """Alertmanager's snake_case notifier → the CRD's camelCase one, secrets as Secret keys."""
    s = am_target._notifier(cfg)  # the same text templates as alertmanager.yml
    out: dict[str, Any] = {}
    if kind == "slack":
        out = {"apiURL": _secret(s.pop("api_url_file")), "channel": s.pop("channel", None),
               "title": s.pop("title"), "text": s.pop("text")}
    elif kind == "pagerduty":
        key = "routingKey" if "routing_key_file" in s else "serviceKey"
        out = {key: _secret(s.pop("routing_key_file", None) or s.pop("service_key_file")),
               "description": s.pop("description"), "details": _kv(s.pop("details"))}
    elif kind == "email":
        out = {"to": s.pop("to"), "from": s.pop("from", None), "smarthost": s.pop("smarthost", None),
               "authUsername": s.pop("auth_username", None),
               "authPassword": _secret(s.pop("auth_password_file")) if "auth_password_file" in s else None,
               "headers": _kv(s.pop("headers")), "html": s.pop("html"), "text": s.pop("text")}
    elif kind == "opsgenie":
        out = {"apiKey": _secret(s.pop("api_key_file")), "message": s.pop("message"),
               "description": s.pop("description"), "priority": s.pop("priority")}
    else:
        out = {"url": s.pop("url")}
        auth = (s.pop("http_config", None) or {}).get("authorization")
        if auth:
            out["httpConfig"] = {"authorization": {"type": auth.get("type") or "Bearer",
                                                   "credentials": _secret(auth["credentials_file"])}}
    if "send_resolved" in s:
        out["sendResolved"] = s.pop("send_resolved")
    return {k: v for k, v in out.items() if v is not None}


def _receiver(r: m.Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name}
    for kind in ("slack", "pagerduty", "email", "opsgenie", "webhook"):
        configs = [_notifier(kind, c) for c in r.configs if c.kind == kind]
        if configs:
            out[f"{kind}Configs"] = configs
    return out


MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)(".*")$')


def _split(text: str) -> tuple[str, str, str]:
    """`team="a"` (a matcher as alertmanager.yml writes it) → (name, op, value)."""
    found = MATCHER.match(text)
    assert found is not None, text
    return found.group(1), found.group(2), json.loads(found.group(3))


def _matchers(route: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": name, "value": value, "matchType": op}
            for name, op, value in (_split(t) for t in route["matchers"])]


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"receiver": route["receiver"], "matchers": _matchers(route)}
    if route.get("continue"):
        out["continue"] = True
    if route.get("active_time_intervals"):
        out["activeTimeIntervals"] = list(route["active_time_intervals"])
    if route.get("routes"):
        out["routes"] = [_route(r) for r in route["routes"]]
    return out


def _receivers_used(route: dict[str, Any]) -> set[str]:
    return {route["receiver"]} | {n for r in route.get("routes", []) for n in _receivers_used(r)}


def _time_interval(name: str, ranges: tuple[m.TimeRange, ...]) -> dict[str, Any]:
    entries = []
    for t in ranges:
        entry: dict[str, Any] = {}
        if t.times:
            entry["times"] = [{"startTime": a, "endTime": b} for a, b in t.times]
        for key, field in (("weekdays", "weekdays"), ("days_of_month", "daysOfMonth"), ("months", "months"),
                           ("years", "years")):
            if getattr(t, key):
                entry[field] = list(getattr(t, key))
        entries.append(entry)
    return {"name": name, "timeIntervals": entries}


def alertmanager_configs(fleet: m.Fleet) -> list[dict[str, Any]]:
    """One AlertmanagerConfig per team in the routing tree: its subtree, receivers and intervals."""
    am = fleet.project.alertmanager
    if am is None:
        return []
    tree = am_target.route_tree(fleet, am)
    k = fleet.project.kubernetes
    receivers = {r.name: r for r in am.receivers}
    intervals = dict(am.time_intervals)
    out = []
    for team_route in tree["routes"]:
        team = next((v for name, _, v in (_split(t) for t in team_route["matchers"]) if name == naming.TEAM_LABEL),
                    None)
        if team is None:
            continue
        route = {**_route(team_route), "groupBy": list(am.group_by), "groupWait": format_ms(am.group_wait_ms),
                 "groupInterval": format_ms(am.group_interval_ms),
                 "repeatInterval": format_ms(am.repeat_interval_ms)}
        used = _receivers_used(team_route)
        spec: dict[str, Any] = {
            "route": route,
            "receivers": [_receiver(receivers[n]) if n in receivers else {"name": n} for n in sorted(used)],
        }
        active = sorted({i for r in _walk(team_route) for i in r.get("active_time_intervals", [])})
        if active:
            spec["muteTimeIntervals"] = [_time_interval(n, intervals[n]) for n in active]
        out.append({"apiVersion": k8s.MONITORING_V1ALPHA1, "kind": "AlertmanagerConfig",
                    "metadata": k8s.metadata(naming.k8s_name(f"team-{team}"), k.namespace,
                                             k.alertmanager_config_labels),
                    "spec": spec})
    return out


def _walk(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [route, *(r for child in route.get("routes", []) for r in _walk(child))]


def dashboard_configmap(project: m.Project, dashboard: Artifact) -> dict[str, Any]:
    """A rendered dashboard's JSON as a ConfigMap the Grafana sidecar picks up by its labels."""
    k = project.kubernetes
    name = posixpath.basename(dashboard.path)
    stem = name.rsplit(".", 1)[0]
    text = json.dumps(dashboard.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # one line in YAML
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": k8s.metadata(naming.k8s_name(f"dashboard-{stem}"), k.dashboard_namespace,
                                     k.dashboard_labels),
            "data": {name: text}}
