"""alertmanager/alertmanager.yml, its notification templates, and tests/alertmanager-routes.yml.

The tree matches on team, then (for a model with its own routing) on model, then on severity.
`expected_receivers` says where each model's alerts must go, independently of the tree: amtool
then proves that the generated tree agrees (`mlmon check`).

The tree and the inhibitions are built as records (`Route`, `Inhibition`, matchers as
(label, op, value) tuples) and written out by `render_route` and `render_inhibition`: the
Kubernetes target translates the same records into AlertmanagerConfig objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.emit.artifact import Artifact
from mlmon_codegen.spec import model as m

SEVERITIES = ("critical", "warning", "info")
TITLE = f'{{{{ template "{naming.TEMPLATE_TITLE}" . }}}}'
TEXT = f'{{{{ template "{naming.TEMPLATE_TEXT}" . }}}}'
HTML = f'{{{{ template "{naming.TEMPLATE_HTML}" . }}}}'
# PagerDuty Events v2 knows critical, error, warning and info: our severities are three of them.
PAGERDUTY_SEVERITY = '{{ with .CommonLabels.severity }}{{ . }}{{ else }}error{{ end }}'
# Opsgenie priority from the severity label: pages are P1, tickets P3, the rest P5.
OPSGENIE_PRIORITY = ('{{ if eq .CommonLabels.severity "critical" }}P1{{ else if eq .CommonLabels.severity '
                     '"warning" }}P3{{ else }}P5{{ end }}')


@dataclass(frozen=True)
class Route:
    """One node of the routing tree."""

    receiver: str
    matchers: tuple[q.Matcher, ...] = ()
    routes: tuple[Route, ...] = ()
    continue_: bool | None = None  # None: not written (false is Alertmanager's default); retrain says either
    active_time_intervals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inhibition:
    source: tuple[q.Matcher, ...]
    target: tuple[q.Matcher, ...]
    equal: tuple[str, ...]


def notifier(cfg: m.ReceiverConfig) -> dict[str, Any]:
    """One *_configs entry: the user's settings plus mlmon's templates for the text."""
    s = dict(cfg.settings)
    if cfg.kind == "slack":
        return {**s, "title": TITLE, "text": TEXT}
    if cfg.kind == "pagerduty":
        return {**s, "description": TITLE, "severity": PAGERDUTY_SEVERITY, "details": {"summary": TEXT}}
    if cfg.kind == "email":
        return {**s, "headers": {"Subject": TITLE}, "html": HTML, "text": TEXT}
    if cfg.kind == "opsgenie":
        return {**s, "message": TITLE, "description": TEXT, "priority": OPSGENIE_PRIORITY}
    # webhook: the token travels in the Authorization header, read from a file at send time.
    auth_type, cred = s.pop("authorization_type", None), s.pop("credentials_file", None)
    if cred is not None:
        s["http_config"] = {"authorization": {"type": auth_type, "credentials_file": cred}}
    return s


def _receiver(r: m.Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name}
    for kind in ("slack", "pagerduty", "email", "opsgenie", "webhook"):
        configs = [notifier(c) for c in r.configs if c.kind == kind]
        if configs:
            out[f"{kind}_configs"] = configs
    return out


def _time_interval(name: str, ranges: tuple[m.TimeRange, ...]) -> dict[str, Any]:
    entries = []
    for t in ranges:
        entry: dict[str, Any] = {}
        if t.times:
            entry["times"] = [{"start_time": a, "end_time": b} for a, b in t.times]
        for key in ("weekdays", "days_of_month", "months", "years"):
            if getattr(t, key):
                entry[key] = list(getattr(t, key))
        if t.location:
            entry["location"] = t.location
        entries.append(entry)
    return {"name": name, "time_intervals": entries}


def _eq(label: str, value: str) -> tuple[q.Matcher, ...]:
    return ((label, "=", value),)


def severity_routes(r: m.Routing) -> tuple[Route, ...]:
    """Retrain first (it may `continue`), then one route per severity; info always gets a route,
    so an info alert never falls through to a default receiver that might page."""
    routes = []
    if r.retrain:
        routes.append(Route(r.retrain, _eq(naming.ACTION_LABEL, naming.RETRAIN_ACTION),
                            continue_=r.retrain_continue))
    if r.critical:  # pages are always on: no time interval here
        routes.append(Route(r.critical, _eq(naming.SEVERITY_LABEL, "critical")))
    if r.warning:
        during = (r.tickets_only_during,) if r.tickets_only_during else ()
        routes.append(Route(r.warning, _eq(naming.SEVERITY_LABEL, "warning"), active_time_intervals=during))
    routes.append(Route(r.info or naming.NULL_RECEIVER, _eq(naming.SEVERITY_LABEL, "info")))
    return tuple(routes)


def _fallback(am: m.Alertmanager) -> str:
    return am.default_receiver or naming.NULL_RECEIVER


def route_tree(fleet: m.Fleet, am: m.Alertmanager) -> Route:
    """The root route; its grouping and timing come from `am` (see `render_config`)."""
    teams = dict(am.teams)
    overrides: dict[str, list[m.Model]] = {}
    for model in fleet.models:
        if model.routing is not None:
            overrides.setdefault(model.team, []).append(model)
    routes = []
    for team in sorted(set(teams) | set(overrides)):
        children = [Route(_fallback(am), _eq(naming.MODEL_LABEL, x.name), severity_routes(x.routing))
                    for x in overrides.get(team, []) if x.routing is not None]
        if team in teams:
            children += severity_routes(teams[team])
        routes.append(Route(_fallback(am), _eq(naming.TEAM_LABEL, team), tuple(children)))
    # Teams without routing fall through to the default receiver, except for info: it pages nobody.
    routes.append(Route(naming.NULL_RECEIVER, _eq(naming.SEVERITY_LABEL, "info")))
    return Route(_fallback(am), routes=tuple(routes))


def _named(name: Callable[[str], str], prefixes: tuple[str, ...], negate: bool = False) -> q.Matcher:
    """`alertname` is the alert `name(prefix)` of any model: one `=` without prefixes, else a regex."""
    names = sorted({name(p) for p in prefixes})
    if len(names) == 1:
        return ("alertname", "!=" if negate else "=", names[0])
    return ("alertname", "!~" if negate else "=~", "|".join(names))


def inhibit_rules(fleet: m.Fleet | None = None) -> list[Inhibition]:
    """The inhibitions; those that match alert names match every model's `alerting.name_prefix`."""
    prefixes = tuple(sorted({x.alert_prefix for x in fleet.models})) if fleet and fleet.models else ("",)
    sev, slo = naming.SEVERITY_LABEL, naming.SLO_LABEL
    severe = _named(lambda p: naming.ml_alert("feature_drift_severe", p), prefixes)
    drift = _named(lambda p: naming.ml_alert("feature_drift", p), prefixes)
    down, not_down = (_named(naming.model_down_alert, prefixes, negate) for negate in (False, True))
    return [
        # A page on an SLO makes its tickets noise. `slo=~".+"` on both sides: Alertmanager counts
        # two missing labels as equal, so ModelDown (no slo) must not act as an SLO page here.
        Inhibition(source=((sev, "=", "critical"), (slo, "=~", ".+")),
                   target=((sev, "=", "warning"), (slo, "=~", ".+")),
                   equal=(naming.MODEL_LABEL, slo)),
        # A severe drift page on a feature makes its drift ticket noise. Matched by name, not by
        # severity and `slo` as above: drift alerts carry no `slo`, and both carry `feature`.
        Inhibition(source=(severe,), target=(drift,), equal=(naming.MODEL_LABEL, naming.FEATURE_LABEL)),
        # A model that is down makes every other alert about it noise.
        Inhibition(source=(down,), target=(not_down,), equal=(naming.MODEL_LABEL,)),
    ]


