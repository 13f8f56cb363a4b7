"""The `mlmon` command. Exit codes (core/errors.py): 0 ok; 1 a check failed, output stale or drift
found; 2 invalid input or usage; 3 an internal error (a bug: please report it)."""

from __future__ import annotations

import json
import os
import shlex
import sys
import traceback
from pathlib import Path

import click

from mlmon_codegen.build import cache as spec_cache
from mlmon_codegen.build import generate as gen
from mlmon_codegen.build import manifest
from mlmon_codegen.check import promtool
from mlmon_codegen.cli import explain, imports, init
from mlmon_codegen.cli import ml as ml_commands
from mlmon_codegen.cli import output as ci
from mlmon_codegen.cli.load import exit_strict, fail, load, strict_option, with_project
from mlmon_codegen.cli.preview import preview_command
from mlmon_codegen.cli.stats import stats_command
from mlmon_codegen.cli.up import up as up_command
from mlmon_codegen.cli.verify import verify as verify_command
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from mlmon_codegen.emit.write import WriteError, diff, replace_file


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlmon")
def cli() -> None:
    """mlmon: monitoring as code for machine-learning model services."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=ci.FORMATS, default="text", help="json: a report for machines")
@strict_option
def validate(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Validate spec files or folders; print every error found."""
    if fmt == "json":
        report, code = ci.validate_report(paths, strict)
        ci.emit_json(report)
        sys.exit(code)
    result = load(paths, strict=strict)
    n = len(result.fleet.models)
    click.echo(f"ok: {n} model{'s' if n != 1 else ''} valid")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--out", "out", required=True, type=click.Path(), help="output folder")
@click.option("--check", "check_only", is_flag=True, help="write nothing; exit 1 if OUT is not up to date")
@click.option("--target", "targets", multiple=True, type=click.Choice(sorted(gen.OPTIONAL_TARGETS) or ["none"]),
              help="also write an optional target")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="worker processes for large fleets [default: one per CPU]; output is the same for any N")
@click.option("--diff", "show_diff", is_flag=True, help="with --check: print what would change, as unified diffs")
@strict_option
def generate(paths: tuple[str, ...], out: str, check_only: bool, targets: tuple[str, ...], jobs: int | None,
             show_diff: bool, strict: bool) -> None:
    """Write every artifact for the specs into OUT.

    Only models whose inputs changed since the last run are rendered again (OUT's manifest says
    which inputs gave which files); the output is the same as rendering everything."""
    if show_diff and not check_only:
        raise click.UsageError("--diff goes with --check")
    requested = tuple(t for t in targets if t != "none")
    out_path = Path(out)
    if check_only:
        _check(paths, out, requested, jobs, show_diff, strict)
        return
    result = load(paths, strict=strict, cache=spec_cache.cache_file(out_path))
    # The project file's `targets:` and every --target: a --target adds one, it never removes one.
    selected = tuple(sorted({*result.fleet.project.targets, *requested}))
    inputs = manifest.input_hashes(with_project(paths), result.fleet.project.templates_dir)
    try:
        with ci.progress(f"rendering into {out} the models whose specs changed ..."):
            r = gen.write_incremental(result.fleet, out_path, selected, inputs, jobs)
    except WriteError as exc:
        fail([exc])
    if r.note:
        click.echo(r.note, err=True)
    for p in r.kept:
        click.echo(f"kept {out_path / p}: not written by mlmon", err=True)
    if r.added or r.changed or r.removed:
        click.echo(f"wrote {len(r.written)} files ({r.added} added, {r.changed} changed, {r.removed} removed, "
                   f"{r.unchanged} unchanged) to {out}")
    else:  # "wrote N files" would read as if something changed
        click.echo(f"{out} is up to date: nothing to write ({r.unchanged} files unchanged)")


def _check(paths: tuple[str, ...], out: str, requested: tuple[str, ...], jobs: int | None, show_diff: bool,
           strict: bool) -> None:
    """`generate --check`: from the manifest alone when it shows nothing changed (no spec parsed, no
    output read), else by rendering everything and comparing. --strict needs the specs' warnings,
    so it always loads them."""
    out_path = Path(out)
    if not strict:
        fresh, n, others = manifest.up_to_date(out_path, with_project(paths), requested)
        if fresh:
            for p in others:
                click.echo(f"kept {out_path / p}: not mlmon's", err=True)
            click.echo(f"ok: {out} is up to date ({n} files)")
            return
    result = load(paths, strict=strict)
    selected = tuple(sorted({*result.fleet.project.targets, *requested}))
    try:
        with ci.progress(f"rendering {len(result.fleet.models)} models ..."):
            files = gen.files(result.fleet, selected, jobs)
    except WriteError as exc:
        fail([exc])
    d = diff(out_path, files)
    for p in d.kept:  # generate keeps these too: they are the user's, not stale output
        click.echo(f"kept {out_path / p}: not mlmon's", err=True)
    if d.clean:
        click.echo(f"ok: {out} is up to date ({len(files)} files)")
        return
    for label, paths_ in (("stale", d.stale), ("missing", d.missing), ("extra", d.extra)):
        for p in paths_:
            click.echo(f"{label}: {out_path / p}")
    if show_diff:
        click.echo("".join(ci.unified_diff(out_path, d, files, ci.DIFF_LINES)), nl=False)
    fix = shlex.join(["mlmon", "generate", *paths, "-o", out, *(a for t in selected for a in ("--target", t))])
    click.echo(f"{out} is out of date: run `{fix}`", err=True)
    sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=ci.FORMATS, default="text", help="json: a report for machines")
