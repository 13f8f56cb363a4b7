"""Sloth → mlmon: `version: prometheus/v1` specs and Kubernetes `PrometheusServiceLevel` objects.

Each Sloth service becomes a ModelMonitor; each SLO a custom SLI: `events` (error_query over
total_query) or `raw` (error_ratio_query), with Sloth's `{{.window}}` written as `{{window}}`.
Sloth's objective is already a percent. Sloth specs name no period: Sloth uses its
`--default-slo-period`, 30d unless changed, and so does the import.

Alerts: Sloth's default windows are the Google SRE workbook's multi-window multi-burn-rate
table, which is mlmon's policy too; cli/imports.py compares them per SLO and says so (or what
differs) in the header. A disabled page or ticket alert leaves out mlmon's tiers of that kind.
"""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec.load import Document, Loc
from mlmon_codegen.spec.openslo import (
    WINDOW,
    Service,
    SourceWindow,
    add_labels,
    attempt,
    first_key,
    fix_window,
    get,
    name_of,
    percent_objective,
    safe,
    slo_name,
)

PERIOD = "30d"  # Sloth's default SLO period
_PERIOD_MS = 30 * 86_400_000
_HOUR = 3_600_000
# Sloth's default alert windows (its 30d windows file, from the SRE workbook): share of the
# budget each alert lets burn, long window, short window. Burn factor = share × period / long.
_DEFAULT = (("page", 0.02, _HOUR, 5 * 60_000), ("page", 0.05, 6 * _HOUR, 30 * 60_000),
            ("ticket", 0.10, 24 * _HOUR, 2 * _HOUR), ("ticket", 0.10, 72 * _HOUR, 6 * _HOUR))
_TIERS = {"page": ["page-fast", "page-slow"], "ticket": ["ticket-fast", "ticket-slow"]}


def default_windows() -> list[SourceWindow]:
    return [SourceWindow(sev, round(share * _PERIOD_MS / long, 4), long, short) for sev, share, long, short in _DEFAULT]


def _spec_of(doc: Document) -> tuple[Loc, Any] | None:
    """Where the Sloth spec sits: the document itself, or a Kubernetes object's `spec`."""
    data = doc.data
    if data.get("version") == "prometheus/v1":
        return (), data
    if data.get("kind") == "PrometheusServiceLevel" and str(data.get("apiVersion", "")).startswith("sloth.slok.dev/"):
        return ("spec",), data.get("spec")
    return None


def convert(docs: list[Document]) -> list[Service]:
    """A Service per Sloth service, sorted by name. Raises SpecError with every problem."""
    problems: list[Problem] = []
    services: dict[str, Service] = {}
    seen: dict[tuple[str, str], Document] = {}
    found = False
    for doc in docs:
        where = _spec_of(doc)
        if where is None:
            if doc.data.get("kind") == "AlertWindows":
                problems.append(doc.problem(("kind",), "Sloth AlertWindows do not convert: mlmon's alert windows "
                                            "follow its own policy", "leave this file out of the import"))
            else:
                problems.append(doc.problem(("version",), "not a Sloth spec", "Sloth specs start "
                                            "`version: prometheus/v1`, or are `kind: PrometheusServiceLevel` objects"))
            continue
        found = True
        loc, spec = where
        if not isinstance(spec, dict):
            problems.append(doc.problem(loc, "the Sloth spec is a mapping"))
            continue
        problems.extend(_convert_service(doc, loc, spec, services, seen))
    if not found and not problems:
        problems.append(Problem(docs[0].path if docs else "(arguments)", 1, 1, "", "no Sloth spec found"))
    if problems:
        raise SpecError(problems)
    return [services[n] for n in sorted(services)]


