"""Validate located documents into the internal model, collecting every problem on the way.

Structure is pydantic's job (spec/v1.py); meaning is checked here: objectives, windows against
scrape intervals, latency thresholds against bucket bounds, names unique across files.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
import types
import typing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel

from mlmon_codegen.core import durations, naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.spec import alertmanager, group_validate, metrics_validate, ml_validate, seed, v1
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec import secrets as secret_scan
from mlmon_codegen.spec.load import Document, Loc, discover, dotted, load_file
from mlmon_codegen.spec.ml_validate import build_ml, residual_slos

WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*window\s*\}\}")
LITERAL_VALUE = re.compile(r"'([^']*)'")  # the values in pydantic's "Input should be 'a', 'b' or 'c'"
BUILT_IN_KINDS = ("availability", "accuracy")
PERCENTILE_FIELDS = {"p50_target_ms": 50.0, "p90_target_ms": 90.0, "p95_target_ms": 95.0,
                     "p99_target_ms": 99.0, "p999_target_ms": 99.9}


@dataclass(frozen=True)
class QueryRef:
    """A user-written PromQL query and where it came from, for the promtool parse check."""

    doc: Document
    loc: Loc
    query: str


@dataclass(frozen=True)
class Clean:
    """A ModelMonitor file that validated with no problem, warning or custom query, as a cache of
    validated specs gives it back (build/cache.py): its model is all validation needs of it, unless
    another file names a model the same; then it is read again, to be reported as without a cache."""

    path: str
    model: m.Model


@dataclass
class Result:
    fleet: m.Fleet
    warnings: list[Problem]
    queries: list[QueryRef]


# ---------------------------------------------------------------- pydantic errors → problems


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated so we can walk to the model class at an error's location."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def _fields_at(cls: type[BaseModel], loc: Loc) -> list[str]:
    current: Any = cls
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {(f.alias or n): f for n, f in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif origin is dict:
            current = typing.get_args(current)[1]
        elif origin is list:
            current = typing.get_args(current)[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted((f.alias or n) for n, f in current.model_fields.items())
    return []


def _pydantic_problems(doc: Document, cls: type[BaseModel], exc: pydantic.ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = tuple(p for p in err["loc"] if p != "[key]")
        msg = err["msg"].removeprefix("Value error, ")
        hint = ""
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(cls, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown field {loc[-1]!r}"
            hint = f"did you mean {close[0]!r}?" if close else (
                f"allowed here: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "literal_error":
            hint = f"got {err.get('input')!r}"
            allowed = LITERAL_VALUE.findall(str((err.get("ctx") or {}).get("expected", "")))
            close = difflib.get_close_matches(str(err.get("input")), allowed, n=1)
            if close and len(allowed) > 1:  # with one allowed value, the message names it already
                hint += f"; did you mean {close[0]!r}?"
        elif err["type"] == "float_parsing" and str(err.get("input")).strip().endswith("%"):
            number = str(err["input"]).strip().removesuffix("%").strip()
            msg = f"{err['input']!r} is not a number: write the percent without the % sign"
            hint = f"{loc[-1]}: {number}"
        problems.append(doc.problem(loc, msg, hint))
    return problems


# ---------------------------------------------------------------- spec → internal model


def _ms(value: str | None) -> int | None:
    return durations.parse(value) if value else None


def _objective(doc: Document, loc: Loc, slo: v1.SLO, problems: list[Problem]) -> float | None:
    if slo.objective is not None and slo.target is not None:
        problems.append(doc.problem(loc, "both `objective` and `target` are set", "keep `objective`"))
        return None
    if slo.objective is not None:
        value, key = slo.objective, "objective"
    elif slo.target is not None:
        # The seed article writes availability as 99.9 but accuracy as 0.95: a `target` at or
        # below 1 is a fraction. `objective` is always a percent, so there is no guessing there.
        value, key = (slo.target * 100 if slo.target <= 1 else slo.target), "target"
        value = round(value, 9)
    else:
        problems.append(doc.problem(loc, "`objective` is required", "e.g. objective: 99.9 (percent)"))
        return None
    if value <= 0:
        problems.append(doc.problem((*loc, key), "must be above 0"))
        return None
    if key == "objective" and value < 1:
        # OpenSLO writes 0.999; read as a percent it would be a 99% error budget, silently.
        problems.append(doc.problem((*loc, key), f"{value:g} is a fraction, but `objective` is a percent",
                                    f"did you mean {round(value * 100, 9):g}?"))
        return None
    if value >= 100:
        problems.append(doc.problem((*loc, key), "must be below 100 (100% leaves no error budget)",
                                    "99.9 allows 43 minutes of errors in 30 days"))
        return None
    return value


def _timeslice(doc: Document, loc: Loc, slo: v1.SLO, problems: list[Problem]) -> m.Timeslice | None:
    """The SLO's slices, or None (occurrences, or a problem said). Whether the window fits the
    alert windows is planning's question (plan/timeslices.py)."""
    ts, how = slo.timeslice, slo.budgeting
    if how == "occurrences":
        if ts is not None:
            problems.append(doc.problem((*loc, "timeslice"), "a timeslice has no meaning with occurrences budgeting",
                                        "add budgeting: timeslices (or ratio_timeslices), or remove it"))
        return None
    if ts is None:
        example = "{window: 1m, objective: 95}" if how == "timeslices" else "{window: 1m}"
        problems.append(doc.problem((*loc, "budgeting"), f"budgeting: {how} needs a timeslice",
                                    f"timeslice: {example}"))
        return None
    oloc = (*loc, "timeslice", "objective")
    if how == "ratio_timeslices" and ts.objective is not None:
        problems.append(doc.problem(oloc, "ratio_timeslices counts each slice with its own error ratio, so a slice "
                                    "objective has no meaning", "remove it, or use budgeting: timeslices"))
        return None
    if how == "timeslices":
        if ts.objective is None:
            problems.append(doc.problem((*loc, "timeslice"), "a slice needs an objective: the percent of good events "
                                        "that makes it good", "timeslice: {window: 1m, objective: 95}"))
            return None
        if not 1 <= ts.objective < 100:
            hint = f"did you mean {round(ts.objective * 100, 9):g}?" if 0 < ts.objective < 1 else "e.g. 95"
            problems.append(doc.problem(oloc, f"slice objective {ts.objective:g} must be a percent of at least 1 "
                                        "and below 100", hint))
            return None
    if slo.alerts.min_events is not None:
        problems.append(doc.problem((*loc, "alerts", "min_events"), "min_events has no meaning with timeslices: "
                                    "a slice without events is good, so quiet traffic cannot page",
                                    "remove it, or budget occurrences"))
        return None
    return m.Timeslice(durations.parse(ts.window), ts.objective, doc.site((*loc, "timeslice", "window")))


