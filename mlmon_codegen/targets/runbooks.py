"""runbooks/<model>/<AlertName>.md: one runbook per planned alert, rendered from Jinja2 templates.

The alerts are the plan's records (plan/rules.py), the same the rule file renders, so every alert
gets a runbook that documents it as written. The template follows the alert's family
(`runbooks/<template>.md.j2`), with `runbooks/alert.md.j2` as the fallback for a family without one.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import jinja2

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.core.text import human
from mlmon_codegen.emit.artifact import Artifact, ArtifactError
from mlmon_codegen.plan import queries, signals
from mlmon_codegen.plan.explain import TierMath, explain_slo
from mlmon_codegen.plan.records import Alert, RulePlan
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import prose

# A burn-rate alert's template follows the kind of its SLO.
SLO_ALERT_KINDS = {"availability": "errors", "latency": "latency", "accuracy": "accuracy", "custom": "slo"}
# Every other family's template; a family missing here gets the fallback.
FAMILY_TEMPLATES = {
    "no_data": "no-data", "model_down": "model-down",
    **dict.fromkeys(("feature_drift", "feature_drift_severe", "dataset_drift", "prediction_drift", "out_of_range",
                     "out_of_range_gauges", "missing"), "drift"),
    "prediction_skew": "skew", "low_confidence": "skew", "no_labels": "accuracy",
    "expected_accuracy_drop": "quality", "calibration_gap": "quality",
    "regression_mae": "regression", "regression_rmse": "regression",
    **dict.fromkeys(("retrain_drift", "retrain_accuracy", "retrain_stale", "retrain_labels"), "retrain"),
}
FALLBACK = "runbooks/alert.md.j2"
LATENCY_TITLES = {"latency": "latency", "first_token_latency": "time to first token",
                  "inter_token_latency": "inter-token latency"}
BAD_EVENTS = {"availability": "failed requests", "latency": "slow requests",
              "accuracy": "wrong predictions among the labelled ones", "custom": "bad events"}


LAYOUT = "runbooks/_layout.md.j2"


def template_names() -> list[str]:
    """Every runbook template mlmon renders or extends."""
    kinds = {*SLO_ALERT_KINDS.values(), *FAMILY_TEMPLATES.values()}
    return sorted({LAYOUT, FALLBACK, *(f"runbooks/{k}.md.j2" for k in kinds)})


def template_problems(project: m.Project) -> list[Problem]:
    """A project's runbook overrides checked before anything renders: a file mlmon never reads, a
    template that does not parse, a block its layout does not have (silently never shown)."""
    if not project.templates_dir:
        return []
    root = Path(project.templates_dir)
    folders = [(root, None), *((d, d.name) for d in sorted((root / "teams").glob("*")) if d.is_dir())]
    names = template_names()
    problems = []
    for folder, team in folders:
        paths = prose.search_path(project.templates_dir, team)
        for path in sorted((folder / "runbooks").glob("*.j2")):
            name = f"runbooks/{path.name}"
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"did you mean {close[0]}?" if close else f"runbook templates: {', '.join(names)}"
                problems.append(Problem(str(path), 0, 0, "", "mlmon renders no runbook from this file", hint,
                                        warning=True))
                continue
            try:
                own = prose.blocks(paths, name)
                known = prose.blocks(prose.search_path(None), LAYOUT)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(Problem(str(path), exc.lineno or 0, 1, "", f"template error: {exc.message}"))
                continue
            for block, line in sorted(own.items()):
                if line and block not in known:
                    close = difflib.get_close_matches(block, known, n=1)
                    problems.append(Problem(
                        str(path), line, 1, "", f"block {block!r} is not one of {LAYOUT}'s, so it would never show",
                        f"did you mean {close[0]!r}?" if close else f"blocks: {', '.join(sorted(known))}"))
    return problems


def template_kind(alert: Alert, slo: m.SLO | None) -> str:
    if alert.kind == "burn" and slo is not None:
        return SLO_ALERT_KINDS[slo.kind]
    return FAMILY_TEMPLATES.get(alert.kind, "alert")


def _queries(model: m.Model, alert: Alert, kind: str, slo: m.SLO | None,
             tier: TierMath | None) -> list[dict[str, str]]:
    """What to paste into Prometheus first: the alert itself, then what explains it."""
    out = [{"title": "The alert's expression (a result means it is firing)", "query": alert.expr}]
    if slo is not None and tier is not None:
        labels = {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name}
        for secs in (tier.short_s, tier.long_s):
            out.append({"title": f"Error ratio over {human(secs)}",
                        "query": q.selector(naming.slo_error_ratio(int(secs * 1000)), labels)})
        out.append({"title": f"Error budget left over the {human(slo.period_ms / 1000)} period",
                    "query": queries.budget_left(q.selector(naming.SLO_PERIOD_ERROR_RATIO, labels), slo)})
    # Ranges a person pastes into Prometheus: 5m for what moves fast, 1h for ML signals, which
    # need enough predictions and labels to mean anything.
    five_min, hour = 300_000, 3_600_000
    met = model.metrics
    if kind == "errors" and met.errors is not None:
        out.append({"title": "Errors per second by type", "query": queries.errors_per_second_by_type(model, five_min)})
    elif kind == "latency" and getattr(met, role := slo.histogram if slo else "latency") is not None:
        out.append({"title": f"p99 {LATENCY_TITLES[role]} (seconds)",
                    "query": queries.latency_quantile(model, 0.99, five_min, role)})
    elif kind == "accuracy" and met.ground_truth is not None:
        out.append({"title": "Labelled predictions by predicted and actual class (per second, 1h)",
                    "query": queries.labelled_predictions(model, hour, by=(met.class_label, met.actual_class_label))})
    elif kind in ("model-down", "no-data"):
        up = queries.targets_up(model)
        if up is not None:
            out.append({"title": "Scrape targets up", "query": up})
        if met.requests is not None:
            out.append({"title": "Predictions per second", "query": queries.predictions_per_second(model, five_min)})
    elif kind == "drift" and signals.missing(model):
        out.append({"title": "Missing feature values per second, by feature", "query": q.agg(
            "sum", queries.model_rate(model, "feature_missing", hour), by=(met.feature_label,))})
    elif kind == "skew" and signals.predicts(model):
        out.append({"title": "Predictions per second by class", "query": queries.predictions_per_class(model, hour)})
    return out


def _bad_events(slo: m.SLO | None) -> str:
    if slo is None:
        return ""
    if slo.kind == "latency" and slo.threshold_s is not None:
        if slo.histogram == "first_token_latency":
            return f"requests whose first token took longer than {slo.threshold_s * 1000:g}ms"
        if slo.histogram == "inter_token_latency":
            return f"gaps between output tokens longer than {slo.threshold_s * 1000:g}ms"
        return f"requests slower than {slo.threshold_s * 1000:g}ms"
    return BAD_EVENTS[slo.kind]


def context(model: m.Model, project: m.Project, alert: Alert) -> dict[str, Any]:
    slo = next((s for s in model.slos if s.name == alert.slo), None)
    tier = None
    if slo is not None and alert.tier is not None:
        tier = next((t for t in explain_slo(model, slo, project).tiers if t.name == alert.tier), None)
    kind = template_kind(alert, slo)
    return {
        "kind": kind,
        "model": model,
        "alert": {"name": alert.name, "expr": alert.expr,
                  "for": format_ms(alert.for_ms) if alert.for_ms is not None else None, "labels": alert.labels,
                  "summary": alert.annotations.get("summary", ""), "severity": alert.severity},
        "slo": slo,
        "period": human(slo.period_ms / 1000) if slo else "",
        "bad_events": _bad_events(slo),
        "tier": tier,
        "queries": _queries(model, alert, kind, slo, tier),
        "runbook_url": naming.runbook_url(project.runbook_base_url, model.name, alert.name),
        "dashboard_url": alert.annotations.get("dashboard_url")
        or naming.dashboard_url(project.grafana_base_url, model.name),
        "human": human,
    }


def render(model: m.Model, project: m.Project, alert: Alert) -> str:
    ctx = context(model, project, alert)
    names = [f"runbooks/{ctx['kind']}.md.j2", FALLBACK]
    try:
        return prose.render(prose.search_path(project.templates_dir, model.team), names, ctx)
    except prose.TemplateError as exc:
        raise ArtifactError(f"runbook {alert.name} of {model.name}: {exc}") from exc


def render_model(model: m.Model, project: m.Project, rules: RulePlan) -> list[Artifact]:
    """A runbook for every planned alert of the model, documenting it as the rule file writes it."""
    out: dict[str, Artifact] = {}
    for alert in rules.alerts():
        path = naming.runbook_file(model.name, alert.name)
        # One runbook per alert name: several rules may share a name (e.g. one per feature).
        out.setdefault(path, Artifact(path, render(model, project, alert), model.source, "text"))
    return [out[p] for p in sorted(out)]
