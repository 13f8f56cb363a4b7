"""The metric contract of a spec (`metrics:`), checked and turned into model.Metrics.

A preset is applied first (the spec's own fields win). Then every role becomes a metric name
(or None: not exposed) with matchers, and the shapes are checked together: two roles may share
a metric only when they are the same kind of metric and their matchers tell them apart.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec import presets, v1
from mlmon_codegen.spec.load import Document

COUNTER_ROLES = ("requests", "errors", "predicted_class", "feature_missing", "feature_category", "ground_truth",
                 "residuals", "residual_abs", "residual_squared", "residual_positive", "residual_relative",
                 "residual_relative_count")
HISTOGRAM_ROLES = ("latency", "confidence", "feature_value", "label_lag", "first_token_latency",
                   "inter_token_latency", "residual_histogram")
# The histogram roles a latency SLO can read (`slos.NAME.histogram`), each with its buckets field.
LATENCY_ROLES = ("latency", "first_token_latency", "inter_token_latency")
GAUGE_ROLES = ("trained_at", "feature_min", "feature_max")
ROLE_KIND = {**dict.fromkeys(COUNTER_ROLES, "counter"), **dict.fromkeys(HISTOGRAM_ROLES, "histogram"),
             **dict.fromkeys(GAUGE_ROLES, "gauge")}
LABEL_ROLES = ("class", "actual_class", "feature", "category", "error_type", "version")
MATCH_OPS = (("regex", "=~"), ("not_", "!="), ("not_regex", "!~"))


def _merge(preset: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """Roles are replaced whole; the label names are merged one by one."""
    out = {**preset, **own}
    if isinstance(preset.get("labels"), dict) and isinstance(own.get("labels"), dict):
        out["labels"] = {**preset["labels"], **own["labels"]}
    return out


def effective(doc: Document, spec: v1.ModelMonitor, problems: list[Problem]) -> v1.Metrics:
    """The spec's metrics with its preset filled in under the fields it writes itself."""
    met = spec.metrics
    if met.preset is None:
        return met
    preset = presets.PRESETS.get(met.preset)
    if preset is None:
        close = difflib.get_close_matches(met.preset, presets.names(), n=1)
        problems.append(doc.problem(("metrics", "preset"), f"unknown preset {met.preset!r}",
                                    f"did you mean {close[0]!r}?" if close else
                                    f"presets: {', '.join(presets.names())}"))
        return met
    own = met.model_dump(exclude_unset=True, by_alias=True)
    return v1.Metrics.model_validate(_merge(preset.metrics, own))


def matchers(doc: Document, loc: tuple[str, ...], given: v1.Matchers,
             problems: list[Problem]) -> tuple[m.Matcher, ...]:
    out = []
    for label, value in sorted(given.items()):
        if isinstance(value, str):
            out.append((label, "=", value))
            continue
        ops = [(op, getattr(value, field)) for field, op in MATCH_OPS if getattr(value, field) is not None]
        if len(ops) != 1:
            problems.append(doc.problem((*loc, label), "give exactly one of regex, not, not_regex",
                                        'e.g. status: {regex: "5.."}; a plain string means equality'))
            continue
        op, text = ops[0]
        if op in ("=~", "!~"):
            try:
                re.compile(text)
            except re.error as exc:
                problems.append(doc.problem((*loc, label), f"not a regular expression: {exc}"))
                continue
        out.append((label, op, text))
    return tuple(out)


def _role(value: v1.RoleSpec | str) -> v1.Role | None:
    return v1.Role(name=value) if isinstance(value, str) else value  # defaults stay plain names


def role_name(value: v1.RoleSpec | str) -> str | None:
    role = _role(value)
    return role.name if role is not None else None


def _select(doc: Document, spec: v1.ModelMonitor, met: v1.Metrics,
            problems: list[Problem]) -> tuple[m.Matcher, ...] | None:
    version = met.labels.version
    if met.select is None:
        if met.model_label == version or "version" in met.model_label:
            problems.append(doc.problem(
                ("metrics", "model_label"), f"selects the model by its version label {met.model_label!r}: the "
                "next deploy would leave every rule without data", f"select: {{}} and labels: {{version: "
                f"{met.model_label}}} (the scrape job selects the model)"))
        return None
    for label in met.select:
        if label == version or "version" in label:
            problems.append(doc.problem(
                ("metrics", "select", label), f"selects the model by its version label {label!r}: the next "
                "deploy would leave every rule without data",
                f"leave it out of select and write labels: {{version: {label}}}"))
    chosen = matchers(doc, ("metrics", "select"), met.select, problems)
    if chosen:
        return chosen
    scrape = spec.scrape
    if scrape is not None and (scrape.targets or scrape.kubernetes is not None):
        return (("job", "=", naming.job(spec.metadata.name)),)
    if scrape is not None and scrape.job:
        return (("job", "=", scrape.job),)
    return ()


