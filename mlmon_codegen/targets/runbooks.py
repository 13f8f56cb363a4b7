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
from mlmon_codegen.core.text import human, percent
from mlmon_codegen.emit.artifact import Artifact, ArtifactError
from mlmon_codegen.plan import alert_text, drift, queries, signals
from mlmon_codegen.plan.explain import TierMath, explain_slo
from mlmon_codegen.plan.records import Alert, RulePlan
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import prose

DRIFT_VERDICTS = ("feature_drift", "feature_drift_severe", "dataset_drift")  # their runbooks show the bins
FALLBACK = f"runbooks/{alert_text.FALLBACK_KIND}.md.j2"
LATENCY_TITLES = {"latency": "latency", "first_token_latency": "time to first token",
                  "inter_token_latency": "inter-token latency"}
BAD_EVENTS = {"availability": "failed requests", "latency": "slow requests",
              "accuracy": "wrong predictions among the labelled ones", "custom": "bad events"}


LAYOUT = "runbooks/_layout.md.j2"


def template_names() -> list[str]:
    """Every runbook template mlmon renders or extends."""
    kinds = {*alert_text.SLO_ALERT_KINDS.values(), *alert_text.FAMILY_TEMPLATES.values()}
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
            except jinja2.TemplateNotFound as exc:  # `{% extends "_layout.md.j2" %}`: names are from the root
                line = next((i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                             if exc.name in text), 0)
                close = difflib.get_close_matches(exc.name, names, n=1)
                problems.append(Problem(
                    str(path), line, 1 if line else 0, "", f"no template {exc.name!r} in {root} or mlmon's",
                    f"did you mean {close[0]!r}?" if close else f"runbook templates: {', '.join(names)}"))
                continue
            for block, line in sorted(own.items()):
                if line and block not in known:
                    close = difflib.get_close_matches(block, known, n=1)
                    problems.append(Problem(
                        str(path), line, 1, "", f"block {block!r} is not one of {LAYOUT}'s, so it would never show",
                        f"did you mean {close[0]!r}?" if close else f"blocks: {', '.join(sorted(known))}"))
    return problems


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
                    "query": queries.budget_left(q.selector(naming.SLO_PERIOD_ERROR_RATIO, labels),
                                                 q.selector(naming.SLO_OBJECTIVE, labels))})
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
    elif kind == "drift":
        if alert.kind in DRIFT_VERDICTS and model.ml is not None:
            w = model.ml.drift.window_ms
            out.append({"title": f"Each bin's share over {format_ms(w)} minus its share in training, by feature and "
                                 "bin (above 0: more values there than in training)",
                        "query": drift.bin_share_change(model, w)})
            tests = [f.drift_test for f in signals.binned(model) if f.drift_test != "psi"]
            if tests:
                out.append({"title": "Each feature's test statistic over its critical value (above 1: significant)",
                            "query": drift.significance_ratio(model, w, tests)})
        if signals.missing(model):
            out.append({"title": "Missing feature values per second, by feature", "query": q.agg(
                "sum", queries.model_rate(model, "feature_missing", hour), by=(met.feature_label,))})
    elif kind == "skew" and signals.predicts(model):
        out.append({"title": "Predictions per second by class", "query": queries.predictions_per_class(model, hour)})
    return out


def _bad_events(slo: m.SLO | None) -> str:
    if slo is None:
        return ""
    events = _events(slo)
    ts = slo.timeslice
    if ts is None:
        return events
    size = human(ts.window_ms / 1000)
    if ts.objective is None:
        return f"{events}, averaged over {size} slices"
    return f"{size} slices with more than {percent(1 - ts.objective / 100)} {events}"


def _events(slo: m.SLO) -> str:
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
    kind = alert_text.template_of(alert.kind, slo)
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
        "runbook_url": alert_text.runbook_url(project, model, alert.name),
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
    """A runbook for every planned alert of the model, documenting it as the rule file writes it
    (`runbooks: per_model`; the shared ones are the fleet's, shared_artifacts)."""
    if project.shared_runbooks:
        return []
    out: dict[str, Artifact] = {}
    for alert in rules.alerts():
        path = naming.runbook_file(model.name, alert.name)
        # One runbook per alert name: several rules may share a name (e.g. one per feature).
        out.setdefault(path, Artifact(path, render(model, project, alert), model.source, "text"))
    return [out[p] for p in sorted(out)]


