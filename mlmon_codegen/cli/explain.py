"""`mlmon explain SPEC`: each SLO's budget and alert tiers in plain words, a table, or JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import click

from mlmon_codegen.cli.load import load
from mlmon_codegen.core.text import human, percent
from mlmon_codegen.plan.explain import SLOMath, TierMath, explain_model, plural
from mlmon_codegen.plan.records import Alert, RulePlan
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m

COLUMNS = ("tier", "severity", "burn", "windows", "fires at", "budget burnt", "fire @100%", "fire @2x",
           "reset", "exhaustion")


def _requests(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:.3g}"


def _row(t: TierMath) -> tuple[str, ...]:
    double = human(t.time_to_fire_double_s) if t.time_to_fire_double_s is not None else "-"
    return (t.name, t.severity, f"{t.factor:.4g}x", f"{human(t.long_s)} / {human(t.short_s)}",
            percent(t.threshold),
            percent(t.budget_consumed), human(t.time_to_fire_full_s), double,
            human(t.reset_s), human(t.exhaustion_s))


LEGEND = (
    "Columns: burn: how many times faster than the period allows the budget burns; windows: long / short, both",
    "  must exceed `fires at`, the share of bad events; budget burnt: what is gone when it fires;",
    "  fire @100%: time to fire when every event is bad; fire @2x: at twice `fires at` (- above 100%);",
    "  reset: time to clear after 100% bad events end; exhaustion: the whole budget at this burn.",
)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _groups(s: SLOMath, model: m.Model) -> list[str]:
    """How a grouped SLO splits, and what a timeslice SLO's slice is."""
    lines = []
    if s.group_by:
        given = dict(model.group_values)
        counts = ", ".join(f"{label} ({n} values{'' if label in given else ' assumed'})"
                           for label, n in s.group_values.items())
        lines.append(f"  One SLO per group of {counts}: each group has its own budget and the tiers below, "
                     "with the same thresholds; an alert carries its group's labels.")
    if s.slice_s is not None and s.slice_objective is not None:
        lines.append(f"  Budgeted in {human(s.slice_s)} slices: a slice is bad when more than "
                     f"{percent(1 - s.slice_objective / 100)} of its events are bad.")
    elif s.slice_s is not None:
        lines.append(f"  Budgeted in {human(s.slice_s)} slices, each counting with its own error ratio "
                     "(a quiet slice weighs as much as a busy one).")
    return lines


def _what(s: SLOMath, model: m.Model) -> str:
    events = {"availability": "requests succeed", "latency": "requests are fast enough",
              "accuracy": "labelled predictions are right", "custom": "events are good"}[s.kind]
    slo = next(x for x in model.slos if x.name == s.name)
    if s.kind == "latency" and slo.threshold_s is not None:
        events = f"requests answer within {slo.threshold_s * 1000:g}ms"
    if s.slice_s is not None:
        return f"{s.objective:g}% of {human(s.slice_s)} slices are good ({events}) over {human(s.period_s)}"
    return f"{s.objective:g}% of {events} over {human(s.period_s)}"


# What an alert's description says where Alertmanager fills in the value or a label.
_TEMPLATE = re.compile(r"\{\{\s*(\$value|\$labels\.(\w+))[^}]*\}\}")


def _readable(text: str) -> str:
    return _TEMPLATE.sub(lambda mt: f"<{mt.group(2)}>" if mt.group(2) else "<value>", text)


def other_alerts(rules: RulePlan) -> list[Alert]:
    """Every generated alert that is not an SLO's burn-rate tier (those have the table)."""
    return [a for a in rules.alerts() if a.kind != "burn"]


def render_alerts(rules: RulePlan) -> list[str]:
    lines = ["", "Other alerts:"]
    for a in other_alerts(rules):
        wait = f", after {human(a.for_ms / 1000)}" if a.for_ms else ""
        lines.append(f"  {a.name} ({a.severity}{wait}): {_readable(a.annotations['description'])}")
    return lines


