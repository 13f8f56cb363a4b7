r"""`--target kubernetes`, built from other targets' output: an AlertmanagerConfig per team
(monitoring.coreos.com/v1alpha1) from the project's `alertmanager:` routing, and the Grafana
dashboards as ConfigMaps labelled for the Grafana sidecar. Plain data, no I/O.

Secrets. Alertmanager reads secrets from files; the operator reads them from Secrets. Every `*_file`
path of every receiver becomes a key of one Secret, KUBERNETES_SECRET, in the AlertmanagerConfigs'
namespace, which the cluster's owner creates (mlmon never sees a secret, so it cannot write one).
The key is the file's basename when that is a valid Secret key (`[-._a-zA-Z0-9]+`, at most 253
characters) that no other path shares; otherwise the whole path with `/` and every character a key
cannot hold turned into `_` (`/etc/am/team-a/token` → `etc_am_team-a_token`), plus a stable hash
suffix only when that is too long or still not unique (`secret_keys`). Each AlertmanagerConfig
carries the keys its receivers read in the annotation SECRET_KEYS_ANNOTATION, a sorted JSON
object key → file, so the Secret can be built without reading this code, where the files are:

    kubectl -n <namespace> get alertmanagerconfig -l app.kubernetes.io/managed-by=mlmon -o json \
      | jq -r '[.items[].metadata.annotations["mlmon.io/secret-keys"] // "{}" | fromjson | to_entries[]
               | "--from-file=\(.key)=\(.value)"] | unique[]' \
      | xargs -d '\n' kubectl -n <namespace> create secret generic mlmon-alertmanager

An annotation rather than a file of its own: anything under kubernetes/ is applied through the
kustomization, and a data-only file would break it while a placeholder Secret would overwrite the
real one; the annotation travels with the object that needs the keys and the operator ignores it.

What the operator cannot express. Its time intervals have no `location` (prometheus-operator issue
5512, still open in v0.80): they run in UTC. Validation warns when a project with a `kubernetes:`
section gives an interval a time zone; the interval is written with its times unchanged. The
notification texts name mlmon's templates, which an AlertmanagerConfig cannot ship: the
Alertmanager must load alertmanager/templates/mlmon.tmpl itself (e.g. through
`alertmanagerConfiguration.templates` on its Alertmanager object). The operator scopes each
AlertmanagerConfig to alerts whose `namespace` label is its own unless the Alertmanager sets
`alertmanagerConfigMatcherStrategy: {type: None}`, which mlmon's alerts (labelled by model and team)
need. The inhibitions of alertmanager.yml are repeated in each team's object, limited to that team.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.emit.artifact import Artifact
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import alertmanager as am_target
from mlmon_codegen.targets.kubernetes import objects as k8s

KUBERNETES_SECRET = "mlmon-alertmanager"
SECRET_KEYS_ANNOTATION = "mlmon.io/secret-keys"
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
SECRET_KEY_MAX = 253
_NOT_KEY = re.compile(r"[^-._a-zA-Z0-9]")
# Hash suffix lengths: short for readability; the full digest only if two short ones ever collide.
_SHORT_HASH, _FULL_HASH = 8, 64


def _valid_key(key: str) -> bool:
    # Kubernetes' IsConfigMapKey, which Secrets share: "." and ".." are not keys, nor is a ".." prefix.
    return (bool(SECRET_KEY.fullmatch(key)) and len(key) <= SECRET_KEY_MAX and key != "."
            and not key.startswith(".."))


def _whole_path(path: str) -> str:
    key = _NOT_KEY.sub("_", path.strip("/").replace("/", "_")) or "_"
    return f"_{key}" if key == "." or key.startswith("..") else key


def _key(path: str, stage: int) -> str:
    """Stage 0: the basename; 1: the whole path; 2, 3: the whole path, cut to fit a hash suffix."""
    if stage == 0:
        return posixpath.basename(path)
    if stage == 1:
        return _whole_path(path)
    size = _SHORT_HASH if stage == 2 else _FULL_HASH
    digest = hashlib.sha256(path.encode()).hexdigest()[:size]
    return f"{_whole_path(path)[:SECRET_KEY_MAX - size - 1]}-{digest}"


def secret_keys(paths: Iterable[str]) -> dict[str, str]:
    """File path → key of KUBERNETES_SECRET: valid and unique for any set of paths, and the same
    for the same set in any order. Each path starts at the most readable key and moves on only
    while its key is invalid or shared; full-digest keys never collide, so this ends."""
    distinct = sorted(set(paths))
    bases = Counter(posixpath.basename(p) for p in distinct)
    stage = {p: 0 if _valid_key(posixpath.basename(p)) and bases[posixpath.basename(p)] == 1 else 1
             for p in distinct}
    while True:
        keys = {p: _key(p, stage[p]) for p in distinct}
        claimed = Counter(keys.values())
        moved = [p for p in distinct if stage[p] < 3 and (claimed[keys[p]] > 1 or not _valid_key(keys[p]))]
        if not moved:
            return keys
        for p in moved:
            stage[p] += 1


def _files(receiver: m.Receiver) -> list[str]:
    """Every secret file a receiver reads: the model keeps secrets only as `*_file` settings."""
    return [str(v) for c in receiver.configs for k, v in c.settings if k.endswith("_file")]


def _kv(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(d.items())]


def _notifier(kind: str, cfg: m.ReceiverConfig, keys: dict[str, str]) -> dict[str, Any]:
    """Alertmanager's snake_case notifier → the CRD's camelCase one, secrets as Secret keys."""
    s = am_target.notifier(cfg)  # the same text templates as alertmanager.yml

    def secret(field: str) -> dict[str, str] | None:
        path = s.pop(field, None)
        return None if path is None else {"name": KUBERNETES_SECRET, "key": keys[str(path)]}

    out: dict[str, Any] = {}
    if kind == "slack":
        out = {"apiURL": secret("api_url_file"), "channel": s.pop("channel", None),
               "title": s.pop("title"), "text": s.pop("text")}
    elif kind == "pagerduty":
        out = {"routingKey": secret("routing_key_file"), "serviceKey": secret("service_key_file"),
               "description": s.pop("description"), "severity": s.pop("severity"),
               "details": _kv(s.pop("details"))}
    elif kind == "email":
        out = {"to": s.pop("to"), "from": s.pop("from", None), "smarthost": s.pop("smarthost", None),
               "authUsername": s.pop("auth_username", None), "authPassword": secret("auth_password_file"),
               "requireTLS": s.pop("require_tls", None),
               "headers": _kv(s.pop("headers")), "html": s.pop("html"), "text": s.pop("text")}
    elif kind == "opsgenie":
        out = {"apiKey": secret("api_key_file"), "apiURL": s.pop("api_url", None), "message": s.pop("message"),
               "description": s.pop("description"), "priority": s.pop("priority")}
    else:
        out = {"url": s.pop("url"), "maxAlerts": s.pop("max_alerts", None)}
        auth = (s.pop("http_config", None) or {}).get("authorization")
        if auth:
            out["httpConfig"] = {"authorization": {
                "type": auth.get("type") or "Bearer",
                "credentials": {"name": KUBERNETES_SECRET, "key": keys[str(auth["credentials_file"])]}}}
    if "send_resolved" in s:
        out["sendResolved"] = s.pop("send_resolved")
    if s:  # a setting left here would vanish from the cluster's Alertmanager without a word
        raise ValueError(f"{kind} settings {sorted(s)} have no AlertmanagerConfig field in this translation")
    return {k: v for k, v in out.items() if v is not None}


def _receiver(r: m.Receiver, keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name}
    for kind in ("slack", "pagerduty", "email", "opsgenie", "webhook"):
        configs = [_notifier(kind, c, keys) for c in r.configs if c.kind == kind]
        if configs:
            out[f"{kind}Configs"] = configs
    return out


def _matchers(matchers: Iterable[q.Matcher]) -> list[dict[str, str]]:
    return [{"name": name, "value": value, "matchType": op} for name, op, value in matchers]


def _route(route: am_target.Route) -> dict[str, Any]:
    out: dict[str, Any] = {"receiver": route.receiver, "matchers": _matchers(route.matchers)}
    if route.continue_:
        out["continue"] = True
    if route.active_time_intervals:
        out["activeTimeIntervals"] = list(route.active_time_intervals)
    if route.routes:
        out["routes"] = [_route(r) for r in route.routes]
    return out


def _walk(route: am_target.Route) -> list[am_target.Route]:
    return [route, *(r for child in route.routes for r in _walk(child))]


def _day_range(text: str) -> dict[str, int]:
    # The CRD takes days of month as {start, end}, not Alertmanager's "a:b"; the operator copies
    # both ends as they are, so a single day must repeat itself as its own end.
    ends = [int(e) for e in text.split(":")]
    return {"start": ends[0], "end": ends[-1]}


def _time_interval(name: str, ranges: tuple[m.TimeRange, ...]) -> dict[str, Any]:
    """Without `location`: the CRD has no such field (see the module docstring; validation warns)."""
    entries = []
    for t in ranges:
        entry: dict[str, Any] = {}
        if t.times:
            entry["times"] = [{"startTime": a, "endTime": b} for a, b in t.times]
        if t.weekdays:
            entry["weekdays"] = list(t.weekdays)
        if t.days_of_month:
            entry["daysOfMonth"] = [_day_range(d) for d in t.days_of_month]
        if t.months:
            entry["months"] = list(t.months)
        if t.years:
            entry["years"] = list(t.years)
        entries.append(entry)
    return {"name": name, "timeIntervals": entries}


def _inhibit_rules(team: str, fleet: m.Fleet) -> list[dict[str, Any]]:
    """alertmanager.yml's inhibitions, each side limited to the team: one object per team must not
    inhibit another team's alerts, and together they cover every routed team."""
    own = (naming.TEAM_LABEL, "=", team)
    return [{"sourceMatch": _matchers((*r.source, own)), "targetMatch": _matchers((*r.target, own)),
             "equal": list(r.equal)} for r in am_target.inhibit_rules(fleet)]