@click.option("--changed", "base", metavar="BASE",
              help="check only the models that differ from BASE: a git ref (main, origin/main, HEAD~1) or a "
                   "generated tree's folder; everything when the project file or templates changed")
@strict_option
def check(out: str, fmt: str, strict: bool, base: str | None) -> None:
    """Run promtool and amtool over a generated tree."""
    from mlmon_codegen.check import changed, tree

    only = None
    if base is not None:
        try:
            selection = changed.select(Path(out), base)
        except changed.BaseUnreadable as exc:
            fail([f"--changed {base}: {exc}"])
        only = selection.paths
        click.echo(f"--changed {base} {selection.note}", err=fmt == "json")
    tty = sys.stderr.isatty()

    def started(step: str) -> None:
        # Steps run side by side, so each gets its own line rather than one line rewritten;
        # only on a terminal, so piped and tested output stays the same from run to run.
        click.echo(click.style(f"... {step}", dim=True), err=True)

    try:
        runs = tree.check_tree(Path(out), **({"on_start": started} if tty else {}),
                               **({"only": only} if only is not None else {}))
    except promtool.ToolMissing as exc:
        fail([exc])
    engines = tree.engine_versions()
    warned = sum(r.warning for r in runs) if strict else 0
    if fmt == "json":
        ci.emit_json(ci.check_report(out, runs, engines))
        sys.exit(EXIT_OK if runs and all(r.ok for r in runs) and not warned else EXIT_FAILED)
    failed = False
    if runs:
        click.echo(f"engines: {tree.versions_line(engines)}")
    for r in runs:
        took = f" [{r.seconds:.1f}s]" if r.seconds is not None else ""
        click.echo(f"{ci.mark(r.ok)} {' '.join(r.command[:3])} {r.note}".rstrip() + took)
        if not r.ok:
            failed = True
            click.echo(r.output, err=True)
    if not runs:
        fail([f"{out}: nothing to check (no prometheus/ or tests/ folder)"])
    if warned and not failed:
        exit_strict(warned)
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


def _schemas() -> dict[str, str]:
    """File name → JSON Schema text, for each kind of file mlmon reads (the specs' `$schema` names these)."""
    from mlmon_codegen.spec import ml, v1

    models = {"ModelMonitor": v1.KINDS["ModelMonitor"], "Project": v1.KINDS["Project"], "Baseline": ml.Baseline}
    return {f"{kind.lower()}.schema.json": json.dumps(cls.model_json_schema(by_alias=True), indent=2, sort_keys=True)
            for kind, cls in models.items()}


@cli.command()
@click.option("--kind", type=click.Choice(["ModelMonitor", "Project", "Baseline"]), default="ModelMonitor")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False),
              help="write every kind's schema into this folder instead (modelmonitor, project, baseline)")
def schema(kind: str, out: str | None) -> None:
    """Print the JSON Schema of a spec kind, for editors (yaml-language-server), or write them all."""
    schemas = _schemas()
    if out is None:
        click.echo(schemas[f"{kind.lower()}.schema.json"])
        return
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in schemas.items():
        replace_file(folder / name, (text + "\n").encode())
    click.echo(f"wrote {len(schemas)} schemas to {out}")


cli.add_command(preview_command)  # `mlmon preview`: dashboards drawn with live data (mlmon_codegen/preview/)
cli.add_command(explain.explain)
cli.add_command(init.init)
cli.add_command(imports.import_group)
ml_commands.register(cli)  # `mlmon baseline`, `mlmon drift`
cli.add_command(stats_command)  # `mlmon stats`: series per model before writing
cli.add_command(verify_command)  # `mlmon verify`: the specs' selectors against a live exposition
cli.add_command(up_command)  # `mlmon up`: the generated tree running on 127.0.0.1 (mlmon_codegen/stack/)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug, not bad input: say so without a wall of traceback
        if os.environ.get("MLMON_DEBUG"):
            traceback.print_exc()
        click.echo(f"mlmon: internal error: {type(exc).__name__}: {exc} "
                   "(set MLMON_DEBUG=1 for the traceback and please report it)", err=True)
        sys.exit(EXIT_INTERNAL)
