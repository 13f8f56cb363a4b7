"""Pyrra → mlmon: `ServiceLevelObjective` objects (pyrra.dev/v1alpha1) become ModelMonitors.

One ModelMonitor per object, named and with one SLO named after `metadata.name` (Pyrra has no
service to group by). Indicators, in Pyrra's own formulas with `{{window}}` for the range:
- ratio: errors over total, `sum(rate(errors[w]))` / `sum(rate(total[w]))`;
- latency: total minus the `success` bucket (le) over total;
- bool_gauge: samples at 0 over all samples, `count_over_time - sum_over_time` over `count_over_time`.
`grouping` makes one SLO per label value, as mlmon's `group_by` does: the SLI's sums keep those
labels. Pyrra's burn-rate windows are not mlmon's: both are in the header, and `--keep-windows`
writes Pyrra's windows, burn rates and `for` as the tiers'.
Labels under the `pyrra.dev/` prefix are the ones Pyrra puts on its alerts; they become
metadata.labels, the other (Kubernetes) labels stay behind.
"""

from __future__ import annotations

import re
from typing import Any

from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec import v1
from mlmon_codegen.spec.group_validate import NOT_GROUPABLE
from mlmon_codegen.spec.load import Document, Loc
from mlmon_codegen.spec.openslo import (
    SELECTOR,
    WINDOW,
    Service,
    SourceWindow,
    add_label,
    attempt,
    get,
    name_of,
    percent_objective,
    safe,
    shorthand_period,
    slo_name,
)

_SELECTOR_ONLY = re.compile(rf"^\s*{SELECTOR}\s*$")
_LABEL_PREFIX = "pyrra.dev/"
_MINUTE = 60_000
# Pyrra's multi-burn-rate windows (slo/rules.go, Windows), scaled from its 28-day table:
# (severity, factor, and the long window, short window and `for` as divisors of the SLO window).
_WINDOWS = (("critical", 14, 672, 8064, 20160), ("critical", 7, 112, 1344, 2688), ("warning", 2, 28, 336, 672),
            ("warning", 1, 7, 112, 224))


def windows(period_ms: int) -> list[SourceWindow]:
    def minutes(divisor: int) -> int:
        # Go's Duration.Round(time.Minute): halves away from zero (2w / 8064 = 2.5m is 3m).
        return (2 * period_ms + divisor * _MINUTE) // (2 * divisor * _MINUTE) * _MINUTE
    return [SourceWindow(sev, factor, minutes(long), minutes(short), for_ms=minutes(for_))
            for sev, factor, long, short, for_ in _WINDOWS]


def convert(docs: list[Document]) -> list[Service]:
    problems: list[Problem] = []
    services: dict[str, Service] = {}
    first: dict[str, Document] = {}
    for doc in docs:
        if doc.data.get("kind") != "ServiceLevelObjective" or \
                not str(doc.data.get("apiVersion", "")).startswith("pyrra.dev/"):
            problems.append(doc.problem(("kind",), "not a Pyrra ServiceLevelObjective",
                                        "apiVersion: pyrra.dev/v1alpha1, kind: ServiceLevelObjective"))
            continue
        name = name_of(get(doc.data, "metadata", "name"))
        if name in first:
            problems.append(doc.problem(("metadata", "name"), f"ServiceLevelObjective {name!r} is defined twice "
                                        f"(first in {first[name].path})", "names are unique"))
            continue
        first[name] = doc
        service = Service(name)
        found = _convert(doc, service)
        if found:
            problems += found
        else:
            services[name] = service
    if not docs and not problems:
        problems.append(Problem("(arguments)", 1, 1, "", "no Pyrra ServiceLevelObjective found"))
    if problems:
        raise SpecError(problems)
    return [services[n] for n in sorted(services)]


