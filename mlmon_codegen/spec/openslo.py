"""OpenSLO (v1 and v1alpha) → mlmon: `kind: SLO` objects become custom SLIs of ModelMonitors.

Files hold one object per YAML document, several documents, or a YAML list of objects; every
form is read. What converts: an SLO with an inline indicator, an `indicatorRef` to a `kind: SLI`
in any file of the run (v1), or `objectives[].ratioMetrics` (v1alpha); ratio SLIs (`good` or
`bad` over `total`, or a `raw` ratio) and threshold SLIs, from Prometheus; a window of a fixed
length (a calendar-aligned one becomes rolling, with a located warning: see `period`); the
Occurrences, Timeslices and RatioTimeslices budgeting methods (`timeSliceWindow` and
`timeSliceTarget` as mlmon's `timeslice`). Every SLO of one `spec.service` lands in one
ModelMonitor. Everything else is a located error, all of them in one run, never a guess.

Where `{{window}}` goes: mlmon evaluates each SLI over several alert windows, so every range in
a query (`[5m]`, or Sloth's `[{{.window}}]`) becomes `[{{window}}]`. A counter query without a
range (a bare selector, or one aggregation around it, as OpenSLO's examples write them) is
wrapped in `rate(...[{{window}}])`; a raw ratio without a range is averaged with a subquery,
`avg_over_time((q)[{{window}}:])`. Any other range-less query is an error asking for a range.

The shared pieces (loading objects, objectives, labels, the Service an importer fills) live here
too: spec/sloth.py and spec/pyrra.py use them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from mlmon_codegen.core import durations, naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec import v1
from mlmon_codegen.spec.load import MAX_BYTES, Document, Loc, _Builder, _TooBig

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

T = TypeVar("T")
WINDOW = "{{window}}"
# Sloth's placeholder, which OpenSLO files written for Sloth carry too.
SLOTH_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
# A range selector's duration, not a subquery's (`[5m:1m]` keeps its colon and is left alone).
_RANGE = re.compile(r"\[\s*(\d+(?:ms|[smhdwy]))+\s*\]")
SELECTOR = r"[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^{}]*\})?"
_BARE = re.compile(rf"^\s*({SELECTOR})\s*$")
_AGG = re.compile(rf"^\s*(sum|min|max|avg|count)\s*((?:by|without)\s*\([^()]*\))?\s*\(\s*({SELECTOR})\s*\)"
                  rf"\s*((?:by|without)\s*\([^()]*\))?\s*$")
# OpenSLO's duration shorthand (v1) and unit names (v1alpha), in minutes; None: no fixed length.
_OPENSLO_DURATION = re.compile(r"^(\d+)([smhdwMQY])$")
_UNIT_MINUTES: dict[str, int | None] = {"m": 1, "h": 60, "d": 1440, "w": 10080, "M": None, "Q": None, "Y": None}
_UNIT_NAMES = {"second": "s", "minute": "m", "hour": "h", "day": "d", "week": "w", "month": "M",
               "quarter": "Q", "year": "Y"}
_BUILT_IN = ("availability", "accuracy", "latency")
API_VERSIONS = ("openslo/v1", "openslo/v1alpha")
_KINDS = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
# An SLO becomes a few dozen rules; beyond this many one run is a mistake, not a fleet.
MAX_SLOS = 1000
# OpenSLO's budgeting methods, as mlmon's `budgeting`.
_BUDGETING = {"Occurrences": "occurrences", "Timeslices": "timeslices", "RatioTimeslices": "ratio_timeslices"}
# A threshold SLI's objective `op` says when a value is good; the error query counts the opposite.
_BAD_WHEN = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}


@dataclass(frozen=True)
class SourceWindow:
    """One burn-rate alert of the source format: fires when the burn rate exceeds `factor` over
    `long_ms` (and `short_ms`, for multi-window alerts). cli/imports.py compares them with mlmon's."""

    severity: str
    factor: float
    long_ms: int
    short_ms: int | None = None
    name: str = ""
    for_ms: int | None = None  # the alert's `for`, when the source sets one


