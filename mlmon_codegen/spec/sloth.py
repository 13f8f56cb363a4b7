"""Sloth → mlmon: `version: prometheus/v1` specs and Kubernetes `PrometheusServiceLevel` objects.

Each Sloth service becomes a ModelMonitor; each SLO a custom SLI: `events` (error_query over
total_query) or `raw` (error_ratio_query), with Sloth's `{{.window}}` written as `{{window}}`.
Sloth's objective is already a percent. Sloth specs name no period: Sloth uses its
`--default-slo-period`, 30d unless changed, and so does the import.

Alerts: Sloth's default windows are the Google SRE workbook's multi-window multi-burn-rate
table, which is mlmon's policy too; cli/imports.py compares them per SLO and says so (or what
differs) in the header. An `AlertWindows` document among the files gives every SLO its windows
and period (Sloth applies the windows of the period it runs with): page quick/slow and ticket
quick/slow become the tiers page-fast, page-slow, ticket-fast and ticket-slow with the same
windows and budget shares. A disabled page or ticket alert leaves out mlmon's tiers of that kind;
both disabled make the SLO recordings-only. Alert labels and annotations are carried onto the
SLO's alerts (page ones onto both page tiers), a label mlmon sets itself as `source_<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from mlmon_codegen.core import durations
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec import secrets, v1
from mlmon_codegen.spec.load import Document, Loc
from mlmon_codegen.spec.openslo import (
    WINDOW,
    Service,
    SourceWindow,
    add_labels,
    attempt,
    duration_ms,
    first_key,
    fix_window,
    get,
    label_pair,
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
_SPEEDS = {"quick": 0, "slow": 1}  # AlertWindows' page/ticket speeds → the kind's first or second tier


@dataclass(frozen=True)
class Windows:
    """An AlertWindows document: the period it is for and each tier's windows as mlmon writes them."""

    path: str
    period: str
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: tuple[SourceWindow, ...] = ()


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


def _is_alert_windows(doc: Document) -> bool:
    return doc.data.get("kind") == "AlertWindows" and str(doc.data.get("apiVersion", "")).startswith("sloth.slok.dev/")


def _alert_windows(doc: Document) -> Windows:
    """The tiers an AlertWindows document defines, or a located error for each bad field."""
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        raise SpecError([doc.problem(("spec",), "AlertWindows needs a spec: sloPeriod, page and ticket")])
    problems: list[Problem] = []
    period = attempt(problems, _duration, doc, ("spec", "sloPeriod"), spec.get("sloPeriod"))
    tiers: dict[str, dict[str, Any]] = {}
    source = []
    for kind, names in _TIERS.items():
        for speed, i in _SPEEDS.items():
            loc = ("spec", kind, speed)
            window = get(spec, kind, speed)
            if not isinstance(window, dict):
                problems.append(doc.problem(loc, f"{kind}.{speed} is missing",
                                            "each of page and ticket has quick and slow windows"))
                continue
            long = attempt(problems, _duration, doc, (*loc, "longWindow"), window.get("longWindow"))
            short = attempt(problems, _duration, doc, (*loc, "shortWindow"), window.get("shortWindow"))
            share = window.get("errorBudgetPercent")
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 100:
                problems.append(doc.problem((*loc, "errorBudgetPercent"), "errorBudgetPercent is a number in (0, 100]",
                                            "the share of the period's budget the alert lets burn, e.g. 2"))
                continue
            if long and short and period:
                long_ms, short_ms = durations.parse(long), durations.parse(short)
                # Sloth's burn factor: the budget share × period / long window.
                burn = Fraction(str(share)) / 100 * durations.parse(period) / long_ms
                tiers[names[i]] = {"long": long, "short": short,
                                   "burn": int(burn) if burn.denominator == 1 else float(burn)}
                source.append(SourceWindow(kind, float(burn), long_ms, short_ms))
    if problems:
        raise SpecError(problems)
    return Windows(doc.path, str(period), tiers, tuple(source))


def _duration(doc: Document, loc: Loc, value: Any) -> str:
    return durations.format_ms(duration_ms(doc, loc, value, "a Prometheus duration such as 30m or 36h"))


def convert(docs: list[Document]) -> list[Service]:
    """A Service per Sloth service, sorted by name. Raises SpecError with every problem."""
    problems: list[Problem] = []
    services: dict[str, Service] = {}
    seen: dict[tuple[str, str], Document] = {}
    found = False
    windows: Windows | None = None
    for doc in docs:
        if not _is_alert_windows(doc):
            continue
        given = attempt(problems, _alert_windows, doc)
        if given is not None and windows is not None:
            problems.append(doc.problem(("spec", "sloPeriod"), f"a second AlertWindows (the first is {windows.path})",
                                        "Sloth runs with the windows of one period: import each period's specs "
                                        "with its own AlertWindows"))
        windows = windows or given
    for doc in docs:
        if _is_alert_windows(doc):
            continue
        where = _spec_of(doc)
        if where is None:
            problems.append(doc.problem(("version",), "not a Sloth spec", "Sloth specs start "
                                        "`version: prometheus/v1`, or are `kind: PrometheusServiceLevel` objects"))
            continue
        found = True
        loc, spec = where
        if not isinstance(spec, dict):
            problems.append(doc.problem(loc, "the Sloth spec is a mapping"))
            continue
        problems.extend(_convert_service(doc, loc, spec, services, seen, windows))
    if not found and not problems:
        lone = next((d for d in docs if _is_alert_windows(d)), None)
        problems.append(lone.problem(("kind",), "AlertWindows alone convert nothing",
                                     "import them with the Sloth specs they are for: mlmon import sloth SPEC... "
                                     "WINDOWS") if lone else
                        Problem(docs[0].path if docs else "(arguments)", 1, 1, "", "no Sloth spec found"))
    if problems:
        raise SpecError(problems)
    for service in services.values():
        service.notes.append(f"the period is {windows.period}, the sloPeriod of {windows.path}" if windows else
                             f"the period is Sloth's default, {PERIOD}; change it if sloth ran with "
                             "--default-slo-period")
    return [services[n] for n in sorted(services)]