def _convert(doc: Document, service: Service) -> list[Problem]:
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        return [doc.problem(("spec",), "a ServiceLevelObjective needs a spec")]
    problems: list[Problem] = []
    objective = attempt(problems, percent_objective, doc, ("spec", "target"), spec.get("target"), False)
    period = attempt(problems, shorthand_period, doc, ("spec", "window"), spec.get("window"))
    grouping = attempt(problems, _grouping, doc, ("spec", "indicator"), spec.get("indicator"))
    sli = attempt(problems, _indicator, doc, ("spec", "indicator"), spec.get("indicator"), grouping or ())
    for key, value in (get(doc.data, "metadata", "labels") or {}).items():
        if str(key).startswith(_LABEL_PREFIX):
            short = str(key)[len(_LABEL_PREFIX):]
            attempt(problems, add_label, service, doc, ("metadata", "labels", key), short, value)
    alerting = spec.get("alerting") or {}
    recordings_only = get(alerting, "disabled") is True or get(alerting, "burnrates") is False
    if get(alerting, "name"):
        service.notes.append(f"Pyrra's alert name {safe(alerting['name'])!r} is not kept: mlmon names its alerts")
    if problems or objective is None or period is None or sli is None:
        return problems
    name = slo_name(get(doc.data, "metadata", "name"))
    entry: dict[str, Any] = {"objective": objective, "period": period, "sli": sli}
    if safe(spec.get("description")):
        entry["description"] = safe(spec.get("description"))
    if grouping:
        entry["group_by"] = list(grouping)
    if recordings_only:
        entry["alerts"] = {"enabled": False}  # Pyrra's burn-rate alerts are off: recordings only
    service.slos[name] = entry
    days = int(period[:-1]) if period.endswith("d") else None
    if days and not recordings_only:
        service.windows[name] = ("Pyrra's", windows(days * 86_400_000))
    service.sources.append(doc.path)
    return problems


def _metric(doc: Document, loc: Loc, part: Any) -> str:
    metric = get(part, "metric")
    if not isinstance(metric, str) or not _SELECTOR_ONLY.match(metric):
        raise SpecError([doc.problem((*loc, "metric"), f"{metric!r} is not a metric selector",
                                     'Pyrra takes a selector: name{label="value"}')])
    return metric.strip()


def _grouping(doc: Document, loc: Loc, indicator: Any) -> tuple[str, ...]:
    """The indicator's `grouping` labels, each a label name mlmon may group by."""
    if not isinstance(indicator, dict) or len(indicator) != 1:
        return ()  # _indicator says what is wrong
    kind, body = next(iter(indicator.items()))
    labels = get(body, "grouping") or []
    gloc = (*loc, kind, "grouping")
    if not isinstance(labels, list):
        raise SpecError([doc.problem(gloc, "grouping is a list of label names")])
    problems = []
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not v1.LABEL_NAME_RE.match(label) or label.startswith("__"):
            problems.append(doc.problem((*gloc, i), f"{label!r} is not a label name"))
        elif label in NOT_GROUPABLE:
            problems.append(doc.problem((*gloc, i), f"mlmon cannot group by {label!r}: it sets it on every alert",
                                        f"not groupable: {', '.join(NOT_GROUPABLE)}"))
    if problems:
        raise SpecError(problems)
    return tuple(labels)


def _indicator(doc: Document, loc: Loc, indicator: Any, by: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(indicator, dict) or len(indicator) != 1:
        raise SpecError([doc.problem(loc, "the indicator is one of ratio, latency or bool_gauge")])
    kind, body = next(iter(indicator.items()))
    iloc = (*loc, kind)
    problems: list[Problem] = []
    if kind == "ratio":
        errors = attempt(problems, _metric, doc, (*iloc, "errors"), get(body, "errors"))
        total = attempt(problems, _metric, doc, (*iloc, "total"), get(body, "total"))
        if errors is None or total is None:
            raise SpecError(problems)
        return {"error_query": q.agg("sum", q.rate(errors, WINDOW), by=by),
                "total_query": q.agg("sum", q.rate(total, WINDOW), by=by)}
    if kind == "latency":
        success = attempt(problems, _metric, doc, (*iloc, "success"), get(body, "success"))
        total = attempt(problems, _metric, doc, (*iloc, "total"), get(body, "total"))
        if success is None or total is None:
            raise SpecError(problems)
        total_rate = q.agg("sum", q.rate(total, WINDOW), by=by)
        return {"error_query": q.binop(total_rate, "-", q.agg("sum", q.rate(success, WINDOW), by=by)),
                "total_query": total_rate}
    if kind == "bool_gauge":
        gauge = _metric(doc, iloc, body)
        samples = q.agg("sum", q.call("count_over_time", q.rng(gauge, WINDOW)), by=by)
        return {"error_query": q.binop(samples, "-", q.agg("sum", q.call("sum_over_time", q.rng(gauge, WINDOW)),
                                                           by=by)),
                "total_query": samples}
    raise SpecError([doc.problem(iloc, f"indicator {kind!r} does not convert", "ratio, latency and bool_gauge do")])