def _matchers(matchers: tuple[q.Matcher, ...]) -> list[str]:
    return [q.matcher(label, op, value) for label, op, value in matchers]


def render_route(route: Route) -> dict[str, Any]:
    """A route below the root as alertmanager.yml writes it."""
    out: dict[str, Any] = {"receiver": route.receiver, "matchers": _matchers(route.matchers)}
    if route.continue_ is not None:
        out["continue"] = route.continue_
    if route.active_time_intervals:
        out["active_time_intervals"] = list(route.active_time_intervals)
    if route.routes:
        out["routes"] = [render_route(r) for r in route.routes]
    return out


def render_inhibition(rule: Inhibition) -> dict[str, Any]:
    return {"source_matchers": _matchers(rule.source), "target_matchers": _matchers(rule.target),
            "equal": list(rule.equal)}


def render_config(fleet: m.Fleet, am: m.Alertmanager) -> dict[str, Any]:
    tree = route_tree(fleet, am)
    root = {"receiver": tree.receiver, "group_by": list(am.group_by), "group_wait": format_ms(am.group_wait_ms),
            "group_interval": format_ms(am.group_interval_ms), "repeat_interval": format_ms(am.repeat_interval_ms),
            "routes": [render_route(r) for r in tree.routes]}
    config: dict[str, Any] = {"route": root, "inhibit_rules": [render_inhibition(r) for r in inhibit_rules(fleet)]}
    config["receivers"] = [{"name": naming.NULL_RECEIVER}, *(_receiver(r) for r in am.receivers)]
    if am.time_intervals:
        config["time_intervals"] = [_time_interval(n, r) for n, r in am.time_intervals]
    config["templates"] = [naming.ALERTMANAGER_TEMPLATE_GLOB]
    return config