def _kind_hint(name: str) -> str:
    close = difflib.get_close_matches(name, BUILT_IN_KINDS, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]!r}? Or threshold: 100ms, or sli: {{error_query: ..., total_query: ...}}"
    return "threshold: 100ms, or sli: {error_query: ..., total_query: ...}"


def _slo_kind(name: str, slo: v1.SLO) -> str:
    if name in ("availability", "accuracy"):
        return name
    if slo.sli is not None:
        return "custom"
    return "latency"


def _check_custom(doc: Document, loc: Loc, sli: v1.CustomSLI, problems: list[Problem],
                  queries: list[QueryRef]) -> m.CustomSLI | None:
    pair = sli.error_query is not None or sli.total_query is not None
    if pair and sli.error_ratio_query is not None:
        problems.append(doc.problem(loc, "give either error_query and total_query, or error_ratio_query, not both"))
        return None
    if pair and (sli.error_query is None or sli.total_query is None):
        missing = "total_query" if sli.total_query is None else "error_query"
        problems.append(doc.problem(loc, f"`{missing}` is required with the other", "or use error_ratio_query"))
        return None
    if not pair and sli.error_ratio_query is None:
        problems.append(doc.problem(loc, "a custom SLI needs error_query and total_query, or error_ratio_query"))
        return None
    ok = True
    written: dict[str, str | None] = {}
    for key in ("error_query", "total_query", "error_ratio_query"):
        query = getattr(sli, key)
        if query is not None:
            query = q.dual_le_matchers(query)[0]  # _le_warnings says so
        written[key] = query
        if query is None:
            continue
        if not WINDOW_PLACEHOLDER.search(query):
            problems.append(doc.problem((*loc, key), "the query has no {{window}} placeholder",
                                        "write rate(my_metric[{{window}}]) so each alert window can use it"))
            ok = False
        elif not query.strip():
            ok = False
        else:
            queries.append(QueryRef(doc, (*loc, key), query))
    if not ok:
        return None
    return m.CustomSLI(written["error_query"], written["total_query"], written["error_ratio_query"])


def _le_warnings(doc: Document, spec: v1.ModelMonitor) -> list[Problem]:
    """A warning per custom SLI query whose integer `le` matchers _check_custom rewrote."""
    out = []
    for name, slo in spec.slos.items():
        if slo.sli is None:
            continue
        for key in ("error_query", "total_query", "error_ratio_query"):
            query = getattr(slo.sli, key)
            replaced = q.dual_le_matchers(query)[1] if query else ()
            if not replaced:
                continue
            swaps = ", ".join(f"{r} as {q.dual_le_matchers(r)[0]}" for r in replaced)
            out.append(doc.problem(
                ("slos", name, "sli", key),
                f"rewrote {swaps}, which matches both spellings of the bound: Prometheus 3 reads every "
                "bucket bound as a float, so le=\"1\" is stored as \"1.0\" and an exact integer matcher "
                "finds no series, while Prometheus 2 keeps the client's spelling (Go clients write \"1\")",
                "write the regex matcher yourself to silence this", warning=True))
    return out


def _group_warnings(doc: Document, model: m.Model) -> list[Problem]:
    """A warning per custom SLI query whose outer aggregation keeps labels group_by does not name."""
    return [p for slo in model.slos if slo.custom is not None
            for p in group_validate.custom_query_problems(doc, ("slos", slo.name, "sli"), slo.custom, slo.group_by)
            if p.warning]


