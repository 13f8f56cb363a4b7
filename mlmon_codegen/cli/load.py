"""How every command reads specs, and how every command gives up on bad input.

`validate`, `generate`, `explain`, `stats` and `up` all read their specs through `load` (or
`findings`, its form that returns the findings as data for `--format json`), so they agree on what
a valid set of specs is: the same files (a spec file given alone brings the Project file beside
it), the same validation, and the same promtool parse of user-written PromQL.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import click

from mlmon_codegen.build.load import load_fleet
from mlmon_codegen.check import promtool
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_INVALID, Problem, SpecError
from mlmon_codegen.spec.load import MAX_BYTES, discover, load_file
from mlmon_codegen.spec.validate import Result

# What {{window}} becomes for the parse check: any valid range will do, promtool only parses.
PARSE_WINDOW_MS = 300_000


@dataclass
class Findings:
    """What reading the specs found. `result` is None exactly when `errors` is not empty."""

    result: Result | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said on stderr, never fatal (e.g. no promtool)


def fail(problems: Sequence[object], code: int = EXIT_INVALID) -> NoReturn:
    """Every command's way out on bad input: each problem on its own line, then the count."""
    for p in problems:
        click.echo(str(p), err=True)
    n = len(problems)
    click.echo(f"mlmon: {n} problem{'s' if n != 1 else ''} found", err=True)
    sys.exit(code)


def _head(path: Path) -> bytes:
    """As much of the file as load_file would accept."""
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError:
        return b""  # unreadable: validation reports it if the file is ever given


def _kind(path: Path) -> object:
    doc, _ = load_file(path)
    return doc.data.get("kind") if doc is not None and isinstance(doc.data, dict) else None


def with_project(paths: Sequence[str]) -> list[Path]:
    """The paths, plus the Project file beside spec files given without one.

    A folder is read whole, so it already holds its Project; spec files given one by one would
    otherwise lose the project's intervals, URLs and routing, and the output would not be what
    the folder generates.
    """
    given = [Path(p) for p in paths]
    if not given or not all(p.is_file() for p in given):
        return given
    named = {p.resolve() for p in given}
    beside: list[Path] = []
    for folder in sorted({p.parent for p in given}):
        try:
            files, _ = discover([folder])
        except OSError:  # a folder one may read files in but not list: nothing to add from it
            continue
        # A Project file must say so; the byte test spares parsing a large fleet's other specs.
        beside += [f for f in files if f.resolve() not in named and b"Project" in _head(f)
                   and _kind(f) == "Project"]
    if not beside or any(_kind(p) == "Project" for p in given):
        return given
    return [*given, *beside]


def query_problems(result: Result) -> tuple[list[Problem], list[str]]:
    """promtool's parse of each user-written query, with {{window}} filled as generation fills it."""
    if not result.queries:
        return [], []
    try:
        errors = promtool.parse_errors([q.substitute_window(ref.query, PARSE_WINDOW_MS) for ref in result.queries])
    except promtool.ToolMissing as exc:
        return [], [f"mlmon: warning: custom queries not parsed: {exc}"]
    problems = [ref.doc.problem(ref.loc, f"promtool cannot parse the query: {err}")
                for ref, err in zip(result.queries, errors, strict=True) if err]
    return problems, []


def findings(paths: Sequence[str], check_budget: bool = True, cache: Path | None = None) -> Findings:
    """Read and check the specs; never prints, never exits. `cache`: build/cache.py's file."""
    try:
        result = load_fleet(with_project(paths), check_budget=check_budget, cache=cache)
    except SpecError as exc:
        return Findings(None, errors=list(exc.problems), warnings=list(exc.warnings))
    errors, notes = query_problems(result)
    return Findings(None if errors else result, errors, list(result.warnings), notes)


def strict_failure(found: Findings) -> int:
    """How many warnings `--strict` turns into a failure: the spec warnings and the notes that
    a check was skipped (a query promtool never parsed is as unchecked as a warned-about one)."""
    return len(found.warnings) + len(found.notes)


def exit_strict(n: int) -> NoReturn:
    """`--strict`'s way out, after everything was printed: exit 1, as a failed check does."""
    click.echo(f"mlmon: {n} warning{'s' if n != 1 else ''} found; --strict makes them fatal", err=True)
    sys.exit(EXIT_FAILED)


# One flag for `validate`, `generate` and `check`, so they say the same thing.
strict_option = click.option("--strict", is_flag=True,
                             help="exit 1 when there are warnings (after printing them all); generate writes nothing")


def load(paths: Sequence[str], check_budget: bool = True, strict: bool = False, cache: Path | None = None) -> Result:
    """The specs' fleet, or exit 2 after printing every problem. Warnings are printed, and fatal
    (exit 1) only with `strict`; errors come first in the exit code, so bad input is still 2."""
    found = findings(paths, check_budget, cache)
    for line in [*map(str, found.warnings), *found.notes]:
        click.echo(line, err=True)
    if found.result is None:
        fail(found.errors)
    if strict and strict_failure(found):
        exit_strict(strict_failure(found))
    return found.result
