"""`mlmon up`: the generated tree running on this machine, to watch it work.

Prometheus, Alertmanager, one example iris service per model with static scrape targets, steady
traffic and a webhook recorder, all on 127.0.0.1. Ctrl-C (or `--for` running out) stops it all.
`--service MODEL=URL` scrapes a service the user already runs for that model instead (its URL's
address and metrics path; the model's rules kept): the only way a model whose spec has no scrape
section (an existing job collects it) runs here.
"""

from __future__ import annotations

import difflib
import signal
import time
import urllib.parse
from pathlib import Path
from types import FrameType

import click

from mlmon_codegen.build import generate as gen
from mlmon_codegen.cli.load import fail, load
from mlmon_codegen.core import durations, naming
from mlmon_codegen.emit.write import WriteError, diff
from mlmon_codegen.runtime.metrics import unservable
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.configs import PROMETHEUS_CONFIG, Target
from mlmon_codegen.stack.harness import Stack, StackError


def _target(value: str) -> tuple[str, Target] | str:
    """`--service`'s value, MODEL=URL: the model's name and where to scrape, or what is wrong."""
    name, sep, url = value.partition("=")
    if not sep or not name.strip() or not url.strip():
        return f"--service {value!r}: expected MODEL=URL, e.g. iris=http://127.0.0.1:8000/metrics"
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return f"--service {value!r}: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--service {value!r}: the URL must be http:// or https:// with a host, e.g. http://127.0.0.1:8000/metrics"
    if parts.username is not None or parts.password is not None:
        return f"--service {value!r}: credentials in the URL are not supported here: expose /metrics without them"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    params = tuple(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return name.strip(), Target((f"{host}:{port}",), parts.path or "/metrics", parts.scheme, params)


def _local_job(model: m.Model) -> str:
    """The job that scrapes the model here: mlmon's own, or the existing one's name its rules read."""
    return naming.job(model.name) if model.scrape.own_job else model.scrape.job or naming.job(model.name)


def _external(given: tuple[str, ...], models: tuple[m.Model, ...]) -> tuple[set[str], dict[str, Target]]:
    """--service values → the models named and job → Target; exit 2 on any that is not MODEL=URL
    of a known model."""
    names = [x.name for x in models]
    problems: list[str] = []
    out: dict[str, Target] = {}
    for value in given:
        parsed = _target(value)
        if isinstance(parsed, str):
            problems.append(parsed)
            continue
        name, target = parsed
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            problems.append(f"--service {value!r}: no model {name!r} in the specs"
                            + (f": did you mean {close[0]!r}?" if close else f" (models: {', '.join(names)})"))
        elif name in out:
            problems.append(f"--service {value!r}: model {name!r} is given twice")
        else:
            out[name] = target
    by_job: dict[str, Target] = {}
    for x in models:
        if x.name not in out:
            continue
        job, target = _local_job(x), out[x.name]
        other = by_job.get(job)
        if other is None:
            by_job[job] = target
        elif (other.metrics_path, other.scheme, other.params) != (target.metrics_path, target.scheme, target.params):
            problems.append(f"--service {x.name}: its job {job!r} is another model's too, so both URLs need the "
                            "same scheme, path and query")
        else:
            by_job[job] = Target((*other.addresses, *target.addresses), target.metrics_path, target.scheme,
                                 target.params)
    if problems:
        fail(problems)
    return set(out), by_job


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
@click.option("--service", "service_args", multiple=True, metavar="MODEL=URL",
              help="scrape your own running service for MODEL at URL (e.g. http://127.0.0.1:8000/metrics) "
                   "instead of starting the example service; repeatable")
def up(out: str, spec_paths: tuple[str, ...], rps: float, label_share: float, run_for: str,
       service_args: tuple[str, ...]) -> None:
    """Run OUT locally: Prometheus, Alertmanager, the example service (or yours) and a webhook recorder."""
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
    named, external = _external(service_args, fleet.models)
    # The example service speaks mlmon's own metric contract; a spec of another instrumentation needs its own.
    foreign = {x.name: reason for x in fleet.models
               if x.name not in named and x.scrape.own_job and (reason := unservable(x)) is not None}
    services = {naming.job(x.name): Path(x.source) for x in fleet.models
                if x.name not in named and x.name not in foreign and x.scrape.own_job and x.scrape.kubernetes is None}
    rule_files: dict[str, list[str]] = {}
    for x in fleet.models:  # a model that does not run here keys its rules to a job that never runs
        runs = (x.scrape.own_job and x.name not in foreign) or x.name in named
        key = _local_job(x) if runs else f"(model {x.name})"
        rule_files.setdefault(key, []).append(naming.from_prometheus_config(naming.rules_file(x.name)))
    unscraped = [x.name for x in fleet.models if not x.scrape.own_job and x.name not in named]
    stack = Stack(out_path, services, max_seconds=seconds, log=click.echo, traffic_rps=rps, label_share=label_share,
                  invalid_at_start=3,  # so the error panels have series from the start
                  rule_files=rule_files, external=external)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        click.echo(f"starting {len(services)} service(s), Alertmanager and Prometheus"
                   + (f"; scraping {len(named)} of yours" if named else "") + " ...")
        stack.start()
        for name, url in stack.urls().items():
            click.echo(f"  {name:<24} {url}")
        for job in [j for j in stack.dropped_jobs if j not in {naming.job(n) for n in foreign}]:
            click.echo(f"  left out: job {job} needs Kubernetes discovery, so neither it nor its rules run here "
                       "(or give --service MODEL=URL)")
        for name, reason in foreign.items():
            click.echo(f"  left out: {reason}, which the example service does not speak, so its rules do not run "
                       f"here: give --service {name}=URL to scrape your service")
        for name in unscraped:
            click.echo(f"  left out: model {name} has no scrape section (an existing job collects it), so its "
                       f"rules do not run here: give --service {name}=URL to scrape your service")
        click.echo(f"  work folder              {stack.workdir}")
        if services:
            click.echo('inject faults: POST {"error_rate": 0.5} (or latency_ms, feature_shift) to '
                       '<service>/admin/faults')
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
