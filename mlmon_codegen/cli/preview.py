"""`mlmon preview OUT -o DIR`: OUT's dashboards drawn with live data (mlmon_codegen/preview/)."""

from __future__ import annotations

import html
import sys
import time
from pathlib import Path

import click

from mlmon_codegen.cli.load import fail
from mlmon_codegen.core import durations, naming
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_OK
from mlmon_codegen.emit.write import Artifact, WriteError, render_files, write_tree
from mlmon_codegen.preview.render import (
    PreviewError,
    http_fetch,
    listed_models,
    load_dashboards,
    render_page,
    templated,
)
from mlmon_codegen.spec import v1


@click.command("preview")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--prometheus", "prometheus_url", default="http://127.0.0.1:9090", show_default=True,
              help="base URL of the Prometheus to query")
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="folder for the HTML pages")
@click.option("--range", "range_", default="1h", show_default=True, help="time range drawn, e.g. 15m, 6h")
@click.option("--rate-interval", default="1m", show_default=True, help="what $__rate_interval becomes")
@click.option("--require-data", is_flag=True, help="exit 1 when any panel returned no data")
@click.option("--model", "models", multiple=True,
              help="the shared model dashboard's model (repeatable; default: every model Prometheus has rules of)")
def preview_command(out: str, prometheus_url: str, output: str, range_: str, rate_interval: str,
                    require_data: bool, models: tuple[str, ...]) -> None:
    """Draw OUT's Grafana dashboards with live data into static HTML pages (one per dashboard)."""
    bad = [x for x in models if not v1.NAME_RE.match(x)]
    if bad:
        raise click.UsageError(f"--model {bad[0]!r}: not a model name ([a-z0-9][a-z0-9_-]*)")
    try:
        range_ms = durations.parse(range_)
        durations.parse(rate_interval)
    except durations.DurationError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        dashboards = load_dashboards(Path(out))
        fetch = http_fetch(prometheus_url)
        end = time.time()
        pages, titles = {}, {}
        for name, d in dashboards.items():
            if not templated(d):
                pages[name], titles[name] = render_page(d, fetch, range_ms, end, rate_interval), d.get("title")
                continue
            # One page per model, named after it as a per-model dashboard's page: the fleet page links there.
            for model in models or listed_models(fetch):
                pages[model] = render_page(d, fetch, range_ms, end, rate_interval, {naming.MODEL_VAR: model})
                titles[model] = f"{d.get('title')} ({model})"
    except PreviewError as exc:
        fail([exc], EXIT_FAILED)
    index = "".join(f'<li><a href="{html.escape(n)}.html">{html.escape(str(titles[n]))}</a> '
                    f"({p.with_data}/{p.panels} panels with data)</li>" for n, p in pages.items())
    artifacts = [Artifact(f"{n}.html", p.html, out, "text") for n, p in pages.items()]
    artifacts.append(Artifact("index.html", f"<!doctype html><meta charset=utf-8><ul>{index}</ul>\n", out, "text"))
    try:
        write_tree(Path(output), render_files(artifacts))
    except WriteError as exc:
        fail([exc])
    missing = 0
    for name, p in pages.items():
        click.echo(f"{output}/{name}.html: {p.with_data}/{p.panels} panels with data")
        for title in p.empty:
            click.echo(f"  no data: {title}")
            missing += 1
    sys.exit(EXIT_FAILED if require_data and missing else EXIT_OK)