@dataclass
class Service:
    """One ModelMonitor being filled by an importer."""

    name: str
    sources: list[str] = field(default_factory=list)
    slos: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    label_sites: dict[str, str] = field(default_factory=dict)
    # SLO name → (whose windows, e.g. "Sloth's", the windows)
    windows: dict[str, tuple[str, list[SourceWindow]]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # located, said on stderr and in the header


def attempt(problems: list[Problem], fn: Callable[..., T], *args: Any) -> T | None:
    """fn(*args), or None with its problems kept: so one run reports every problem of an SLO."""
    try:
        return fn(*args)
    except SpecError as exc:
        problems.extend(exc.problems)
        return None


def load_documents(path: str, raw: bytes) -> tuple[list[Document], list[Problem]]:
    """Every object of a file: one per YAML document, and each item of a document that is a list."""
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
        if isinstance(data, list):
            # One pass over the locations, so a list of thousands of objects stays linear.
            per_item: dict[int, dict[Loc, tuple[int, int]]] = defaultdict(dict)
            for loc, mark in builder.locations.items():
                if loc and isinstance(loc[0], int):
                    per_item[loc[0]][loc[1:]] = mark
            for i, item in enumerate(data):
                doc = Document(path, item, per_item[i])
                if isinstance(item, dict):
                    docs.append(doc)
                else:
                    problems.append(doc.problem((), "each item of a list of objects is a mapping"))
        elif isinstance(data, dict):
            docs.append(Document(path, data, builder.locations))
        else:
            problems.append(Problem(path, node.start_mark.line + 1, 1, "",
                                    "a document is an object (a mapping) or a list of objects"))
    return docs, problems


def get(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def first_key(data: Any, *keys: str) -> tuple[str, Any]:
    """The first of keys the mapping has (a format's snake_case or camelCase spelling), and its value."""
    for k in keys:
        if isinstance(data, dict) and data.get(k) is not None:
            return k, data[k]
    return keys[0], None


def duration_minutes(doc: Document, loc: Loc, count: int, unit: str) -> int:
    minutes = _UNIT_MINUTES.get(unit) if unit != "s" else None
    if unit == "s" and count % 60 == 0:
        minutes, count = 1, count // 60
    if minutes is None:
        raise SpecError([doc.problem(loc, f"{count}{unit} has no fixed length",
                                     "mlmon's periods roll over a fixed duration: write days, e.g. 30d")])
    if count <= 0:
        raise SpecError([doc.problem(loc, "a time window lasts longer than zero")])
    return count * minutes


def spelled(minutes: int) -> str:
    """mlmon's spelling of a period: 720h → 30d, 1w → 7d, 90m stays 90m."""
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def shorthand_period(doc: Document, loc: Loc, text: Any) -> str:
    """A duration like 28d, 4w, 720h, 1M as mlmon's period, or a located error."""
    m = _OPENSLO_DURATION.match(str(text).strip())
    if not m:
        raise SpecError([doc.problem(loc, f"{text!r} is not a duration", "e.g. 30d, 4w, 720h")])
    return spelled(duration_minutes(doc, loc, int(m.group(1)), m.group(2)))


def period(doc: Document, loc: Loc, window: Any, warnings: list[Problem]) -> str:
    """The time window (v1 `timeWindow`, v1alpha `timeWindows`) as mlmon's rolling period.

    PromQL has no calendar-aligned range: a range always ends now. A calendar window of a fixed
    length (days, weeks) becomes the rolling period of that length, with a located warning: the
    budget slides instead of resetting at each boundary, while the burn-rate alerts, which read
    windows of hours, are the same either way. A calendar month, quarter or year has no fixed
    length, so no rolling period is that budget: a located refusal."""
    if window is None:
        raise SpecError([doc.problem(loc, "the SLO has no time window",
                                     "timeWindow: [{duration: 30d, isRolling: true}]")])
    if not isinstance(window, list) or len(window) != 1 or not isinstance(window[0], dict):
        raise SpecError([doc.problem(loc, "the SLO needs exactly one time window",
                                     "timeWindow: [{duration: 30d, isRolling: true}]")])
    w = window[0]
    wloc = (*loc, 0)
    calendar = w.get("calendar") is not None or w.get("isRolling") is False
    try:
        length = _window_length(doc, wloc, w)
    except SpecError:
        if not calendar:
            raise
        raise SpecError([doc.problem(wloc, "a calendar-aligned window of a month, quarter or year has no fixed "
                                     "length, and PromQL has no calendar-aligned range, so no rolling period is "
                                     "that budget", "use a rolling window: duration: 30d, isRolling: true")]) from None
    if calendar:
        start = get(w, "calendar", "startTime")
        zone = get(w, "calendar", "timeZone")
        aligned = ", ".join(safe(f"{k} {v}") for k, v in (("from", start), ("in", zone)) if v is not None)
        warnings.append(doc.problem(wloc, f"calendar-aligned window{f' ({aligned})' if aligned else ''} imported "
                                    f"as a rolling {length} period: PromQL has no calendar-aligned range, so the "
                                    "budget slides instead of resetting at each boundary (the burn-rate alerts "
                                    "are the same either way)", warning=True))
    return length


def _window_length(doc: Document, wloc: Loc, w: dict[str, Any]) -> str:
    if w.get("duration") is not None:
        return shorthand_period(doc, (*wloc, "duration"), w["duration"])
    unit, count = str(w.get("unit", "")).lower(), w.get("count")
    if unit in _UNIT_NAMES and isinstance(count, int) and not isinstance(count, bool):
        return spelled(duration_minutes(doc, wloc, count, _UNIT_NAMES[unit]))
    raise SpecError([doc.problem(wloc, "the time window has neither a duration nor a count and unit",
                                 "v1: duration: 30d; v1alpha: count: 30, unit: Day")])


def parse_number(doc: Document, loc: Loc, value: Any) -> tuple[float, bool]:
    """A number, or a string of one, possibly ending in % (then percent is True)."""
    if isinstance(value, bool):
        raise SpecError([doc.problem(loc, f"{value!r} is not a number")])
    if isinstance(value, int | float):
        return float(value), False
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise SpecError([doc.problem(loc, f"{value!r} is not a number", "e.g. 0.999, 99.9 or \"99.9%\"")]) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise SpecError([doc.problem(loc, f"{value!r} is not a finite number")])
    return number, percent


def percent_objective(doc: Document, loc: Loc, value: Any, fraction: bool) -> float | int:
    """An objective in percent; `fraction`: the field holds 0.999 for 99.9% (a "99.9%" string is
    percent whatever the field)."""
    number, percent = parse_number(doc, loc, value)
    if fraction and not percent:
        if 1 <= number < 100:
            raise SpecError([doc.problem(loc, f"target {number:g} is not a fraction",
                                         f"target is 0 to 1 (0.999 is 99.9%); for percent write "
                                         f"targetPercent: {number:g} or \"{number:g}%\"")])
        number *= 100
    if not 0 < number < 100:
        raise SpecError([doc.problem(loc, f"objective {number:g}% is outside (0, 100)")])
    number = round(number, 9)
    return int(number) if number.is_integer() else number  # 99, not 99.0, in the written spec


def name_of(text: Any) -> str:
    """A source name (a DNS label, or any text) as an mlmon name."""
    name = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-_")[:63] or "unnamed"
    return name if v1.NAME_RE.match(name) else f"x{name}"[:63]


def slo_name(text: Any) -> str:
    name = name_of(text)
    # The built-in names read mlmon's own metrics, not these queries.
    return f"{name}-slo" if name in _BUILT_IN else name


def duration_ms(doc: Document, loc: Loc, value: Any, hint: str) -> int:
    """A source document's duration in ms, or a located error."""
    try:
        return durations.parse(str(value))
    except durations.DurationError:
        raise SpecError([doc.problem(loc, f"{value!r} is not a duration", hint)]) from None


def safe(text: Any) -> str:
    return v1.UNSAFE_TEXT.sub("", " ".join(str(text or "").split())).strip()[:500]


def add_label(service: Service, doc: Document, loc: Loc, key: Any, value: Any) -> None:
    """A label of the source onto the ModelMonitor's metadata.labels, or a located error."""
    name, text = label_pair(service, doc, loc, key, value)
    site = str(doc.problem(loc, "").file) + ":" + str(doc.where(loc)[0])
    if name in service.labels and service.labels[name] != text:
        raise SpecError([doc.problem(loc, f"label {name!r} is {text!r} here but {service.labels[name]!r} at "
                                     f"{service.label_sites[name]}; a ModelMonitor has one set of labels",
                                     "give every SLO of the service the same value")])
    service.labels[name] = text
    service.label_sites.setdefault(name, site)


def label_pair(service: Service, doc: Document, loc: Loc, key: Any, value: Any) -> tuple[str, str]:
    """A source label as mlmon may write it (name, value), or a located error; a name mlmon sets on
    its alerts is kept as `source_<name>`, with a note on the service."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", str(key))
    if not v1.LABEL_NAME_RE.match(name) or name.startswith("__"):
        raise SpecError([doc.problem(loc, f"label {key!r} cannot be a Prometheus label name")])
    if name in naming.RESERVED_ALERT_LABELS:
        # mlmon sets these on its alerts (a spec may not); an import keeps the value under another name
        # and says so, rather than refusing the file (Sloth's examples all carry `tier`).
        renamed = f"source_{name}"
        note = (f"label {key!r} is one mlmon sets on its alerts ({', '.join(naming.RESERVED_ALERT_LABELS)}): "
                f"imported as {renamed!r}")
        if note not in service.notes:
            service.notes.append(note)
        name = renamed
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        value = ",".join(str(v) for v in value)  # OpenSLO v1 labels are lists of values
    if isinstance(value, bool):
        value = "true" if value else "false"  # as Go's YAML reads `generated: true` into a string label
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise SpecError([doc.problem(loc, f"label {key!r} needs a text value")])
    text = str(value)
    bad = v1.UNSAFE_TEXT.search(text)
    if bad:
        raise SpecError([doc.problem(loc, f"label {key!r} has {bad.group()!r} in its value, which could break "
                                     "out of PromQL, YAML or an alert template", "remove it")])
    if len(text) > 500:
        raise SpecError([doc.problem(loc, f"label {key!r} is longer than 500 characters")])
    return name, text


def add_labels(service: Service, doc: Document, loc: Loc, labels: Any) -> list[Problem]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [doc.problem(loc, "labels are a mapping of names to values")]
    problems: list[Problem] = []
    for key, value in labels.items():
        attempt(problems, add_label, service, doc, (*loc, key), key, value)
    return problems


def fix_window(doc: Document, loc: Loc, query: Any) -> str:
    """A query with Sloth's `{{.window}}` written as mlmon's `{{window}}`."""
    if not isinstance(query, str) or not query.strip():
        raise SpecError([doc.problem(loc, "the query is missing")])
    return SLOTH_WINDOW.sub(WINDOW, query.strip())


def windowed(doc: Document, loc: Loc, query: Any, counter: bool, raw: bool = False) -> str:
    """The query with `{{window}}` where its range goes (see the module docstring)."""
    if not isinstance(query, str) or not query.strip():
        raise SpecError([doc.problem(loc, "metricSource.spec.query is missing",
                                     "mlmon converts Prometheus metric sources: spec: {query: ...}")])
    query = fix_window(doc, loc, query)
    if WINDOW in query:
        return query
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


@dataclass
class Run:
    """The objects of one import run, by kind and name."""

    slis: dict[str, Document] = field(default_factory=dict)
    sources: dict[str, Document] = field(default_factory=dict)
    policies: dict[str, Document] = field(default_factory=dict)
    conditions: dict[str, Document] = field(default_factory=dict)
    slos: list[Document] = field(default_factory=list)


def _register(run: Run, doc: Document, problems: list[Problem]) -> None:
    kind = doc.data.get("kind")
    if doc.data.get("apiVersion") not in API_VERSIONS:
        problems.append(doc.problem(("apiVersion",), f"apiVersion {doc.data.get('apiVersion')!r} is not OpenSLO",
                                    f"mlmon imports {' and '.join(API_VERSIONS)}"))
        return
    if kind not in _KINDS:
        problems.append(doc.problem(("kind",), f"kind {kind!r} is not an OpenSLO kind", f"one of {', '.join(_KINDS)}"))
        return
    if kind == "SLO":
        run.slos.append(doc)
        return
    table = {"SLI": run.slis, "DataSource": run.sources, "AlertPolicy": run.policies,
             "AlertCondition": run.conditions}.get(str(kind))
    if table is None:
        return  # Services and notification targets carry nothing mlmon's spec can hold
    name = get(doc.data, "metadata", "name")
    if not isinstance(name, str) or not name:
        problems.append(doc.problem(("metadata", "name"), f"the {kind} has no metadata.name"))
        return
    if name in table:
        first = table[name]
        problems.append(doc.problem(("metadata", "name"), f"{kind} {name!r} is defined twice (first at "
                                    f"{first.path}:{first.where(('metadata', 'name'))[0]})",
                                    "names are unique per kind; rename or remove one"))
        return
    table[name] = doc


def convert(docs: list[Document]) -> list[Service]:
    """A Service per OpenSLO `spec.service`, sorted by name. Raises SpecError with every problem."""
    problems: list[Problem] = []
    run = Run()
    for doc in docs:
        _register(run, doc, problems)
    if len(run.slos) > MAX_SLOS:
        extra = run.slos[MAX_SLOS]
        raise SpecError([extra.problem((), f"{len(run.slos)} SLOs in one run; mlmon imports at most {MAX_SLOS}",
                                       "import the services a few files at a time")])
    services: dict[str, Service] = {}
    seen: dict[str, Document] = {}
    for doc in run.slos:
        name = get(doc.data, "metadata", "name")
        if isinstance(name, str) and name in seen:
            first = seen[name]
            problems.append(doc.problem(("metadata", "name"), f"SLO {name!r} is defined twice (first at "
                                        f"{first.path}:{first.where(('metadata', 'name'))[0]})",
                                        "names are unique per kind; rename or remove one"))
            continue
        if isinstance(name, str):
            seen[name] = doc
        problems.extend(_convert_slo(doc, run, services))
    if not run.slos and not problems:
        problems.append(Problem(docs[0].path if docs else "(arguments)", 1, 1, "", "no OpenSLO `kind: SLO` found"))
    if problems:
        raise SpecError(problems)
    return [services[n] for n in sorted(services)]


def _convert_slo(doc: Document, run: Run, services: dict[str, Service]) -> list[Problem]:
    """The SLO's objectives into its service, or every problem found with it."""
    data = doc.data
    spec = get(data, "spec")
    if not isinstance(spec, dict):
        return [doc.problem(("spec",), "an SLO needs a spec")]
    problems: list[Problem] = []
    warnings: list[Problem] = []
    method = spec.get("budgetingMethod")
    if method not in _BUDGETING:
        problems.append(doc.problem(("spec", "budgetingMethod"), f"budgetingMethod {method!r} does not convert",
                                    f"OpenSLO's methods are {', '.join(_BUDGETING)}"))
    service_name = spec.get("service")
    if not service_name:
        problems.append(doc.problem(("spec", "service"), "the SLO names no service"))
    wkey = "timeWindow" if "timeWindow" in spec else "timeWindows"
    slo_period = attempt(problems, period, doc, ("spec", wkey), spec.get(wkey), warnings)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        problems.append(doc.problem(("spec", "objectives"), "an SLO needs at least one objective"))
        objectives = []
    service = Service(name_of(service_name))
    problems += add_labels(service, doc, ("metadata", "labels"), get(data, "metadata", "labels"))
    problems += add_labels(service, doc, ("metadata", "annotations"), get(data, "metadata", "annotations"))
    base = slo_name(get(data, "metadata", "name"))
    entries: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for i, obj in enumerate(objectives):
        oloc: Loc = ("spec", "objectives", i)
        if not isinstance(obj, dict):
            problems.append(doc.problem(oloc, "an objective is a mapping"))
            continue
        name = base if len(objectives) == 1 else slo_name(f"{base}-{obj.get('displayName') or i + 1}")
        key, target = first_key(obj, "targetPercent", "target")
        if obj.get("targetPercent") is not None and obj.get("target") is not None:
            problems.append(doc.problem(oloc, "the objective has both target and targetPercent", "keep one"))
        objective = None
        if target is None:
            problems.append(doc.problem(oloc, "the objective has neither target nor targetPercent"))
        else:
            objective = attempt(problems, percent_objective, doc, (*oloc, key), target, key == "target")
        query = attempt(problems, _objective_sli, doc, spec, obj, oloc, run, notes, name)
        slicing = attempt(problems, _timeslice, doc, oloc, obj, method, notes, name) if method in _BUDGETING else None
        if objective is None or query is None or slo_period is None or slicing is None:
            continue
        entry: dict[str, Any] = {"objective": objective, "period": slo_period, "sli": query, **slicing}
        description = safe(spec.get("description") or get(data, "metadata", "displayName"))
        if description:
            entry["description"] = description
        entries[name] = entry
    windows = attempt(problems, _alert_windows, doc, spec, run, notes)
    if problems:
        return problems
    target_service = services.setdefault(service.name, Service(service.name))
    for key, value in service.labels.items():
        label_loc = ("metadata", "labels" if key in (get(data, "metadata", "labels") or {}) else "annotations")
        attempt(problems, add_label, target_service, doc, label_loc, key, value)
    for name, entry in entries.items():
        if name in target_service.slos:
            problems.append(doc.problem(("metadata", "name"), f"SLO {name!r} of service {service.name!r} "
                                        "is defined twice"))
            continue
        target_service.slos[name] = entry
        if windows:
            target_service.windows[name] = ("the OpenSLO alert conditions'", windows)
    target_service.sources.append(doc.path)
    target_service.notes += notes
    target_service.warnings += warnings
    return problems


def _timeslice(doc: Document, oloc: Loc, obj: dict[str, Any], method: str, notes: list[str],
               name: str) -> dict[str, Any]:
    """The objective's budgeting fields: none for Occurrences, else the slice (README, "Timeslices")."""
    if method == "Occurrences":
        return {}
    window = obj.get("timeSliceWindow")
    if window is None:
        raise SpecError([doc.problem(oloc, f"a {method} objective needs timeSliceWindow, the slice's length",
                                     "timeSliceWindow: 1m")])
    ms = duration_ms(doc, (*oloc, "timeSliceWindow"), window, "e.g. 1m or 5m")
    slice_: dict[str, Any] = {"window": durations.format_ms(ms)}
    if method == "Timeslices":
        if obj.get("timeSliceTarget") is None:
            raise SpecError([doc.problem(oloc, "a Timeslices objective needs timeSliceTarget: the share of good "
                                         "events that makes a slice good", "timeSliceTarget: 0.95")])
        slice_["objective"] = percent_objective(doc, (*oloc, "timeSliceTarget"), obj["timeSliceTarget"], True)
    elif obj.get("timeSliceTarget") is not None:
        notes.append(f"{name}: timeSliceTarget is not carried over: RatioTimeslices counts each slice with its "
                     "own ratio, so no target judges a slice")
    return {"budgeting": _BUDGETING[method], "timeslice": slice_}


def _objective_sli(doc: Document, spec: dict[str, Any], obj: dict[str, Any], oloc: Loc, run: Run,
                   notes: list[str], name: str) -> dict[str, str]:
    """The custom SLI of one objective: v1alpha ratioMetrics on the objective, else the SLO's indicator."""
    if obj.get("ratioMetrics") is not None:
        return ratio_sli(doc, (*oloc, "ratioMetrics"), obj["ratioMetrics"], run)
    ind_doc, ind_loc, indicator = _indicator(doc, spec, obj, oloc, run)
    ind_spec = get(indicator, "spec") if get(indicator, "spec") is not None else indicator
    sloc = (*ind_loc, "spec") if get(indicator, "spec") is not None else ind_loc
    if get(ind_spec, "thresholdMetric") is not None:
        notes.append(f"{name}: the threshold SLI judges each evaluation step (a sample of the value) good or bad: "
                     "with Occurrences each step is an event, with Timeslices a slice is good when its share of "
                     "good steps meets timeSliceTarget")
        return threshold_sli(ind_doc, (*sloc, "thresholdMetric"), ind_spec["thresholdMetric"], doc, oloc, obj, run)
    ratio = get(ind_spec, "ratioMetric")
    if not isinstance(ratio, dict):
        raise SpecError([ind_doc.problem(sloc, "the SLI has neither ratioMetric nor thresholdMetric")])
    return ratio_sli(ind_doc, (*sloc, "ratioMetric"), ratio, run)


def _indicator(doc: Document, spec: dict[str, Any], obj: dict[str, Any], oloc: Loc,
               run: Run) -> tuple[Document, Loc, Any]:
    """The SLI an objective uses: its own inline or referenced one, else the SLO's."""
    for where, holder in ((oloc, obj), (("spec",), spec)):
        if holder.get("indicator") is not None:
            return doc, (*where, "indicator"), holder["indicator"]
        if holder.get("indicatorRef") is not None:
            return resolve_sli(doc, (*where, "indicatorRef"), holder["indicatorRef"], run)
    raise SpecError([doc.problem(("spec",), "the SLO has neither indicator nor indicatorRef")])


def resolve_sli(doc: Document, loc: Loc, ref: Any, run: Run) -> tuple[Document, Loc, Any]:
    """The `kind: SLI` a ref names, following SLIs that are themselves an indicatorRef (an alias
    some generators write), with loops and dangling names refused."""
    chain: list[str] = []
    at_doc, at_loc = doc, loc
    while True:
        name = str(ref)
        if name in chain:
            raise SpecError([at_doc.problem(at_loc, f"indicatorRef loop: {' → '.join([*chain, name])}",
                                            "one SLI of the loop must define a ratioMetric or thresholdMetric")])
        chain.append(name)
        target = run.slis.get(name)
        if target is None:
            raise SpecError([at_doc.problem(at_loc, f"no SLI named {name!r} in the files given",
                                            "pass the file that holds the `kind: SLI` object too")])
        next_ref = get(target.data, "spec", "indicatorRef")
        if next_ref is None:
            return target, (), target.data
        at_doc, at_loc, ref = target, ("spec", "indicatorRef"), next_ref


def _source(doc: Document, loc: Loc, part: Any, run: Run) -> Any:
    """The Prometheus query of one metric (v1 `metricSource`, v1alpha `source`/`query`)."""
    if not isinstance(part, dict):
        raise SpecError([doc.problem(loc, "a metric is a mapping with a metricSource")])
    source = part.get("metricSource")
    if source is None and ("query" in part or "source" in part):  # v1alpha
        kind, kloc, query = part.get("source"), (*loc, "source"), part.get("query")
    else:
        kind, kloc, query = get(source, "type"), (*loc, "metricSource", "type"), get(source, "spec", "query")
        ref = get(source, "metricSourceRef")
        if kind is None and ref is not None:
            target = run.sources.get(str(ref))
            if target is None:
                raise SpecError([doc.problem((*loc, "metricSource", "metricSourceRef"),
                                             f"no DataSource named {ref!r} in the files given",
                                             "pass the file that holds the `kind: DataSource` object too")])
            if str(get(target.data, "spec", "type")).lower() != "prometheus":
                found = get(target.data, "spec", "type")
                raise SpecError([target.problem(("spec", "type"), f"data source type {found!r} is not Prometheus",
                                                "mlmon generates Prometheus rules, so it "
                                                "converts Prometheus queries only")])
    if kind is not None and str(kind).lower() != "prometheus":
        raise SpecError([doc.problem(kloc, f"metric source type {kind!r} is not Prometheus",
                                     "mlmon generates Prometheus rules, so it converts Prometheus queries only")])
    return query


def ratio_sli(doc: Document, rloc: Loc, ratio: Any, run: Run) -> dict[str, str]:
    """`error_query`/`total_query`, or `error_ratio_query`, from a ratio metric (v1 or v1alpha)."""
    if not isinstance(ratio, dict):
        raise SpecError([doc.problem(rloc, "a ratio metric is a mapping")])
    counter = ratio.get("counter", True) is not False
    if ratio.get("raw") is not None:
        query = windowed(doc, (*rloc, "raw"), _source(doc, (*rloc, "raw"), ratio["raw"], run), counter, raw=True)
        if ratio.get("rawType") == "success":
            return {"error_ratio_query": q.binop("1", "-", query)}
        if ratio.get("rawType") != "failure":
            raise SpecError([doc.problem((*rloc, "rawType"), "rawType must be success or failure")])
        return {"error_ratio_query": query}
    if ratio.get("total") is None or (ratio.get("good") is None) == (ratio.get("bad") is None):
        raise SpecError([doc.problem(rloc, "a ratio metric needs total and exactly one of good or bad")])
    problems: list[Problem] = []
    parts = {}
    for part in ("total", "good", "bad"):
        if ratio.get(part) is not None:
            src = attempt(problems, _source, doc, (*rloc, part), ratio[part], run)
            if src is not None or not problems:
                parts[part] = attempt(problems, windowed, doc, (*rloc, part), src, counter)
    if problems:
        raise SpecError(problems)
    if parts.get("bad") is not None:
        return {"error_query": parts["bad"], "total_query": parts["total"]}
    # Errors are what the total has and good lacks; summed first so the label sets always match.
    return {"error_query": q.binop(q.agg("sum", parts["total"]), "-", q.agg("sum", parts["good"])),
            "total_query": parts["total"]}


def threshold_sli(doc: Document, tloc: Loc, metric: Any, slo_doc: Document, oloc: Loc, obj: dict[str, Any],
                  run: Run) -> dict[str, str]:
    """The share of evaluation steps in which the value was bad, as an error_ratio_query."""
    query = fix_window(doc, tloc, _source(doc, tloc, metric, run))
    op = str(obj.get("op", "")).lower()
    if op not in _BAD_WHEN:
        raise SpecError([slo_doc.problem((*oloc, "op"), f"a threshold objective needs op (one of "
                                         f"{', '.join(_BAD_WHEN)}), not {obj.get('op')!r}")])
    if obj.get("value") is None:
        raise SpecError([slo_doc.problem(oloc, "a threshold objective needs value: the threshold")])
    value, _ = parse_number(slo_doc, (*oloc, "value"), obj["value"])
    bad = q.compare(q.paren(query), _BAD_WHEN[op], int(value) if value.is_integer() else value, bool_=True)
    return {"error_ratio_query": q.agg("avg", q.call("avg_over_time", q.subquery(bad, WINDOW)))}


def _alert_windows(doc: Document, spec: dict[str, Any], run: Run, notes: list[str]) -> list[SourceWindow]:
    """The burn-rate conditions of the SLO's alert policies (inline or by name)."""
    policies = spec.get("alertPolicies") or []
    if not isinstance(policies, list):
        raise SpecError([doc.problem(("spec", "alertPolicies"), "alertPolicies is a list")])
    out: list[SourceWindow] = []
    for i, item in enumerate(policies):
        ploc: Loc = ("spec", "alertPolicies", i)
        pdoc, pdata = doc, item
        ref = item if isinstance(item, str) else get(item, "alertPolicyRef")
        if ref is not None:
            if str(ref) not in run.policies:
                notes.append(f"alert policy {safe(ref)!r} is not in the files given, so its conditions are not "
                             "compared with mlmon's tiers")
                continue
            pdoc, pdata, ploc = run.policies[str(ref)], run.policies[str(ref)].data, ()
        for j, cond in enumerate(get(pdata, "spec", "conditions") or []):
            cdoc, cdata, cloc = pdoc, cond, (*ploc, "spec", "conditions", j)
            cref = get(cond, "conditionRef")
            if cref is not None:
                if str(cref) not in run.conditions:
                    notes.append(f"alert condition {safe(cref)!r} is not in the files given")
                    continue
                cdoc, cdata, cloc = run.conditions[str(cref)], run.conditions[str(cref)].data, ()
            out.append(_condition(cdoc, cloc, cdata))
    return out


def _condition(doc: Document, loc: Loc, data: Any) -> SourceWindow:
    cond = get(data, "spec", "condition")
    name = safe(get(data, "metadata", "name"))
    if get(cond, "kind") != "burnrate":
        raise SpecError([doc.problem((*loc, "spec", "condition", "kind"), "only burnrate alert conditions convert")])
    threshold, _ = parse_number(doc, (*loc, "spec", "condition", "threshold"), get(cond, "threshold"))
    lookback = duration_ms(doc, (*loc, "spec", "condition", "lookbackWindow"), get(cond, "lookbackWindow"), "e.g. 1h")
    return SourceWindow(safe(get(data, "spec", "severity")) or "page", threshold, lookback, None, name)


def model_spec(service: Service, team: str, targets: list[str], origin: str) -> dict[str, Any]:
    """The ModelMonitor data of a filled Service."""
    files = ", ".join(sorted(set(service.sources)))
    metadata: dict[str, Any] = {"name": service.name, "team": team,
                                "description": safe(f"Imported from {origin} ({files})")}
    if service.labels:
        metadata["labels"] = dict(sorted(service.labels.items()))
    return {"apiVersion": "mlmon/v1", "kind": "ModelMonitor", "metadata": metadata,
            "scrape": {"targets": targets or [f"{service.name}:8000"]}, "slos": service.slos}