# ---------------------------------------------------------------- runbooks: shared
# One runbook per kind for every model: the same templates, filled with where each value is
# found instead of the value. The model's own numbers are in the alert (its labels, `summary`
# and `description`, which state the tier's threshold, windows and budget) and `mlmon explain`.
SHARED_TITLES = {
    "errors": "An availability SLO burns its error budget", "latency": "A latency SLO burns its error budget",
    "accuracy": "Accuracy: an accuracy SLO burns its budget, or no labels arrive", "slo": "A custom SLO burns its "
    "error budget", "no-data": "An SLI has no data", "model-down": "ModelDown", "drift": "Input drift or data "
    "quality", "skew": "Prediction skew or low confidence", "quality": "Expected accuracy or calibration",
    "regression": "Regression error", "retrain": "A retraining trigger", "alert": "An mlmon alert",
}
SLO_KIND_OF = {v: k for k, v in alert_text.SLO_ALERT_KINDS.items()}
MODEL = "MODEL"  # in the shared queries: the alert's `model` label goes here
SLO_NAME = "SLO"


def _label(name: str) -> str:
    return f"the alert's `{name}` label"


def _annotation(name: str) -> str:
    return f"see the alert's `{name}` annotation"


def shared_queries(kind: str) -> list[dict[str, str]]:
    """What to paste into Prometheus, over recorded series (named alike for every model)."""
    labels = {naming.MODEL_LABEL: MODEL}
    note = f"put the alert's `model` (and `slo`) label in place of {MODEL} (and {SLO_NAME})"
    out = [{"title": f"The model's firing alerts ({note})",
            "query": q.selector("ALERTS", {**labels, "alertstate": "firing"})}]
    if kind in SLO_KIND_OF or kind == "no-data":
        slo = {**labels, naming.SLO_LABEL: SLO_NAME}
        out.append({"title": "Error ratio per window", "query": q.selector(
            "", [q.prefixed("__name__", naming.SLO_ERROR_RATIO_WINDOWS), *((k, "=", v) for k, v in slo.items())])})
        out.append({"title": "Error budget left over the period", "query": queries.budget_left(
            q.selector(naming.SLO_PERIOD_ERROR_RATIO, slo), q.selector(naming.SLO_OBJECTIVE, slo))})
    elif kind == "model-down":
        out.append({"title": "Scrape targets up of the model's job",
                    "query": queries.job_targets_up((naming.MODEL_LABEL, "=", MODEL))})
    elif kind in ("drift", "skew", "quality", "regression", "retrain"):
        out.append({"title": "The model's thresholds", "query": q.selector(naming.ML_THRESHOLD, labels)})
    return out


def shared_context(kind: str, project: m.Project) -> dict[str, Any]:
    slo_kind = SLO_KIND_OF.get(kind, "")
    slo = None
    if slo_kind or kind == "no-data":
        slo = {"name": _label(naming.SLO_LABEL), "kind": slo_kind, "description": _annotation("slo_description"),
               "threshold_s": "the SLO's `threshold` in the spec", "objective": 0, "budget": 0}
    return {
        "kind": kind,
        "model": {"name": _label(naming.MODEL_LABEL), "team": _label(naming.TEAM_LABEL),
                  "source": "the model's spec", "expected_rps": None,
                  "metrics": {"model_label": "model label (`metrics.model_label`)",
                              "ground_truth": "ground-truth counter (`metrics.ground_truth`)"}},
        "alert": {"name": SHARED_TITLES.get(kind, SHARED_TITLES[alert_text.FALLBACK_KIND]), "expr": "",
                  "for": None, "labels": {}, "summary": _annotation("summary") + " (and `description`: the "
                  "model's numbers; `mlmon explain SPEC` prints them all)", "severity": _label(naming.SEVERITY_LABEL)},
        "slo": slo,
        "period": "the SLO's period",
        "bad_events": "bad events",
        "tier": None,
        "queries": shared_queries(kind),
        "runbook_url": naming.shared_runbook_url(project.runbook_base_url, kind),
        "dashboard_url": f"{project.grafana_base_url}/d/{naming.MODEL_DASHBOARD_UID}",
        "human": human,
    }


def shared_kinds() -> list[str]:
    """Every kind a runbook is written for: each template's (an alert of any kind may come)."""
    return sorted(name.removeprefix("runbooks/").removesuffix(".md.j2") for name in template_names()
                  if name != LAYOUT)


def shared_artifacts(fleet: m.Fleet) -> list[Artifact]:
    """`runbooks: shared`: a runbook per kind, and per kind for each team with its own templates."""
    project = fleet.project
    if not (project.shared_runbooks and fleet.models):
        return []
    teams = sorted({t for t in (project.runbook_team(x.team) for x in fleet.models) if t}, key=str)
    out = []
    for team in (None, *teams):
        for kind in shared_kinds():
            try:
                text = prose.render(prose.search_path(project.templates_dir, team),
                                    [f"runbooks/{kind}.md.j2", FALLBACK], shared_context(kind, project))
            except prose.TemplateError as exc:
                raise ArtifactError(f"shared runbook {kind}{f' of team {team}' if team else ''}: {exc}") from exc
            out.append(Artifact(naming.shared_runbook_file(kind, team), text, fleet.sources, "text"))
    return out