def render_text(model: m.Model, maths: list[SLOMath], rules: RulePlan | None = None) -> str:
    lines = [f"{model.name} (team {model.team})"]
    if not maths:
        lines.append("  no SLOs: only ModelDown watches this model")
    elif model.expected_rps is None:
        lines.append("  (set model.expected_rps to see budgets in requests and low-traffic warnings)")
    for s in maths:
        lines.append("")
        lines.append(f"SLO {s.name}: {_what(s, model)}")
        lines.extend(_groups(s, model))
        if s.slice_s is not None and s.budget_slices is not None:
            whole = "bad slices" if s.slice_objective is not None else "wholly bad slices' worth of error ratios"
            budget = (f"  Error budget: {percent(s.budget)} of its {human(s.slice_s)} slices, "
                      f"{s.budget_slices:g} {whole} in {human(s.period_s)} (each takes "
                      f"{percent(1 / s.budget_slices)} of it), the same as {human(s.budget_outage_s)} of bad slices")
        else:
            budget = (f"  Error budget: {percent(s.budget)} of events, the same as "
                      f"{human(s.budget_outage_s)} in which {s.all_bad}, out of {human(s.period_s)}")
        if s.budget_requests is not None:
            budget += f", or {_requests(s.budget_requests)} {s.bad_events} at the expected traffic"
        lines.append(budget + ".")
        if s.tiers:
            lines.append("")
            lines.extend(_table([COLUMNS, *(_row(t) for t in s.tiers)]))
            lines.append("")
        for t in s.tiers:
            who = "pages someone now" if t.severity == "critical" else "opens a ticket"
            text = (f"  {t.name} {who} when {s.bad_events} burn the budget {t.factor:.4g}x faster than the "
                    f"period allows, over both {human(t.long_s)} and {human(t.short_s)}. By then "
                    f"{percent(t.budget_consumed)} of the budget is gone; at this rate all of it would last "
                    f"{human(t.exhaustion_s)}. When {s.all_bad} it fires in {human(t.time_to_fire_full_s)}; "
                    f"it clears {human(t.reset_s)} after the fault ends")
            if t.bad_slices_to_fire is not None and s.slice_s is not None:
                long_n, short_n = t.bad_slices_to_fire
                text += (f"; it needs {plural(long_n, 'bad slice')} of the last {t.long_s / s.slice_s:g} "
                         f"({human(t.long_s)}) and {short_n} of the last {t.short_s / s.slice_s:g} "
                         f"({human(t.short_s)})")
            if t.failed_requests_to_page is not None:
                text += (f"; at the expected traffic {plural(t.failed_requests_to_page, 'failed request')} "
                         f"within {human(t.long_s)} fire it")
            lines.append(text + ".")
        for reason in s.skipped:
            lines.append(f"  not generated: {reason}")
        for w in [*s.warnings, *(w for t in s.tiers for w in t.warnings)]:
            lines.append(f"  warning: {w}")
    if any(s.tiers for s in maths):
        lines += ["", *LEGEND]
    if rules is not None:
        lines += render_alerts(rules)
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """JSON has no infinity: 'never fires' becomes null."""
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _alert_dict(a: Alert) -> dict[str, Any]:
    return {"name": a.name, "family": a.kind, "severity": a.severity, "slo": a.slo,
            "for_s": a.for_ms / 1000 if a.for_ms else None, "summary": a.annotations["summary"],
            "description": _readable(a.annotations["description"])}


def as_json(fleet: m.Fleet) -> dict[str, Any]:
    return {"models": [{"name": model.name, "team": model.team, "expected_rps": model.expected_rps,
                        "slos": [_finite(s.as_dict()) for s in explain_model(model, fleet.project)],
                        "alerts": [_alert_dict(a) for a in other_alerts(plan_rules(model, fleet.project))]}
                       for model in fleet.models]}


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json_", is_flag=True, help="print the numbers as JSON")
def explain(paths: tuple[str, ...], as_json_: bool) -> None:
    """Explain each SLO's error budget and alert tiers in words and numbers."""
    fleet = load(paths).fleet
    if as_json_:
        click.echo(json.dumps(as_json(fleet), indent=2, sort_keys=True))
        return
    click.echo("\n\n".join(render_text(model, explain_model(model, fleet.project), plan_rules(model, fleet.project))
                           for model in fleet.models))