def _nearest_bounds(value: float, buckets: tuple[float, ...]) -> str:
    below = [b for b in buckets if b < value]
    above = [b for b in buckets if b > value]
    parts = []
    if below:
        parts.append(f"{max(below):g}s below")
    if above:
        parts.append(f"{min(above):g}s above")
    return " and ".join(parts) or "no buckets"


SLO_ROLES = {"availability": ("requests", "errors"), "latency": ("latency",), "accuracy": ("ground_truth",)}


def reserved_label_problems(doc: Document, loc: Loc, labels: dict[str, str]) -> list[Problem]:
    """A located problem per label mlmon sets itself (or Prometheus does) among `labels`."""
    return [doc.problem((*loc, label), f"`{label}` is a label mlmon sets on every alert",
                        f"reserved: {', '.join(naming.RESERVED_ALERT_LABELS)}; name yours differently")
            for label in sorted(set(labels) & set(naming.RESERVED_ALERT_LABELS))]


TIER_FIELDS = {tier: tier.replace("-", "_") for tier in v1.TIER_NAMES}  # tier name → AlertOptions field


def _alert_options(doc: Document, loc: Loc, alerts: v1.AlertOptions, problems: list[Problem]) -> dict[str, Any]:
    """The SLO's alert switches, labels, annotations and per-tier options, as m.SLO fields."""
    problems.extend(reserved_label_problems(doc, (*loc, "labels"), alerts.labels))
    tiers = []
    for tier, field in TIER_FIELDS.items():
        own: v1.TierAlertOptions | None = getattr(alerts, field)
        if own is None:
            continue
        problems.extend(reserved_label_problems(doc, (*loc, tier, "labels"), own.labels))
        windows = (own.long, own.short, own.burn)
        long_ms, short_ms = _ms(own.long), _ms(own.short)
        if any(w is not None for w in windows) and None in windows:
            problems.append(doc.problem((*loc, tier), "a tier's own windows need long, short and burn together",
                                        "e.g. long: 1h, short: 5m, burn: 14; or none of them for the policy's"))
        elif long_ms is not None and short_ms is not None and short_ms >= long_ms:
            problems.append(doc.problem((*loc, tier, "short"), f"the short window ({own.short}) must be shorter "
                                        f"than the long one ({own.long})", "the policy's is long / 12"))
        tiers.append((tier, m.TierOptions(own.severity, tuple(sorted(own.labels.items())),
                                          tuple(sorted(own.annotations.items())), long_ms, short_ms, own.burn,
                                          _ms(own.for_))))
    if not alerts.enabled and tiers:
        problems.append(doc.problem((*loc, "enabled"), "tier options are set, but the SLO has no burn alerts",
                                    "drop alerts.enabled: false, or the tier options"))
    return {"alerts_enabled": alerts.enabled, "no_data_enabled": alerts.no_data,
            "alert_labels": tuple(sorted(alerts.labels.items())),
            "alert_annotations": tuple(sorted(alerts.annotations.items())), "tier_options": tuple(tiers)}