def _convert_service(doc: Document, loc: Loc, spec: dict[str, Any], services: dict[str, Service],
                     seen: dict[tuple[str, str], Document], windows: Windows | None) -> list[Problem]:
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
        alerting = slo.get("alerting") or {}
        alerts = attempt(entry_problems, _alerts, doc, (*sloc, "alerting"), alerting, service, windows)
        if alerts is not None and slo.get("labels"):
            # Sloth puts an SLO's labels on its recordings and alerts; mlmon's recordings carry model
            # and slo only, so they go onto the SLO's alerts.
            own = _extras(entry_problems, doc, sloc, {"labels": slo["labels"]}, service)["labels"]
            alerts["labels"] = {**own, **alerts.get("labels", {})}
            service.notes.append(f"{name}: Sloth's SLO labels ({', '.join(sorted(own))}) are on its alerts, not on "
                                 "its recordings (mlmon's recordings carry model and slo)")
        if entry_problems or objective is None or sli is None or alerts is None:
            problems += entry_problems
            continue
        entry: dict[str, Any] = {"objective": objective, "period": windows.period if windows else PERIOD, "sli": sli}
        if safe(slo.get("description")):
            entry["description"] = safe(slo.get("description"))
        if alerts:
            entry["alerts"] = alerts
        service.slos[name] = entry
        service.windows[name] = ((f"Sloth's (AlertWindows {windows.path})", list(windows.source)) if windows
                                 else ("Sloth's default", default_windows()))
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


def _alerts(doc: Document, loc: Loc, alerting: Any, service: Service, windows: Windows | None) -> dict[str, Any]:
    """The SLO's `alerts` section: tiers of the enabled kinds, each with its windows when an
    AlertWindows document gave them, and the labels and annotations Sloth puts on its alerts."""
    if not isinstance(alerting, dict):
        raise SpecError([doc.problem(loc, "alerting is a mapping")])
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    common = _extras(problems, doc, loc, alerting, service)
    out.update({k: v for k, v in common.items() if v})
    enabled = []
    for kind, keys in (("page", ("page_alert", "pageAlert")), ("ticket", ("ticket_alert", "ticketAlert"))):
        key, alert = first_key(alerting, *keys)
        if get(alert, "disable") is True:
            continue
        enabled.append(kind)
        own = _extras(problems, doc, (*loc, key or keys[0]), alert if isinstance(alert, dict) else {}, service)
        for tier in _TIERS[kind]:
            tier_options = {**(windows.tiers.get(tier, {}) if windows else {}), **{k: v for k, v in own.items() if v}}
            if tier_options:
                out[tier] = tier_options
    if problems:
        raise SpecError(problems)
    if not enabled:
        return {"enabled": False}  # Sloth's no-alerts: recordings only
    if len(enabled) == 1:
        out["tiers"] = _TIERS[enabled[0]]
    return out


def _extras(problems: list[Problem], doc: Document, loc: Loc, alert: dict[str, Any],
            service: Service) -> dict[str, dict[str, str]]:
    """Labels and annotations of a Sloth alerting block as mlmon writes them."""
    labels: dict[str, str] = {}
    raw_labels = alert.get("labels")
    if isinstance(raw_labels, dict):
        for key, value in raw_labels.items():
            pair = attempt(problems, label_pair, service, doc, (*loc, "labels", key), key, value)
            if pair and (secrets.SECRET_KEY.match(pair[0]) or secrets.find(pair[1])):
                # Sloth's examples route with `routing_key`; a spec refuses secret-named values.
                service.notes.append(f"label {key!r} at {doc.path}:{doc.where((*loc, 'labels', key))[0]} is left out: "
                                     "its name or value reads as a secret, which a spec never holds; route by team "
                                     "(alertmanager.teams in the project file)")
            elif pair:
                labels[pair[0]] = pair[1]
    elif raw_labels is not None:
        problems.append(doc.problem((*loc, "labels"), "labels are a mapping of names to values"))
    annotations: dict[str, str] = {}
    raw_annotations = alert.get("annotations")
    if isinstance(raw_annotations, dict):
        for key, value in raw_annotations.items():
            aloc = (*loc, "annotations", key)
            if not isinstance(key, str) or not v1.LABEL_NAME_RE.match(key):
                problems.append(doc.problem(aloc, f"annotation {key!r} cannot be an annotation name"))
            elif not isinstance(value, str):
                problems.append(doc.problem(aloc, f"annotation {key!r} needs a text value"))
            else:
                try:
                    annotations[key] = v1.template_text(value)
                except ValueError as exc:
                    problems.append(doc.problem(aloc, str(exc), "close every {{ with }}"))
    elif raw_annotations is not None:
        problems.append(doc.problem((*loc, "annotations"), "annotations are a mapping of names to text"))
    return {"labels": labels, "annotations": annotations}
