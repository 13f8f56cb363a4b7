"""`mlmon verify --metrics URL_OR_FILE PATH...`: can every selector mlmon generates find a series?

The specs are read as `generate` reads them (cli/load.py); the series come from a service's
/metrics (a URL or a saved file) or, with `--prometheus`, from what a Prometheus server stores.
Each need of each model (plan/needs.py) that finds no series is one located line naming the spec
field that asks for it, the selector, the reason and a hint. Exit 0: every selector can match;
1: some cannot; 2: bad specs or an exposition that cannot be read.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from mlmon_codegen.cli import output as ci
from mlmon_codegen.cli.load import fail, load
from mlmon_codegen.core import naming, promql
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_OK, Problem, SpecError
from mlmon_codegen.plan.needs import needs
from mlmon_codegen.spec import exposition as ex
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import Document, load_file

# Labels Prometheus adds when it scrapes: a service's own /metrics text never has them.
SCRAPE_LABELS = ("job", "instance")


def _documents(models: tuple[m.Model, ...]) -> dict[str, Document]:
    docs = {}
    for model in models:
        if model.source not in docs:
            doc, _ = load_file(Path(model.source))
            if doc is not None:
                docs[model.source] = doc
    return docs


def locate(model: m.Model, doc: Document | None, field: str) -> tuple[int, int]:
    """Where the field is written; its closest written parent; else the model's metadata.name."""
    if doc is not None:
        loc = tuple(field.split("."))
        for end in range(len(loc), 0, -1):
            hit = doc.locations.get(loc[:end])
            if hit:
                return hit
    return model.site.line, model.site.column


def shown_selector(need: ex.Need) -> str:
    if need.kind != "histogram":
        return promql.selector(need.metric, need.matchers)
    bounds = [("le", "=", promql.number(b)) for b in need.le[:1]]
    return promql.selector(naming.bucket(need.metric), [*need.matchers, *bounds])


def as_scraped(need: ex.Need, labels: set[str]) -> ex.Need:
    """The need as a service's own text can show it: without the job/instance matchers that only
    Prometheus adds, unless the text carries those labels itself."""
    kept = tuple(x for x in need.matchers if x[0] not in SCRAPE_LABELS or x[0] in labels)
    return need if kept == need.matchers else dataclasses.replace(need, matchers=kept)


def check(models: tuple[m.Model, ...], exposition: ex.Exposition,
          scraped: bool) -> tuple[int, list[tuple[m.Model, ex.Miss]]]:
    """How many needs were checked, and each miss with its model."""
    labels = {k for f in exposition.families for s in f.samples for k, _ in s.labels} if scraped else set()
    checked, misses = 0, []
    for model in models:
        for need in needs(model):
            checked += 1
            miss = ex.unmet(exposition, as_scraped(need, labels) if scraped else need)
            if miss is not None:
                misses.append((model, miss))
    return checked, misses


def problem(model: m.Model, doc: Document | None, miss: ex.Miss) -> Problem:
    need = miss.need
    line, column = locate(model, doc, need.field)
    message = f"{miss.reason} ({need.why} reads {shown_selector(need)})"
    return Problem(model.source, line, column, need.field, message, miss.hint)


def read_series(metrics: str | None, prometheus: str | None, models: tuple[m.Model, ...]) -> ex.Exposition:
    if metrics is not None:
        return ex.read(metrics)
    assert prometheus is not None
    names = sorted({name for model in models for need in needs(model) for name in ex.wanted_names(need)})
    return ex.from_prometheus(prometheus, names)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--metrics", "metrics", metavar="URL_OR_FILE",
              help="the service's /metrics: an http(s) URL or a saved exposition")
@click.option("--prometheus", "prometheus", metavar="URL",
              help="instead: a Prometheus server's base URL; the series it stored in the last hour")
@click.option("--format", "fmt", type=ci.FORMATS, default="text", help="json: a report for machines")
def verify(paths: tuple[str, ...], metrics: str | None, prometheus: str | None, fmt: str) -> None:
    """Check that every selector the specs' rules and dashboards read finds a series."""
    if (metrics is None) == (prometheus is None):
        fail(["give exactly one of --metrics URL_OR_FILE or --prometheus URL"])
    result = load(paths)
    models = result.fleet.models
    try:
        exposition = read_series(metrics, prometheus, models)
    except SpecError as exc:
        fail(exc.problems)
    checked, misses = check(models, exposition, scraped=metrics is not None)
    docs = _documents(models)
    problems = [problem(model, docs.get(model.source), miss) for model, miss in misses]
    if fmt == "json":
        report: dict[str, Any] = {
            "ok": not problems, "source": exposition.source, "models": [x.name for x in models],
            "checked": checked,
            "unmet": [{**ci.problem_dict(p), "model": model.name, "metric": miss.need.metric,
                       "selector": shown_selector(miss.need), "reason": miss.reason, "why": miss.need.why}
                      for p, (model, miss) in zip(problems, misses, strict=True)]}
        ci.emit_json(report)
        sys.exit(EXIT_FAILED if problems else EXIT_OK)
    for p in problems:
        click.echo(str(p))
    n = len(models)
    if problems:
        click.echo(f"{len(problems)} of {checked} selectors find no series in {exposition.source}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"ok: all {checked} selectors of {n} model{'s' if n != 1 else ''} can match {exposition.source}")