def _label_clashes(doc: Document, met: v1.Metrics, select: tuple[m.Matcher, ...] | None,
                   problems: list[Problem]) -> None:
    seen: dict[str, str] = {}
    for role in LABEL_ROLES:
        label = getattr(met.labels, "class_" if role == "class" else role)
        if label is None:
            continue
        if label in seen:
            problems.append(doc.problem(("metrics", "labels", role), f"label {label!r} is named twice "
                                        f"(also labels.{seen[label]})", "each role needs a label of its own"))
        seen.setdefault(label, role)
    for label, _, _ in select or ():
        if label in seen and label != "job" and seen[label] != "version":  # _select says why, once
            problems.append(doc.problem(("metrics", "select", label), f"{label!r} is also labels.{seen[label]}",
                                        "a label that tells series apart cannot also select the model"))


def _shape_problems(doc: Document, roles: dict[str, v1.Role | None], problems: list[Problem]) -> None:
    by_metric: dict[str, list[str]] = {}
    for role, r in roles.items():
        if r is not None:
            by_metric.setdefault(r.name, []).append(role)
        if r is not None and r.counts is not None and role != "requests":
            problems.append(doc.problem(("metrics", role, "counts"), "only requests can count successes only"))
    for metric, names in by_metric.items():
        kinds = {ROLE_KIND[n] for n in names}
        if len(kinds) > 1:
            problems.append(doc.problem(
                ("metrics", names[-1]), f"{metric!r} is named by {', '.join(names)}: one metric cannot be "
                f"a {' and a '.join(sorted(kinds))}", "give each role the metric of its kind"))
            continue
        requests, errors = roles.get("requests"), roles.get("errors")
        if "requests" in names and "errors" in names and requests is not None and errors is not None:
            if requests.counts == "successes":
                problems.append(doc.problem(("metrics", "errors"), f"errors are series of {metric!r}, which "
                                            "requests says counts successes only", "drop requests.counts"))
            elif errors.matchers == requests.matchers:
                problems.append(doc.problem(
                    ("metrics", "errors"), f"errors and requests read the same series of {metric!r}",
                    'give errors the matchers of failed requests, e.g. matchers: {status: {regex: "5.."}}'))


def build(doc: Document, spec: v1.ModelMonitor, met: v1.Metrics, buckets: dict[str, tuple[float, ...]],
          problems: list[Problem]) -> m.Metrics:
    """`buckets`: the bucket bounds of each latency role (LATENCY_ROLES) that has them."""
    roles = {role: _role(getattr(met, role)) for role in ROLE_KIND}
    _shape_problems(doc, roles, problems)
    select = _select(doc, spec, met, problems)
    _label_clashes(doc, met, select, problems)
    own = tuple((role, found) for role, r in roles.items() if r is not None
                and (found := matchers(doc, ("metrics", role, "matchers"), r.matchers, problems)))
    names = {role: (r.name if r is not None else None) for role, r in roles.items()}
    requests = roles["requests"]
    lab = met.labels
    return m.Metrics(
        model_label=met.model_label, model_value=met.model_value or spec.metadata.name,
        latency_buckets=buckets.get("latency", ()), select=select, role_matchers=own,
        other_latency_buckets=tuple((r, b) for r, b in buckets.items() if r != "latency" and b),
        requests_count_successes=requests is not None and requests.counts == "successes",
        class_label=lab.class_, actual_class_label=lab.actual_class, feature_label=lab.feature,
        category_label=lab.category, error_type_label=lab.error_type, version_label=lab.version, **names)


def role_problem(doc: Document, loc: tuple[str | int, ...], role: str, what: str) -> Problem:
    return doc.problem(loc, f"{what} needs metrics.{role}, which this spec sets to null",
                       f"name the service's {ROLE_KIND[role]} in metrics.{role}, or remove this")


def warnings(doc: Document, spec: v1.ModelMonitor, built: m.Model) -> list[Problem]:
    """Findings that do not stop generation but would surprise: an unselected model."""
    out = []
    if built.metrics.select == () and not built.scrape.own_job:
        out.append(doc.problem(
            ("metrics", "select"), "nothing selects this model's series: every series of its metric names, "
            "from any job, counts as this model's", "give scrape.job (the job that collects them) or select",
            warning=True))
    return out
