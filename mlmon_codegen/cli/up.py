"""`mlmon up`: the generated tree running on this machine, to watch it work.

Prometheus, Alertmanager, one example iris service per model with static scrape targets, steady
traffic and a webhook recorder, all on 127.0.0.1. Ctrl-C (or `--for` running out) stops it all.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click

from mlmon_codegen.build import generate as gen
from mlmon_codegen.cli.load import fail, load
from mlmon_codegen.core import durations, naming
from mlmon_codegen.emit.write import WriteError, diff
from mlmon_codegen.stack.configs import PROMETHEUS_CONFIG
from mlmon_codegen.stack.harness import Stack, StackError


def _interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack as Ctrl-C does


@click.command()
@click.argument("out", default="out", type=click.Path(file_okay=False))
@click.option("--specs", "spec_paths", multiple=True, default=("specs",), show_default=True, type=click.Path(),
              help="the specs OUT was generated from (which models get a local service)")
@click.option("--rps", default=10.0, show_default=True, type=click.FloatRange(0, 500),
              help="steady predictions per second per service (0: none)")
@click.option("--labels", "label_share", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="share of predictions labelled through /feedback")
@click.option("--for", "run_for", default="1h", show_default=True, help="stop by itself after this long")
def up(out: str, spec_paths: tuple[str, ...], rps: float, label_share: float, run_for: str) -> None:
    """Run OUT locally: Prometheus, Alertmanager, the example service and a webhook recorder."""
    out_path = Path(out)
    if not (out_path / PROMETHEUS_CONFIG).is_file():
        fail([f"{out_path / PROMETHEUS_CONFIG}: not found: run `mlmon generate {' '.join(spec_paths)} -o {out}`"])
    try:
        seconds = durations.parse(run_for) / 1000
    except ValueError as exc:
        fail([f"--for: {exc}"])
    fleet = load(spec_paths).fleet
    try:
        d = diff(out_path, gen.files(fleet))
    except WriteError as exc:
        fail([exc])
    if d.stale or d.missing:  # extra files are other targets' (out/ holds kubernetes/ and more)
        click.echo(f"warning: {out} is not what {', '.join(spec_paths)} generate: run `mlmon generate`", err=True)
    services = {naming.job(x.name): Path(x.source) for x in fleet.models if x.scrape.kubernetes is None}
    rule_files = {naming.job(x.name): naming.from_prometheus_config(naming.rules_file(x.name)) for x in fleet.models}
    stack = Stack(out_path, services, max_seconds=seconds, log=click.echo, traffic_rps=rps, label_share=label_share,
                  invalid_at_start=3,  # so the error panels have series from the start
                  rule_files=rule_files)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        click.echo(f"starting {len(services)} service(s), Alertmanager and Prometheus ...")
        stack.start()
        for name, url in stack.urls().items():
            click.echo(f"  {name:<24} {url}")
        for job in stack.dropped_jobs:
            click.echo(f"  left out: job {job} needs Kubernetes discovery, so neither it nor its rules run here")
        click.echo(f"  work folder              {stack.workdir}")
        click.echo('inject faults: POST {"error_rate": 0.5} (or latency_ms, feature_shift) to <service>/admin/faults')
        click.echo(f"running for at most {run_for}; Ctrl-C stops everything")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and stack.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping ...")
    except StackError as exc:
        stack.stop()
        fail([f"mlmon up: {exc}"])
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)
    click.echo("stopped")
