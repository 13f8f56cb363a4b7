"""runbooks/<model>/<AlertName>.md: one runbook per generated alert, rendered from Jinja2 templates.

The alerts are read from the rule files the other targets produce, not rebuilt, so every alert
anyone adds to a rule file gets a runbook. Templates are keyed by the alert's kind
(`runbooks/<kind>.md.j2`), with `runbooks/alert.md.j2` as the fallback for kinds without one.
"""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.emit.write import Artifact, WriteError
from mlmon_codegen.plan import queries
from mlmon_codegen.plan.explain import TierMath, explain_slo, human
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import prose

# The kind of a burn-rate alert follows the kind of its SLO.
SLO_ALERT_KINDS = {"availability": "errors", "latency": "latency", "accuracy": "accuracy", "custom": "slo"}
# Other alerts are recognised by a word in their name, first match wins.
NAME_KINDS = (("Drift", "drift"), ("Skew", "skew"), ("Retrain", "retrain"), ("Accuracy", "accuracy"),
              ("GroundTruth", "accuracy"), ("Confidence", "skew"), ("Feature", "drift"), ("Latency", "latency"),
              ("Error", "errors"))
FALLBACK = "runbooks/alert.md.j2"
BAD_EVENTS = {"availability": "failed requests", "latency": "slow requests",
              "accuracy": "wrong predictions among the labelled ones", "custom": "bad events"}


def alert_kind(rule: dict[str, Any], slo: m.SLO | None) -> str:
    name, labels = rule["alert"], rule.get("labels") or {}
    if name == naming.MODEL_DOWN_ALERT:
        return "model-down"
    if slo is not None and name == naming.no_data_alert(slo.name):
        return "no-data"
    if slo is not None and naming.TIER_LABEL in labels:
        return SLO_ALERT_KINDS[slo.kind]
    if labels.get(naming.ACTION_LABEL) == "retrain":
        return "retrain"
    return next((kind for word, kind in NAME_KINDS if word in name), "alert")


def _queries(model: m.Model, rule: dict[str, Any], kind: str, slo: m.SLO | None,
             tier: TierMath | None) -> list[dict[str, str]]:
    """What to paste into Prometheus first: the alert itself, then what explains it."""
    out = [{"title": "The alert's expression (a result means it is firing)", "query": rule["expr"]}]
    if slo is not None and tier is not None:
        labels = {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name}
        for secs in (tier.short_s, tier.long_s):
            out.append({"title": f"Error ratio over {human(secs)}",
                        "query": q.selector(naming.slo_error_ratio(int(secs * 1000)), labels)})
        out.append({"title": f"Error budget left over the {human(slo.period_ms / 1000)} period",
                    "query": q.selector(naming.SLO_BUDGET_REMAINING, labels)})
    # Ranges a person pastes into Prometheus: 5m for what moves fast, 1h for ML signals, which
    # need enough predictions and labels to mean anything.
    five_min, hour = 300_000, 3_600_000
    if kind == "errors":
        out.append({"title": "Errors per second by type", "query": queries.errors_per_second_by_type(model, five_min)})
    elif kind == "latency":
        out.append({"title": "p99 latency (seconds)", "query": queries.latency_quantile(model, 0.99, five_min)})
    elif kind == "accuracy":
        out.append({"title": "Labelled predictions by predicted and actual class (per second, 1h)",
                    "query": queries.labelled_predictions(model, hour, by=("predicted_class", "actual_class"))})
    elif kind in ("model-down", "no-data"):
        out.append({"title": "Scrape targets up", "query": queries.targets_up(model)})
        out.append({"title": "Predictions per second", "query": queries.predictions_per_second(model, five_min)})
    elif kind == "drift":
        out.append({"title": "Missing feature values per second, by feature", "query": q.agg(
            "sum", queries.model_rate(model, model.metrics.feature_missing, hour), by=(naming.FEATURE_LABEL,))})
    elif kind == "skew":
        out.append({"title": "Predictions per second by class", "query": queries.predictions_per_class(model, hour)})
    return out


def _bad_events(slo: m.SLO | None) -> str:
    if slo is None:
        return ""
    if slo.kind == "latency" and slo.threshold_s is not None:
        return f"requests slower than {slo.threshold_s * 1000:g}ms"
    return BAD_EVENTS[slo.kind]


def context(model: m.Model, project: m.Project, rule: dict[str, Any]) -> dict[str, Any]:
    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    slo = next((s for s in model.slos if s.name == labels.get(naming.SLO_LABEL)), None)
    tier = None
    if slo is not None and naming.TIER_LABEL in labels:
        tier = next((t for t in explain_slo(model, slo, project).tiers if t.name == labels[naming.TIER_LABEL]), None)
    kind = alert_kind(rule, slo)
    return {
        "kind": kind,
        "model": model,
        "alert": {"name": rule["alert"], "expr": rule["expr"], "for": rule.get("for"), "labels": labels,
                  "summary": annotations.get("summary", ""), "severity": labels.get(naming.SEVERITY_LABEL, "")},
        "slo": slo,
        "period": human(slo.period_ms / 1000) if slo else "",
        "bad_events": _bad_events(slo),
        "tier": tier,
        "queries": _queries(model, rule, kind, slo, tier),
        "runbook_url": naming.runbook_url(project.runbook_base_url, model.name, rule["alert"]),
        "dashboard_url": annotations.get("dashboard_url") or naming.dashboard_url(project.grafana_base_url, model.name),
        "human": human,
    }


def render(model: m.Model, project: m.Project, rule: dict[str, Any]) -> str:
    ctx = context(model, project, rule)
    names = [f"runbooks/{ctx['kind']}.md.j2", FALLBACK]
    try:
        return prose.render(prose.search_path(project.templates_dir, model.team), names, ctx)
    except prose.TemplateError as exc:
        raise WriteError(f"runbook {rule['alert']} of {model.name}: {exc}") from exc


def render_model(model: m.Model, project: m.Project, rule_file: dict[str, Any]) -> list[Artifact]:
    """A runbook for every alert in the model's rendered rule file (targets/rules.py), so each
    documents the rule exactly as written."""
    out: dict[str, Artifact] = {}
    for rule in (r for g in rule_file["groups"] for r in g["rules"] if "alert" in r):
        path = naming.runbook_file(model.name, rule["alert"])
        # One runbook per alert name: several rules may share a name (e.g. one per feature).
        out.setdefault(path, Artifact(path, render(model, project, rule), model.source, "text"))
    return [out[p] for p in sorted(out)]