def alertmanager_configs(fleet: m.Fleet) -> list[dict[str, Any]]:
    """One AlertmanagerConfig per team in the routing tree: its subtree, receivers and intervals."""
    am = fleet.project.alertmanager
    if am is None:
        return []
    tree = am_target.route_tree(fleet, am)
    k = fleet.project.kubernetes
    receivers = {r.name: r for r in am.receivers}
    intervals = dict(am.time_intervals)
    # Over every receiver, used or not: a file's key must not change with who uses it.
    keys = secret_keys(f for r in am.receivers for f in _files(r))
    out = []
    for team_route in tree.routes:
        team = next((v for name, op, v in team_route.matchers if name == naming.TEAM_LABEL and op == "="), None)
        if team is None:  # the catch-all info route: it belongs to no team
            continue
        route = {**_route(team_route), "groupBy": list(am.group_by), "groupWait": format_ms(am.group_wait_ms),
                 "groupInterval": format_ms(am.group_interval_ms),
                 "repeatInterval": format_ms(am.repeat_interval_ms)}
        used = sorted({r.receiver for r in _walk(team_route)})
        spec: dict[str, Any] = {
            "route": route,
            "receivers": [_receiver(receivers[n], keys) if n in receivers else {"name": n} for n in used],
            "inhibitRules": _inhibit_rules(team, fleet),
        }
        active = sorted({i for r in _walk(team_route) for i in r.active_time_intervals})
        if active:
            spec["muteTimeIntervals"] = [_time_interval(n, intervals[n]) for n in active]
        metadata = k8s.metadata(naming.k8s_name(f"team-{team}"), k.namespace, k.alertmanager_config_labels)
        files = {keys[f]: f for n in used if n in receivers for f in _files(receivers[n])}
        if files:
            metadata["annotations"] = {SECRET_KEYS_ANNOTATION: json.dumps(files, sort_keys=True)}
        out.append({"apiVersion": k8s.MONITORING_V1ALPHA1, "kind": "AlertmanagerConfig", "metadata": metadata,
                    "spec": spec})
    return out


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
