"""`mlmon import openslo FILE... [-o DIR]`: OpenSLO v1 SLOs as mlmon ModelMonitor specs."""

from __future__ import annotations

from pathlib import Path

import click

from mlmon_codegen.build.load import check_documents
from mlmon_codegen.cli.load import fail
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.emit.write import WriteError, create_files, dump_yaml
from mlmon_codegen.spec import openslo
from mlmon_codegen.spec.load import load_text


def header(sources: list[str], notes: list[str]) -> str:
    lines = [f"# Converted by `mlmon import openslo` from {', '.join(sources)}.",
             "# Review it: scrape.targets and metadata.team are placeholders unless given on the command line."]
    lines += [f"# Note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def specs_text(files: tuple[str, ...], team: str, targets: list[str]) -> dict[str, str]:
    """Service name → spec text, validated as mlmon specs before anything is written."""
    docs, problems = [], []
    for f in files:
        try:
            raw = Path(f).read_bytes()
        except OSError as exc:
            problems.append(Problem(f, 0, 0, "", f"cannot read: {exc.strerror}"))
            continue
        found, errs = openslo.load_documents(f, raw)
        docs.extend(found)
        problems.extend(errs)
    if problems:
        raise SpecError(problems)
    out = {}
    for name, spec, notes in openslo.convert(docs, team, targets):
        out[name] = header(list(files), notes) + dump_yaml(spec)
    # The converted spec must pass mlmon's own validation, or the import is a bug.
    checked = []
    for name, text in out.items():
        doc, errs = load_text(f"{name}.yaml (converted)", text.encode())
        if errs or doc is None:
            raise SpecError(errs)
        checked.append(doc)
    check_documents(checked)
    return out


@click.group(name="import")
def import_group() -> None:
    """Convert SLOs from other formats into mlmon specs."""


@import_group.command(name="openslo")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out", type=click.Path(file_okay=False),
              help="write <service>.yaml here (default: print to stdout)")
@click.option("--team", default="my-team", show_default=True, help="metadata.team of the specs")
@click.option("--target", "targets", multiple=True, help="scrape target host:port (default: <service>:8000)")
def openslo_command(files: tuple[str, ...], out: str | None, team: str, targets: tuple[str, ...]) -> None:
    """Convert OpenSLO v1 SLOs (ratio SLIs, rolling windows, Occurrences) into ModelMonitor specs."""
    try:
        texts = specs_text(files, team, list(targets))
    except SpecError as exc:
        fail(exc.problems)
    if out is None:
        click.echo("---\n".join(texts.values()), nl=False)
        return
    paths = {Path(out) / f"{name}.yaml": text.encode() for name, text in texts.items()}
    try:
        create_files(paths)
    except WriteError as exc:
        fail([exc])
    for p in paths:
        click.echo(f"wrote {p}")
