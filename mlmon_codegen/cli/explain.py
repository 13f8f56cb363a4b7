"""`mlmon explain SPEC`: each SLO's budget and alert tiers in plain words, a table, or JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from mlmon_codegen.cli.load import load
from mlmon_codegen.core.text import human, percent
from mlmon_codegen.plan.explain import SLOMath, TierMath, explain_model, plural
from mlmon_codegen.spec import model as m

COLUMNS = ("tier", "severity", "burn", "windows", "fires at", "budget burnt", "fire @100%", "fire @2x",
           "reset", "exhaustion")


def _requests(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:.3g}"


def _row(t: TierMath) -> tuple[str, ...]:
    return (t.name, t.severity, f"{t.factor:.3g}x", f"{human(t.long_s)} / {human(t.short_s)}",
            percent(t.threshold),
            f"{t.budget_consumed:.0%}", human(t.time_to_fire_full_s), human(t.time_to_fire_double_s),
            human(t.reset_s), human(t.exhaustion_s))


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _what(s: SLOMath, model: m.Model) -> str:
    events = {"availability": "requests succeed", "latency": "requests are fast enough",
              "accuracy": "labelled predictions are right", "custom": "events are good"}[s.kind]
    slo = next(x for x in model.slos if x.name == s.name)
    if s.kind == "latency" and slo.threshold_s is not None:
        events = f"requests answer within {slo.threshold_s * 1000:g}ms"
    return f"{s.objective:g}% of {events} over {human(s.period_s)}"


def render_text(model: m.Model, maths: list[SLOMath]) -> str:
    lines = [f"{model.name} (team {model.team})"]
    if not maths:
        lines.append("  no SLOs: only ModelDown watches this model")
    elif model.expected_rps is None:
        lines.append("  (set model.expected_rps to see budgets in requests and low-traffic warnings)")
    for s in maths:
        lines.append("")
        lines.append(f"SLO {s.name}: {_what(s, model)}")
        budget = (f"  Error budget: {percent(s.budget)} of events, the same as "
                  f"{human(s.budget_outage_s)} of full outage in {human(s.period_s)}")
        if s.budget_requests is not None:
            budget += f", or {_requests(s.budget_requests)} failed requests at the expected traffic"
        lines.append(budget + ".")
        if s.tiers:
            lines.append("")
            lines.extend(_table([COLUMNS, *(_row(t) for t in s.tiers)]))
            lines.append("")
        for t in s.tiers:
            who = "pages someone now" if t.severity == "critical" else "opens a ticket"
            text = (f"  {t.name} {who} when errors burn the budget {t.factor:.3g}x faster than the period "
                    f"allows, over both {human(t.long_s)} and {human(t.short_s)}. By then "
                    f"{t.budget_consumed:.0%} of the budget is gone; at this rate all of it would last "
                    f"{human(t.exhaustion_s)}. A full outage fires it in {human(t.time_to_fire_full_s)}; "
                    f"it clears {human(t.reset_s)} after the fault ends")
            if t.failed_requests_to_page is not None:
                text += (f"; at the expected traffic {plural(t.failed_requests_to_page, 'failed request')} "
                         f"within {human(t.long_s)} fire it")
            lines.append(text + ".")
        for reason in s.skipped:
            lines.append(f"  not generated: {reason}")
        for w in [*s.warnings, *(w for t in s.tiers for w in t.warnings)]:
            lines.append(f"  warning: {w}")
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


def as_json(fleet: m.Fleet) -> dict[str, Any]:
    return {"models": [{"name": model.name, "team": model.team, "expected_rps": model.expected_rps,
                        "slos": [_finite(s.as_dict()) for s in explain_model(model, fleet.project)]}
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
    click.echo("\n\n".join(render_text(model, explain_model(model, fleet.project)) for model in fleet.models))
