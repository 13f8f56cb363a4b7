"""`mlmon stats PATH...`: series each model's recording rules will create, before writing anything."""

from __future__ import annotations

import json
import sys

import click

from mlmon_codegen.cli.load import load
from mlmon_codegen.core.errors import EXIT_FAILED
from mlmon_codegen.plan import grouping
from mlmon_codegen.plan import series as cardinality


def _part(record: str) -> str:
    """`mlmon_slo:error_ratio:rate5m` → `mlmon_slo:error_ratio`: windows of one quantity add up on one line."""
    return ":".join(record.split(":")[:2])


@click.command("stats")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def stats_command(paths: tuple[str, ...], as_json: bool) -> None:
    """Estimate the series each model's recording rules create (features x bins, classes, windows).

    Exits 1 when a model is over the project's budget.series_per_model. Specs over the budget are
    refused by `validate` and `generate`, so this command reads them without that check.
    """
    fleet = load(paths, check_budget=False).fleet
    budget = fleet.project.series_budget_per_model
    rows = []
    for model in fleet.models:
        est = cardinality.estimate(model, fleet.project)
        parts: dict[str, int] = {}
        for record, n in est.by_record:
            parts[_part(record)] = parts.get(_part(record), 0) + n
        rows.append({"model": model.name, "series": est.total, "slos": len(model.slos),
                     "features": len(model.features), "classes": len(model.classes),
                     "classes_assumed": est.assumed_classes, "groups_assumed": list(est.assumed_groups),
                     "over_budget": budget is not None and est.total > budget,
                     "by_rule": dict(sorted(parts.items(), key=lambda kv: (-kv[1], kv[0])))})
    total = sum(r["series"] for r in rows)
    over = [r["model"] for r in rows if r["over_budget"]]
    if as_json:
        click.echo(json.dumps({"budget_per_model": budget, "total_series": total, "models": rows}, indent=2))
    else:
        for r in rows:
            flag = "  OVER BUDGET" if r["over_budget"] else ""
            guess = f" (assuming {cardinality.UNLISTED_CLASSES} classes: none listed)" if r["classes_assumed"] else ""
            if r["groups_assumed"]:
                guess += (f" (assuming {grouping.UNLISTED_GROUP_VALUES} values of {', '.join(r['groups_assumed'])}: "
                          "set slo_defaults.group_values)")
            click.echo(f"{r['model']}: {r['series']} series from {r['slos']} SLOs, {r['features']} features, "
                       f"{r['classes']} classes{guess}{flag}")
            for name, n in r["by_rule"].items():
                click.echo(f"  {n:>7}  {name}")
        limit = f", budget {budget} per model" if budget is not None else ""
        click.echo(f"fleet: {total} recorded series over {len(rows)} models{limit}")
    if over:
        click.echo(f"mlmon: over the series budget: {', '.join(over)}", err=True)
        sys.exit(EXIT_FAILED)