def _convert_service(doc: Document, loc: Loc, spec: dict[str, Any], services: dict[str, Service],
                     seen: dict[tuple[str, str], Document]) -> list[Problem]:
    problems: list[Problem] = []
    if not spec.get("service"):
        return [doc.problem((*loc, "service"), "the spec names no service")]
    service = services.setdefault(name_of(spec["service"]), Service(name_of(spec["service"])))
    problems += add_labels(service, doc, (*loc, "labels"), spec.get("labels"))
    slos = spec.get("slos")
    if not isinstance(slos, list) or not slos:
        return [*problems, doc.problem((*loc, "slos"), "the spec has no SLOs")]
    for i, slo in enumerate(slos):
        sloc: Loc = (*loc, "slos", i)
        if not isinstance(slo, dict):
            problems.append(doc.problem(sloc, "an SLO is a mapping"))
            continue
        if not isinstance(slo.get("name"), str) or not slo["name"]:
            problems.append(doc.problem((*sloc, "name"), "the SLO has no name"))
            continue
        name = slo_name(slo["name"])
        key = (service.name, name)
        if key in seen or name in service.slos:
            first = seen.get(key, doc)
            problems.append(doc.problem((*sloc, "name"), f"SLO {slo.get('name')!r} of service {spec['service']!r} "
                                        f"is defined twice (first in {first.path})",
                                        "SLO names are unique per service"))
            continue
        seen[key] = doc
        entry_problems: list[Problem] = []
        objective = attempt(entry_problems, percent_objective, doc, (*sloc, "objective"), slo.get("objective"), False)
        sli = attempt(entry_problems, _sli, doc, (*sloc, "sli"), slo.get("sli"))
        if slo.get("labels"):
            # mlmon's labels belong to the model, and Sloth's per-SLO labels often differ per SLO.
            service.notes.append(f"{name}: Sloth's per-SLO labels ({', '.join(safe(k) for k in slo['labels'])}) "
                                 "are not carried over: mlmon's labels are per model (metadata.labels)")
        alerting = slo.get("alerting") or {}
        tiers = attempt(entry_problems, _tiers, doc, (*sloc, "alerting"), alerting, service, name)
        if entry_problems or objective is None or sli is None:
            problems += entry_problems
            continue
        entry: dict[str, Any] = {"objective": objective, "period": PERIOD, "sli": sli}
        if safe(slo.get("description")):
            entry["description"] = safe(slo.get("description"))
        if tiers:
            entry["alerts"] = {"tiers": tiers}
        service.slos[name] = entry
        service.windows[name] = ("Sloth's default", default_windows())
        service.sources.append(doc.path)
    return problems


def _sli(doc: Document, loc: Loc, sli: Any) -> dict[str, str]:
    if not isinstance(sli, dict):
        raise SpecError([doc.problem(loc, "the SLO needs an sli: events, raw or plugin")])
    if sli.get("plugin") is not None:
        raise SpecError([doc.problem((*loc, "plugin"), "Sloth SLI plugins do not convert: mlmon cannot run "
                                     "Sloth's Go templates", "write the plugin's queries out as events or raw")])
    out: dict[str, str] = {}
    problems: list[Problem] = []
    if sli.get("events") is not None:
        for ours, keys in (("error_query", ("error_query", "errorQuery")),
                           ("total_query", ("total_query", "totalQuery"))):
            key, query = first_key(sli["events"], *keys)
            text = attempt(problems, _query, doc, (*loc, "events", key), query)
            if text is not None:
                out[ours] = text
    elif sli.get("raw") is not None:
        key, query = first_key(sli["raw"], "error_ratio_query", "errorRatioQuery")
        text = attempt(problems, _query, doc, (*loc, "raw", key), query)
        if text is not None:
            out["error_ratio_query"] = text
    else:
        problems.append(doc.problem(loc, "the sli has neither events nor raw"))
    if problems:
        raise SpecError(problems)
    return out


def _query(doc: Document, loc: Loc, query: Any) -> str:
    text = fix_window(doc, loc, query)
    if WINDOW not in text:
        raise SpecError([doc.problem(loc, "the query has no {{.window}}",
                                     "Sloth and mlmon both put each alert window there: rate(x[{{.window}}])")])
    return text


def _tiers(doc: Document, loc: Loc, alerting: Any, service: Service, name: str) -> list[str] | None:
    """mlmon's tiers when Sloth disables the page or the ticket alert; None: every tier."""
    if not isinstance(alerting, dict):
        raise SpecError([doc.problem(loc, "alerting is a mapping")])
    enabled = []
    carried: list[str] = []
    for kind, keys in (("page", ("page_alert", "pageAlert")), ("ticket", ("ticket_alert", "ticketAlert"))):
        _, alert = first_key(alerting, *keys)
        if get(alert, "disable") is not True:
            enabled.append(kind)
        if get(alert, "labels") or get(alert, "annotations"):
            carried.append(kind)
    if alerting.get("labels") or alerting.get("annotations") or carried:
        service.notes.append(f"{name}: Sloth's alert labels and annotations are not carried over; mlmon sets "
                             "severity, tier and runbook links per tier, and routes by team")
    if len(enabled) == 2:
        return None
    if not enabled:
        service.notes.append(f"{name}: Sloth disables both alerts; mlmon has no SLO without alerts, so every "
                             "tier is kept: remove the SLO if it should not alert")
        return None
    return _TIERS[enabled[0]]