# ---------------------------------------------------------------- route tests


def expected_receivers(model: m.Model, am: m.Alertmanager, severity: str, retrain: bool = False) -> list[str]:
    """Where an alert of `model` must arrive, read from the routing settings, not from the tree."""
    r = model.routing or dict(am.teams).get(model.team) or m.Routing()
    info = r.info or naming.NULL_RECEIVER
    if retrain and r.retrain:
        return [r.retrain, info] if r.retrain_continue else [r.retrain]
    if severity == "info":
        return [info]
    return [getattr(r, severity) or _fallback(am)]


def route_cases(fleet: m.Fleet, am: m.Alertmanager) -> list[dict[str, Any]]:
    cases = []
    for model in fleet.models:
        base = {naming.MODEL_LABEL: model.name, naming.TEAM_LABEL: model.team}
        for severity in SEVERITIES:
            cases.append({"name": f"{model.name} {severity}", "labels": {**base, naming.SEVERITY_LABEL: severity},
                          "receivers": expected_receivers(model, am, severity)})
        cases.append({"name": f"{model.name} retrain",
                      "labels": {**base, naming.SEVERITY_LABEL: "info", naming.ACTION_LABEL: naming.RETRAIN_ACTION},
                      "receivers": expected_receivers(model, am, "info", retrain=True)})
    return cases


def notification_template() -> str:
    """Alertmanager's own Go template language, shipped as is (Jinja2 would fight its braces)."""
    return (resources.files("mlmon_codegen") / "templates" / "alertmanager" / "mlmon.tmpl").read_text()


def artifacts(fleet: m.Fleet) -> list[Artifact]:
    am = fleet.project.alertmanager
    if am is None:  # the project configures no routing: nothing to generate
        return []
    sources = fleet.sources
    tests = {"config": f"../{naming.ALERTMANAGER_CONFIG}", "cases": route_cases(fleet, am)}
    return [
        Artifact(naming.ALERTMANAGER_CONFIG, render_config(fleet, am), sources),
        Artifact(naming.ALERTMANAGER_TEMPLATE, notification_template(), fleet.project.source, "text"),
        Artifact(naming.ALERTMANAGER_ROUTE_TESTS, tests, sources),
    ]
