"""OpenSLO v1 → mlmon: `kind: SLO` documents with a ratio SLI become custom SLIs of ModelMonitors.

What converts: an SLO with an inline `indicator` or an `indicatorRef` to a `kind: SLI` document
(in any of the files given), whose `ratioMetric` has `good` or `bad` over `total` (or a `raw`
ratio) from Prometheus (`metricSource.spec.query`), a rolling `timeWindow` and the Occurrences
budgeting method. Every SLO of one `spec.service` lands in one ModelMonitor, one SLO per
objective. Everything else is a located error, never a guess.

Where `{{window}}` goes: mlmon evaluates each SLI over several alert windows, so every range in
a query (`[5m]`) becomes `[{{window}}]`. A counter query without a range (a bare selector, or one
aggregation around it, as OpenSLO's examples write them) is wrapped in `rate(...[{{window}}])`;
a raw ratio without a range is averaged with a subquery, `avg_over_time((q)[{{window}}:])`.
Any other range-less query is an error asking for an explicit `rate(x[5m])`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec import v1
from mlmon_codegen.spec.load import MAX_BYTES, Document, Loc, _Builder, _TooBig

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

WINDOW = "{{window}}"
# A range selector's duration, not a subquery's (`[5m:1m]` keeps its colon and is left alone).
_RANGE = re.compile(r"\[\s*(\d+(?:ms|[smhdwy]))+\s*\]")
_SELECTOR = r"[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?"
_BARE = re.compile(rf"^\s*({_SELECTOR})\s*$")
_AGG = re.compile(rf"^\s*(sum|min|max|avg|count)\s*((?:by|without)\s*\([^()]*\))?\s*\(\s*({_SELECTOR})\s*\)"
                  rf"\s*((?:by|without)\s*\([^()]*\))?\s*$")
# OpenSLO's duration shorthand: minutes to years. Months, quarters and years have no fixed length.
_OPENSLO_DURATION = re.compile(r"^(\d+)([mhdwMQY])$")
_BUILT_IN = ("availability", "accuracy")


@dataclass
class Service:
    name: str
    sources: list[str] = field(default_factory=list)
    slos: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_documents(path: str, raw: bytes) -> tuple[list[Document], list[Problem]]:
    """Every YAML document of a file (OpenSLO files often hold several, separated by ---)."""
    if len(raw) > MAX_BYTES:
        return [], [Problem(path, 1, 1, "", f"file is larger than the {MAX_BYTES}-byte limit")]
    try:
        nodes = [n for n in yaml.compose_all(raw.decode("utf-8"), Loader=_Loader) if n is not None]
    except UnicodeDecodeError:
        return [], [Problem(path, 1, 1, "", "not UTF-8 text")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [], [Problem(path, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "",
                            f"invalid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return [], [Problem(path, 1, 1, "", f"invalid YAML: {exc}")]
    docs, problems = [], []
    for node in nodes:
        builder = _Builder(path)
        try:
            data = builder.build(node, ())
        except (_TooBig, yaml.YAMLError, ValueError) as exc:
            problems.append(Problem(path, node.start_mark.line + 1, 1, "", str(exc)))
            continue
        problems.extend(builder.problems)
        if not isinstance(data, dict):
            problems.append(Problem(path, node.start_mark.line + 1, 1, "", "an OpenSLO document is a mapping"))
            continue
        docs.append(Document(path, data, builder.locations))
    return docs, problems


def _get(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def period(doc: Document, loc: Loc, window: Any) -> str:
    """The rolling timeWindow's duration in mlmon's spelling (OpenSLO's `4w` → `28d`)."""
    if not isinstance(window, list) or len(window) != 1 or not isinstance(window[0], dict):
        raise SpecError([doc.problem(loc, "timeWindow must list exactly one window")])
    w = window[0]
    if w.get("calendar") is not None or w.get("isRolling") is not True:
        raise SpecError([doc.problem((*loc, 0), "only rolling time windows convert (isRolling: true)",
                                     "mlmon's burn-rate alerts assume a rolling period")])
    m = _OPENSLO_DURATION.match(str(w.get("duration", "")))
    if not m:
        raise SpecError([doc.problem((*loc, 0, "duration"), f"{w.get('duration')!r} is not an OpenSLO duration",
                                     "e.g. 30d, 4w, 24h")])
    n, unit = int(m.group(1)), m.group(2)
    if unit in "MQY":
        raise SpecError([doc.problem((*loc, 0, "duration"), f"{n}{unit} has no fixed length",
                                     "write it in days, e.g. 30d instead of 1M")])
    return f"{n * 7}d" if unit == "w" else f"{n}{unit}"


def windowed(doc: Document, loc: Loc, query: Any, counter: bool, raw: bool = False) -> str:
    """The query with `{{window}}` where its range goes (see the module docstring)."""
    if not isinstance(query, str) or not query.strip():
        raise SpecError([doc.problem(loc, "metricSource.spec.query is missing",
                                     "mlmon converts Prometheus metric sources: spec: {query: ...}")])
    query = query.strip()
    if _RANGE.search(query):
        return _RANGE.sub(f"[{WINDOW}]", query)
    if raw:
        return q.call("avg_over_time", q.subquery(query, WINDOW))
    if not counter:
        raise SpecError([doc.problem(loc, "a query without a range over a metric that is not a counter",
                                     "write the range yourself, e.g. sum(rate(x[5m])), or set counter: true")])
    bare = _BARE.match(query)
    if bare:
        return q.agg("sum", q.rate(bare.group(1), WINDOW))
    agg = _AGG.match(query)
    if agg:
        op, before, sel, after = agg.groups()
        mode, _, labels = (before or after or "").partition("(")
        names = [x.strip() for x in labels.rstrip(") ").split(",") if x.strip()]
        inner = q.rate(sel, WINDOW)
        return q.agg(op, inner, by=names) if mode.strip() == "by" else q.agg(op, inner, without=names)
    raise SpecError([doc.problem(loc, "cannot tell where the time window goes in this query",
                                 "give it a range, e.g. sum(rate(my_metric[5m])); mlmon replaces the 5m")])


def _source(doc: Document, loc: Loc, part: Any) -> Any:
    source = _get(part, "metricSource")
    kind = _get(source, "type")
    if kind is not None and str(kind).lower() != "prometheus":
        raise SpecError([doc.problem((*loc, "metricSource", "type"), f"metric source type {kind!r} is not Prometheus",
                                     "mlmon generates Prometheus rules, so it converts Prometheus queries only")])
    return _get(source, "spec", "query")


def sli(doc: Document, loc: Loc, indicator: Any) -> dict[str, str]:
    """A custom SLI (`error_query`/`total_query`, or `error_ratio_query`) from an OpenSLO SLI spec."""
    spec = _get(indicator, "spec")
    if _get(spec, "thresholdMetric") is not None:
        raise SpecError([doc.problem((*loc, "spec", "thresholdMetric"), "threshold metrics do not convert",
                                     "mlmon counts events: use a ratioMetric of good (or bad) and total")])
    ratio = _get(spec, "ratioMetric")
    if not isinstance(ratio, dict):
        raise SpecError([doc.problem((*loc, "spec"), "the SLI has no ratioMetric")])
    rloc = (*loc, "spec", "ratioMetric")
    counter = ratio.get("counter", True) is not False
    if ratio.get("raw") is not None:
        query = windowed(doc, (*rloc, "raw"), _source(doc, (*rloc, "raw"), ratio["raw"]), counter, raw=True)
        if ratio.get("rawType") == "success":
            query = q.binop("1", "-", query)
        elif ratio.get("rawType") != "failure":
            raise SpecError([doc.problem((*rloc, "rawType"), "rawType must be success or failure")])
        return {"error_ratio_query": query}
    if ratio.get("total") is None or (ratio.get("good") is None) == (ratio.get("bad") is None):
        raise SpecError([doc.problem(rloc, "a ratioMetric needs total and exactly one of good or bad")])
    total = windowed(doc, (*rloc, "total"), _source(doc, (*rloc, "total"), ratio["total"]), counter)
    if ratio.get("bad") is not None:
        bad = windowed(doc, (*rloc, "bad"), _source(doc, (*rloc, "bad"), ratio["bad"]), counter)
        return {"error_query": bad, "total_query": total}
    good = windowed(doc, (*rloc, "good"), _source(doc, (*rloc, "good"), ratio["good"]), counter)
    # Errors are what the total has and good lacks; summed first so the label sets always match.
    return {"error_query": q.binop(q.agg("sum", total), "-", q.agg("sum", good)), "total_query": total}


def _name(text: Any) -> str:
    """An OpenSLO name (a DNS label) as an mlmon name; anything else is squeezed into one."""
    name = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-_")[:63] or "unnamed"
    return name if v1.NAME_RE.match(name) else f"x{name}"[:63]


def _objective(doc: Document, loc: Loc, obj: dict[str, Any]) -> float | int:
    if obj.get("targetPercent") is not None:
        value = float(obj["targetPercent"])
    elif obj.get("target") is not None:
        value = float(obj["target"]) * 100
    else:
        raise SpecError([doc.problem(loc, "the objective has neither target nor targetPercent")])
    if not 0 < value < 100:
        raise SpecError([doc.problem(loc, f"target {value:g}% is outside (0, 100)")])
    value = round(value, 9)
    return int(value) if value.is_integer() else value  # 99, not 99.0, in the written spec


def _safe(text: Any) -> str:
    return v1.UNSAFE_TEXT.sub("", str(text or "")).strip()[:500]


def convert(docs: list[Document], team: str, targets: list[str]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(service, ModelMonitor data, notes) per service, sorted by name. Raises SpecError."""
    problems: list[Problem] = []
    slis: dict[str, tuple[Document, Any]] = {}
    slo_docs: list[Document] = []
    for doc in docs:
        if doc.data.get("apiVersion") != "openslo/v1":
            problems.append(doc.problem(("apiVersion",), f"apiVersion {doc.data.get('apiVersion')!r} is not "
                                        "openslo/v1", "mlmon imports OpenSLO v1 documents"))
            continue
        kind = doc.data.get("kind")
        if kind == "SLI":
            slis[str(_get(doc.data, "metadata", "name"))] = (doc, doc.data)
        elif kind == "SLO":
            slo_docs.append(doc)
        # Services, DataSources, AlertPolicies ... carry nothing mlmon's spec can hold.
    services: dict[str, Service] = {}
    for doc in slo_docs:
        try:
            _convert_slo(doc, slis, services)
        except SpecError as exc:
            problems.extend(exc.problems)
    if not slo_docs and not problems:
        problems.append(Problem(docs[0].path if docs else "(arguments)", 1, 1, "", "no OpenSLO `kind: SLO` found"))
    if problems:
        raise SpecError(problems)
    out = []
    for name in sorted(services):
        s = services[name]
        spec = {
            "apiVersion": "mlmon/v1", "kind": "ModelMonitor",
            "metadata": {"name": name, "team": team,
                         "description": f"Imported from OpenSLO ({', '.join(sorted(set(s.sources)))})"},
            "scrape": {"targets": targets or [f"{name}:8000"]},
            "slos": s.slos,
        }
        out.append((name, spec, s.notes))
    return out


def _convert_slo(doc: Document, slis: dict[str, tuple[Document, Any]], services: dict[str, Service]) -> None:
    data = doc.data
    spec = _get(data, "spec")
    if not isinstance(spec, dict):
        raise SpecError([doc.problem(("spec",), "an SLO needs a spec")])
    method = spec.get("budgetingMethod")
    if method != "Occurrences":
        raise SpecError([doc.problem(("spec", "budgetingMethod"),
                                     f"budgetingMethod {method!r} does not convert: mlmon's burn-rate alerts "
                                     "count good and bad events, which is OpenSLO's Occurrences",
                                     "use budgetingMethod: Occurrences")])
    service_name = spec.get("service")
    if not service_name:
        raise SpecError([doc.problem(("spec", "service"), "the SLO names no service")])
    slo_period = period(doc, ("spec", "timeWindow"), spec.get("timeWindow"))
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise SpecError([doc.problem(("spec", "objectives"), "an SLO needs at least one objective")])
    service = services.setdefault(_name(service_name), Service(_name(service_name)))
    service.sources.append(doc.path)
    base = _name(_get(data, "metadata", "name"))
    for i, obj in enumerate(objectives):
        oloc: Loc = ("spec", "objectives", i)
        if not isinstance(obj, dict):
            raise SpecError([doc.problem(oloc, "an objective is a mapping")])
        ind_doc, ind_loc, indicator = _indicator(doc, spec, obj, oloc, slis)
        name = base if len(objectives) == 1 else f"{base}-{_name(obj.get('displayName') or i + 1)}"
        if name in _BUILT_IN:
            name = f"{name}-slo"  # the built-in names read mlmon's own metrics, not these queries
        if name in service.slos:
            raise SpecError([doc.problem(("metadata", "name"), f"SLO {name!r} of service {service.name!r} "
                                         "is defined twice")])
        entry: dict[str, Any] = {"objective": _objective(doc, oloc, obj), "period": slo_period,
                                 "sli": sli(ind_doc, ind_loc, indicator)}
        description = _safe(spec.get("description") or _get(data, "metadata", "displayName"))
        if description:
            entry["description"] = description
        service.slos[name] = entry
    if spec.get("alertPolicies"):
        service.notes.append(f"{base}: alertPolicies are replaced by mlmon's burn-rate tiers")


def _indicator(doc: Document, spec: dict[str, Any], obj: dict[str, Any], oloc: Loc,
               slis: dict[str, tuple[Document, Any]]) -> tuple[Document, Loc, Any]:
    """The SLI an objective uses: its own inline or referenced one, else the SLO's."""
    for where, holder in ((oloc, obj), (("spec",), spec)):
        if holder.get("indicator") is not None:
            return doc, (*where, "indicator"), holder["indicator"]
        ref = holder.get("indicatorRef")
        if ref is not None:
            if str(ref) not in slis:
                raise SpecError([doc.problem((*where, "indicatorRef"), f"no SLI named {ref!r} in the files given",
                                             "pass the file that holds the `kind: SLI` document too")])
            ref_doc, data = slis[str(ref)]
            return ref_doc, (), data
    raise SpecError([doc.problem(("spec",), "the SLO has neither indicator nor indicatorRef")])