def _disabled_ml_alerts(doc: Document, spec: v1.ModelMonitor, problems: list[Problem]) -> tuple[str, ...]:
    """The naming.ML_ALERTS keys `alerting.disable` names; unknown names are located problems."""
    by_name = {name: key for key, name in naming.ML_ALERTS.items()}
    prefix = spec.alerting.name_prefix or ""
    # The other generated alerts have switches of their own; name them rather than "unknown".
    others = {naming.model_down_alert(): "alerting.model_down.enabled: false"}
    for slo in spec.slos:
        others[naming.no_data_alert(slo)] = f"slos.{slo}.alerts.no_data: false (or alerting.no_data.enabled: false)"
        for tier in v1.TIER_NAMES:
            others[naming.burn_alert(slo, tier)] = f"slos.{slo}.alerts.tiers, or slos.{slo}.alerts.enabled: false"
    keys = []
    for i, name in enumerate(spec.alerting.disable):
        bare = name.removeprefix(prefix) if prefix and name.startswith(prefix) else name
        if bare in by_name:
            keys.append(by_name[bare])
        elif bare in others:
            problems.append(doc.problem(("alerting", "disable", i), f"{name!r} is not an ML alert",
                                        f"turn it off with {others[bare]}"))
        else:
            close = difflib.get_close_matches(bare, [*by_name, *others], n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"ML alerts: {', '.join(sorted(by_name))}"
            problems.append(doc.problem(("alerting", "disable", i), f"unknown alert {name!r}", hint))
    return tuple(sorted(set(keys)))


def _no_data_for(doc: Document, spec: v1.ModelMonitor, problems: list[Problem]) -> int:
    old, new = spec.alerting.no_data_for, spec.alerting.no_data.for_
    if old is not None and new is not None:
        problems.append(doc.problem(("alerting", "no_data_for"), "both `no_data_for` and `no_data.for` are set",
                                    "keep no_data.for"))
    return durations.parse(new or old or "10m")


def _build_slos(doc: Document, spec: v1.ModelMonitor, met: v1.Metrics, scrape_ms: int,
                buckets: dict[str, tuple[float, ...]], problems: list[Problem],
                queries: list[QueryRef], selector: set[str]) -> list[m.SLO]:
    slos: list[m.SLO] = []
    default_group = group_validate.group_labels(doc, ("slo_defaults", "group_by"), spec.slo_defaults.group_by,
                                                selector, problems)
    # The seed's slo.yaml nests SLOs under the model's name; accept that shape as written.
    entries = dict(spec.slos)
    for name, slo in entries.items():
        loc: Loc = ("slos", name)
        percentiles = {k: getattr(slo, k) for k in PERCENTILE_FIELDS if getattr(slo, k) is not None}
        period = _ms(slo.period) or _ms(slo.window) or durations.parse("30d")
        if slo.period and slo.window:
            problems.append(doc.problem(loc, "both `period` and `window` are set", "keep `period`"))
        wanted = tuple(slo.alerts.tiers) if slo.alerts.tiers is not None else None
        group = default_group if slo.group_by is None else group_validate.group_labels(
            doc, (*loc, "group_by"), slo.group_by, selector, problems)
        said = len(problems)
        timeslice = _timeslice(doc, loc, slo, problems)
        if len(problems) > said:
            continue
        common = {"period_ms": period, "description": slo.description, "timeslice": timeslice,
                  "for_ms": _ms(slo.alerts.for_), "min_events": slo.alerts.min_events, "group_by": group,
                  **_alert_options(doc, (*loc, "alerts"), slo.alerts, problems)}
        candidates: list[tuple[str, float, float | None, Loc]] = []  # name, objective, threshold, loc
        kind = _slo_kind(name, slo)
        custom = None
        if "histogram" in slo.model_fields_set and kind != "latency" and not percentiles:
            problems.append(doc.problem((*loc, "histogram"), f"`histogram` has no meaning for {kind}",
                                        "it names the histogram a latency SLO reads; remove it here"))
            continue
        roles = SLO_ROLES.get("latency" if percentiles else kind, ())
        if roles == ("latency",):
            roles = (slo.histogram,)
        missing = [r for r in roles if getattr(met, r) is None]
        if missing and "histogram" in slo.model_fields_set:
            problems.append(doc.problem(
                (*loc, "histogram"), f"this latency SLO reads metrics.{slo.histogram}, which is null (the service "
                "does not expose it)", f"name the service's histogram in metrics.{slo.histogram} "
                f"(and its buckets in metrics.{slo.histogram}_buckets), or another histogram here"))
            continue
        if missing:
            problems.extend(metrics_validate.role_problem(doc, loc, r, f"a {kind} SLO") for r in missing)
            continue
        if percentiles:
            if slo.threshold or slo.objective is not None or slo.target is not None:
                problems.append(doc.problem(loc, "percentile targets (pNN_target_ms) replace objective and threshold",
                                            "use either `objective` + `threshold` or `p99_target_ms`"))
                continue
            kind = "latency"
            for key, value in percentiles.items():
                if value <= 0:
                    problems.append(doc.problem((*loc, key), "must be above 0"))
                    continue
                suffix = key.removesuffix("_target_ms")
                candidates.append((f"{name}-{suffix}", PERCENTILE_FIELDS[key], value / 1000, (*loc, key)))
        else:
            objective = _objective(doc, loc, slo, problems)
            if objective is None:
                continue
            threshold = None
            if kind == "latency":
                if not slo.threshold:
                    problems.append(doc.problem(
                        loc, f"SLO {name!r} is neither availability nor accuracy, so it needs a latency "
                        "`threshold` or a custom `sli`",
                        _kind_hint(name)))
                    continue
                threshold = durations.parse(slo.threshold) / 1000
            elif slo.threshold:
                problems.append(doc.problem((*loc, "threshold"), f"a threshold has no meaning for {kind}"))
                continue
            if kind == "custom":
                assert slo.sli is not None
                custom = _check_custom(doc, (*loc, "sli"), slo.sli, problems, queries)
                if custom is None:
                    continue
                if custom.error_ratio_query is not None and slo.alerts.min_events is not None:
                    problems.append(doc.problem(
                        (*loc, "alerts", "min_events"), "min_events needs a count of events, and an "
                        "error_ratio_query gives only a ratio", "give error_query and total_query instead"))
                    continue
                # Warnings come with the built model (_group_warnings); a dropped group label is an error.
                problems.extend(p for p in group_validate.custom_query_problems(doc, (*loc, "sli"), custom, group)
                                if not p.warning)
            elif slo.sli is not None:
                problems.append(doc.problem((*loc, "sli"), f"{name!r} has a built-in SLI",
                                            "give a custom SLI its own name, e.g. `business-latency`"))
                continue
            candidates.append((name, objective, threshold, loc))
        if kind == "accuracy":
            if spec.model.task != "classification":
                problems.append(doc.problem(loc, "an accuracy SLO needs model.task: classification"))
                continue
            if timeslice is None:
                common["min_events"] = common["min_events"] or slo.min_samples or 100
            elif slo.min_samples is not None:  # a slice is judged on the labels it has, however few
                problems.append(doc.problem((*loc, "min_samples"), "min_samples has no meaning with timeslices: "
                                            "each slice is judged on the labels it has", "remove it"))
                continue
        elif slo.min_samples is not None:
            problems.append(doc.problem((*loc, "min_samples"), "min_samples belongs to accuracy",
                                        "use alerts.min_events for a traffic guard"))
        role = slo.histogram
        bounds = buckets.get(role, ())
        for slo_name, objective, threshold, where in candidates:
            if threshold is not None and not any(abs(b - threshold) < 1e-9 for b in bounds):
                problems.append(doc.problem(
                    where, f"latency threshold {threshold:g}s is not a bucket bound of "
                    f"{metrics_validate.role_name(getattr(met, role))}",
                    f"nearest bounds: {_nearest_bounds(threshold, bounds)}; "
                    f"add it to metrics.{role}_buckets and to the service's histogram"))
                continue
            if any(s.name == slo_name for s in slos):
                problems.append(doc.problem(where, f"SLO name {slo_name!r} is used twice"))
                continue
            # Whether the tiers can fire is planning's question (plan/check.py); it reports there.
            slos.append(m.SLO(name=slo_name, kind=kind, objective=objective, alert_tiers=wanted,
                              scrape_interval_ms=scrape_ms, threshold_s=threshold, custom=custom,
                              histogram=role if kind == "latency" else "latency",
                              site=doc.site((*loc, "alerts", "tiers") if wanted else loc), **common))
    return slos


def _latency_buckets(doc: Document, spec: v1.ModelMonitor, met: v1.Metrics,
                     problems: list[Problem]) -> tuple[float, ...]:
    latency = metrics_validate.role_name(met.latency)
    # null: no latency metric at all (the latency SLO itself says so), not one of the user's own
    custom_metric = latency is not None and latency != v1.Metrics.model_fields["latency"].default
    if met.latency_buckets is not None:
        buckets = tuple(sorted(set(met.latency_buckets)))
        if any(b <= 0 for b in buckets):
            problems.append(doc.problem(("metrics", "latency_buckets"), "bucket bounds must be above 0"))
        return buckets
    if custom_metric and _reads(spec, "latency"):
        problems.append(doc.problem(("metrics", "latency"), "a latency metric of your own needs its buckets",
                                    "list them in metrics.latency_buckets (seconds)"))
        return ()
    # The default contract: standard buckets plus every SLO threshold (the runtime creates these).
    extra = set()
    for slo in spec.slos.values():
        if slo.histogram != "latency":
            continue
        if slo.threshold:
            with contextlib.suppress(durations.DurationError):
                extra.add(durations.parse(slo.threshold) / 1000)
        extra.update(getattr(slo, k) / 1000 for k in PERCENTILE_FIELDS if getattr(slo, k))
    return tuple(sorted(set(m.DEFAULT_LATENCY_BUCKETS) | extra))


def _reads(spec: v1.ModelMonitor, role: str) -> bool:
    """Whether some latency SLO of the spec reads this histogram role."""
    return any(_slo_kind(n, s) == "latency" and s.histogram == role for n, s in spec.slos.items())


def _other_buckets(doc: Document, spec: v1.ModelMonitor, met: v1.Metrics,
                   problems: list[Problem]) -> dict[str, tuple[float, ...]]:
    """The buckets of the latency roles but `latency`: mlmon's runtime exposes none of them, so
    the spec lists them whenever an SLO reads the role."""
    out = {}
    for role in metrics_validate.LATENCY_ROLES[1:]:
        given = getattr(met, f"{role}_buckets")
        if given is not None:
            out[role] = tuple(sorted(set(given)))
            if any(b <= 0 for b in out[role]):
                problems.append(doc.problem(("metrics", f"{role}_buckets"), "bucket bounds must be above 0"))
        elif getattr(met, role) is not None and _reads(spec, role):
            problems.append(doc.problem(("metrics", role), f"a latency SLO reads {role}, which needs its buckets",
                                        f"list them in metrics.{role}_buckets (seconds)"))
    return out


def _unwrap_seed_slos(doc: Document) -> None:
    """The seed's slo.yaml nests SLOs under the model name (`slos: {fraud_detector: {...}}`)."""
    data = doc.data
    slos = data.get("slos")
    name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    if (isinstance(slos, dict) and isinstance(name, str) and name in slos and len(slos) == 1
            and isinstance(slos[name], dict)):
        inner = slos[name]
        if not ({"objective", "target"} & set(inner)):
            data["slos"] = inner
            for loc, where in list(doc.locations.items()):
                if loc[:2] == ("slos", name) and len(loc) > 2:
                    doc.locations.setdefault(("slos", *loc[2:]), where)


def build_model(doc: Document, spec: v1.ModelMonitor, project: m.Project,
                problems: list[Problem], queries: list[QueryRef]) -> m.Model | None:
    start = len(problems)
    problems.extend(reserved_label_problems(doc, ("metadata", "labels"), spec.metadata.labels))
    disabled = _disabled_ml_alerts(doc, spec, problems)
    no_data_for_ms = _no_data_for(doc, spec, problems)
    scrape = spec.scrape or v1.Scrape()
    scrape_ms = _ms(scrape.interval) or project.scrape_interval_ms
    if spec.scrape is not None and not (scrape.targets or scrape.kubernetes or scrape.job):
        problems.append(doc.problem(("scrape",), "no targets, no kubernetes discovery and no job",
                                    'scrape: {targets: ["my-model:8000"]}; or scrape: {job: NAME} (or no '
                                    "scrape section) when an existing scrape job collects the series"))
    if scrape.targets and scrape.kubernetes is not None:
        problems.append(doc.problem(("scrape",), "give static targets or kubernetes discovery, not both"))
    if scrape.job and (scrape.targets or scrape.kubernetes is not None):
        problems.append(doc.problem(("scrape", "job"), "an existing job is for series mlmon does not scrape",
                                    "drop scrape.job, or the targets and discovery"))
    timeout_ms = _ms(scrape.timeout)
    if timeout_ms and timeout_ms > scrape_ms:
        problems.append(doc.problem(("scrape", "timeout"), "scrape timeout is longer than the interval"))
    met = metrics_validate.effective(doc, spec, problems)
    buckets = {"latency": _latency_buckets(doc, spec, met, problems), **_other_buckets(doc, spec, met, problems)}
    metrics = metrics_validate.build(doc, spec, met, buckets, problems)
    # Labels whose value mlmon fixes (the model's selector, the roles' matchers): they cannot group.
    selector = {label for label, _, _ in metrics.matchers()} | {
        label for _, matchers in metrics.role_matchers for label, _, _ in matchers}
    slos = _build_slos(doc, spec, met, scrape_ms, buckets, problems, queries, selector)
    features, ml_signals = build_ml(doc, spec, metrics, problems)  # ML sections and the baseline file
    slos += residual_slos(doc, spec, metrics, scrape_ms, {s.name for s in slos}, problems)
    routing = alertmanager.build_model_routing(doc, spec, project, problems)
    if len(problems) > start:
        return None
    k8s = scrape.kubernetes
    return m.Model(
        name=spec.metadata.name, team=spec.metadata.team, source=doc.path,
        labels=tuple(sorted(spec.metadata.labels.items())), description=spec.metadata.description,
        version=spec.model.version, task=spec.model.task, classes=tuple(spec.model.classes),
        scrape=m.Scrape(
            targets=tuple(scrape.targets),
            kubernetes=m.KubernetesScrape(tuple(k8s.namespaces), k8s.role, tuple(sorted(k8s.selector.items())),
                                          k8s.port) if k8s else None,
            interval_ms=scrape_ms, timeout_ms=timeout_ms, metrics_path=scrape.metrics_path,
            scheme=scrape.scheme, job=scrape.job),
        metrics=metrics,
        slos=tuple(slos), features=features, ml=ml_signals,
        model_down_for_ms=durations.parse(spec.alerting.model_down.for_),
        no_traffic_for_ms=_ms(spec.alerting.model_down.no_traffic_for),
        no_data_for_ms=no_data_for_ms,
        alert_prefix=spec.alerting.name_prefix or "", model_down_enabled=spec.alerting.model_down.enabled,
        no_data_enabled=spec.alerting.no_data.enabled, disabled_ml_alerts=disabled,
        expected_rps=spec.model.expected_rps, routing=routing, site=doc.site(("metadata", "name")),
        group_values=tuple(sorted(spec.slo_defaults.group_values.items())),
    )


def build_project(doc: Document, spec: v1.Project) -> m.Project:
    p = spec.prometheus
    return m.Project(
        name=spec.metadata.name, source=doc.path,
        scrape_interval_ms=durations.parse(p.scrape_interval),
        evaluation_interval_ms=durations.parse(p.evaluation_interval),
        scrape_timeout_ms=_ms(p.scrape_timeout),
        external_labels=tuple(sorted(p.external_labels.items())),
        alertmanagers=tuple(p.alertmanagers),
        runbook_base_url=spec.urls.runbooks.rstrip("/"),
        grafana_base_url=spec.urls.grafana.rstrip("/"),
        kubernetes=_kubernetes_settings(spec.kubernetes),
        rulers=m.RulerSettings(
            mimir_source_tenants=tuple(spec.mimir.source_tenants), mimir_query_offset_ms=_ms(spec.mimir.query_offset),
            thanos_partial_response_strategy=spec.thanos.partial_response_strategy),
        series_budget_per_model=spec.budget.series_per_model,
        templates_dir=str(Path(doc.path).parent / spec.templates) if spec.templates else None,
        targets=tuple(sorted(set(spec.targets))),
        dashboards=spec.dashboards, runbooks=spec.runbooks,
    )


def _kubernetes_settings(k: v1.KubernetesSettings) -> m.KubernetesSettings:
    def labels(d: dict[str, str]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(d.items()))

    return m.KubernetesSettings(
        namespace=k.namespace, rule_labels=labels(k.rule_labels), monitor_labels=labels(k.monitor_labels),
        alertmanager_config_labels=labels(k.alertmanager_config_labels),
        dashboard_labels=labels(k.dashboard_labels), dashboard_namespace=k.dashboard_namespace or k.namespace)


@dataclass(frozen=True)
class Typed:
    """A document's spec. `dropped` lists the fields that failed pydantic and were left out so
    that the rest could still be checked for meaning; empty when the document parsed whole."""

    spec: BaseModel
    dropped: tuple[str, ...] = ()


# Enough for every field pydantic rejects plus the parents of fields that go missing with them;
# a document that needs more rounds is reported structurally only.
PRUNE_ROUNDS = 8


def _prune(data: Any, loc: Loc) -> Loc | None:
    """Delete the deepest part of `loc` that exists in `data`; return what was deleted.

    A list item is never deleted alone: the items after it would move, and every location
    recorded for them (file:line) with them. The whole list goes instead.
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            break
        node = node[part]
        path.append(part)
    while path and isinstance(path[-1], int):
        path.pop()
    if not path:
        return None
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return tuple(path)


def _partial(cls: type[BaseModel], data: Any, exc: pydantic.ValidationError) -> Typed | None:
    """The document validated with every failing field left out, or None when that leaves nothing."""
    data = copy.deepcopy(data)
    dropped: list[Loc] = []
    for _ in range(PRUNE_ROUNDS):
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "[key]")
            if any(loc[:len(d)] == d for d in dropped):  # gone with a list or mapping left out already
                continue
            cut = _prune(data, loc)
            if cut is None:
                return None
            dropped.append(cut)
        try:
            return Typed(cls.model_validate(data), tuple(sorted({dotted(d) for d in dropped})))
        except pydantic.ValidationError as again:
            exc = again
    return None


def _related(field: str, dropped: str) -> bool:
    """Whether a problem at `field` may only follow from leaving out `dropped` (under it, or above it)."""
    def under(a: str, b: str) -> bool:
        return a == b or a.startswith((f"{b}.", f"{b}["))

    return bool(field) and (under(field, dropped) or under(dropped, field))


def typed(doc: Document, problems: list[Problem]) -> BaseModel | None:
    """The document's spec, or None (its problems added) when any part of it is invalid."""
    found = typed_in_part(doc, problems)
    return found.spec if found is not None and not found.dropped else None


def typed_in_part(doc: Document, problems: list[Problem]) -> Typed | None:
    """The document's spec, with the fields pydantic rejects left out (and reported)."""
    kind = doc.data.get("kind")
    if not isinstance(kind, str) or kind not in v1.KINDS:  # a list or mapping is unhashable
        problems.append(doc.problem(("kind",), f"unknown kind {kind!r}" if kind else "`kind` is missing",
                                    "kind: ModelMonitor for a model, kind: Project for shared settings"))
        return None
    cls = v1.KINDS[kind]
    if kind == "ModelMonitor":
        _unwrap_seed_slos(doc)
    try:
        return Typed(cls.model_validate(doc.data))
    except pydantic.ValidationError as exc:
        problems.extend(_pydantic_problems(doc, cls, exc))
        return _partial(cls, doc.data, exc)


# prometheus-operator's AlertmanagerConfig has no `location` on a time interval (operator issue
# 5512, open through v0.80), so `--target kubernetes` can only write the times, which it evaluates in UTC.
UTC_LOCATIONS = ("UTC", "Etc/UTC")


def _operator_time_zones(doc: Document, spec: v1.Project) -> list[Problem]:
    """A warning per time zone that `--target kubernetes` cannot carry, when the project sets it up."""
    if spec.alertmanager is None or "kubernetes" not in spec.model_fields_set:
        return []
    return [doc.problem(("alertmanager", "time_intervals", name, i, "location"),
                        f"time interval {name!r} is in {t.location}, but prometheus-operator's AlertmanagerConfig "
                        "has no time zone: with --target kubernetes it runs in UTC, muting at other hours",
                        "write its times in UTC and drop `location`; in UTC, office hours move with daylight "
                        "saving time", warning=True)
            for name, entries in spec.alertmanager.time_intervals.items() for i, t in enumerate(entries)
            if t.location is not None and t.location not in UTC_LOCATIONS]


def _semantic(typed_doc: Typed, found: list[Problem], problems: list[Problem]) -> None:
    """Add the meaning checks' problems, less those that only follow from a field left out."""
    problems.extend(p for p in found if not any(_related(p.field, d) for d in typed_doc.dropped))


def _project(projects: list[tuple[Document, Typed]], problems: list[Problem]) -> m.Project:
    """The project every model is validated under: the one Project file's, else the default."""
    if len(projects) > 1:
        first = projects[0][0].path
        problems.extend(d.problem(("kind",), f"a second Project file (the first is {first})",
                                  "keep one project file per spec folder") for d, _ in projects[1:])
        return m.DEFAULT_PROJECT
    if not projects:
        return m.DEFAULT_PROJECT
    doc, t = projects[0]
    assert isinstance(t.spec, v1.Project)
    found: list[Problem] = []
    project = build_project(doc, t.spec)
    project = alertmanager.with_alertmanager(project, doc, t.spec, found)
    if project.templates_dir and not Path(project.templates_dir).is_dir():
        found.append(doc.problem(("templates",), f"no such folder: {project.templates_dir}",
                                 "the path is relative to the project file"))
    _semantic(t, found, problems)
    return project


def project_of(docs: Sequence[Document]) -> m.Project:
    """The project `validate_all` validates the models of DOCS (and any Clean beside them) under."""
    typed_docs = [(d, t) for d in docs if d.data.get("kind") == "Project" and (t := typed_in_part(d, [])) is not None]
    return _project([(d, t) for d, t in typed_docs if isinstance(t.spec, v1.Project)], [])


def _name(doc: Document) -> str | None:
    """The model name a document gives, as written: enough to see that it may take a Clean's."""
    meta = doc.data.get("metadata")
    return str(meta.get("name")) if isinstance(meta, dict) else None


def _read_again(docs: list[Document | Clean], problems: list[Problem]) -> list[Document | Clean]:
    """DOCS, with each Clean whose model's name another file may give read again: a duplicate
    is reported at the second file, with what only its document holds."""
    names = Counter(d.model.name if isinstance(d, Clean) else _name(d) for d in docs)
    out: list[Document | Clean] = []
    for d in docs:
        if isinstance(d, Clean) and names[d.model.name] > 1:
            doc, found = load_file(Path(d.path))
            problems.extend(found)
            out.extend([doc] if doc is not None else [])
        else:
            out.append(d)
    return out


def validate_all(entries: Sequence[Document | Clean]) -> tuple[Result, list[Problem]]:
    """Every problem of every file, and the fleet of the models that validated: planning checks
    those too (build/load.py), so that one run reports every problem. A document pydantic rejects
    is still checked for meaning with the failing fields left out, but its model stays out of the
    fleet: planning would judge defaults the user never wrote."""
    problems: list[Problem] = []
    expanded: list[Document | Clean] = []
    notes: list[Problem] = []
    for d in entries:  # the seed article's `slos:`-only files, as ModelMonitors
        if isinstance(d, Clean):
            expanded.append(d)
            continue
        more, said = seed.expand([d])
        expanded.extend(more)
        notes.extend(said)
    given = _read_again(expanded, problems)
    clean = [d for d in given if isinstance(d, Clean)]
    docs = [d for d in given if isinstance(d, Document)]
    documents = [(doc, t) for doc in docs if (t := typed_in_part(doc, problems)) is not None]
    projects = [(d, t) for d, t in documents if isinstance(t.spec, v1.Project)]
    project = _project(projects, problems)
    models: dict[str, m.Model] = {c.model.name: c.model for c in clean}
    seen = {c.model.name: c.path for c in clean}  # model name → the file that defined it first
    queries: list[QueryRef] = []
    warnings = [*notes, *(w for doc, t in projects[:1] if isinstance(t.spec, v1.Project)
                for w in _operator_time_zones(doc, t.spec))]
    for doc, t in documents:
        spec = t.spec
        if not isinstance(spec, v1.ModelMonitor):
            continue
        name = spec.metadata.name
        duplicate = name in seen
        if duplicate:
            problems.append(doc.problem(("metadata", "name"), f"model {name!r} is already defined in {seen[name]}",
                                        "model names are unique across files"))
        if naming.dashboard_file(name) == naming.FLEET_DASHBOARD_FILE:
            problems.append(doc.problem(("metadata", "name"), f"{name!r} is reserved: its dashboard would be the "
                                        "fleet overview's file", "choose another model name"))
        seen.setdefault(name, doc.path)
        found = []
        built = build_model(doc, spec, project, found, queries)  # still run: report all problems
        _semantic(t, found, problems)
        if built is not None and not duplicate and not t.dropped:
            models[built.name] = built
            warnings.extend(alertmanager.unrouted(doc, built, project))
            warnings.extend(ml_validate.range_warnings(doc, built.features))
            warnings.extend(metrics_validate.warnings(doc, spec, built))
            warnings.extend(_le_warnings(doc, spec))
            warnings.extend(_group_warnings(doc, built))
        elif spec.alerting.routing is None:  # the team's routing is known without the model
            warnings.extend(alertmanager.unrouted_team(doc, name, spec.metadata.team, project))
    if not docs and not clean:
        problems.append(Problem("(arguments)", 0, 0, "", "no spec files found", "pass a folder of *.yaml specs"))
    # Secrets anywhere in a spec; one message per place, so not where a field check already spoke.
    spoken = {(p.file, p.field) for p in problems}
    problems.extend(p for doc in docs for p in secret_scan.spec_problems(doc) if (p.file, p.field) not in spoken)
    fleet = m.Fleet(project, tuple(sorted(models.values(), key=lambda x: x.name)))
    return Result(fleet, warnings, queries), problems


def validate_documents(docs: list[Document]) -> Result:
    """The fleet, or SpecError with every problem of every file."""
    result, problems = validate_all(docs)
    if problems:
        raise SpecError(problems)
    return result


def load_documents(paths: list[Path]) -> tuple[list[Document], list[Problem]]:
    files, problems = discover(paths)
    docs = []
    for f in files:
        doc, found = load_file(f)
        problems.extend(found)
        if doc:
            docs.append(doc)
    return docs, problems


def load_and_validate(paths: list[Path]) -> Result:
    """Spec files and folders validated, without planning's checks (build/load.py adds them)."""
    docs, problems = load_documents(paths)
    if docs or not problems:
        result, found = validate_all(docs)
        problems.extend(found)
    if problems:
        raise SpecError(problems)
    return result
