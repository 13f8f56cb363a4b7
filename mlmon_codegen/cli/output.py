"""Output for machines and for people: `--format json` reports, colour and a progress line.

Colour and the progress line appear only on a terminal: click strips styles when stdout is not
a TTY, and the progress line is written only when stderr is one, so CI logs and pipes stay plain.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from mlmon_codegen.build.load import load_fleet
from mlmon_codegen.check import promtool
from mlmon_codegen.core.errors import Problem, SpecError

FORMATS = click.Choice(["text", "json"])


def problem_dict(p: Problem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "field": p.field, "message": p.message,
            "hint": p.hint, "severity": "warning" if p.warning else "error"}


def validate_report(paths: tuple[str, ...]) -> tuple[dict[str, Any], int]:
    """What `mlmon validate` finds, as data, and the exit code (0 valid, 2 invalid)."""
    problems: list[Problem] = []
    models: list[str] = []
    try:
        result = load_fleet([Path(p) for p in paths])
    except SpecError as exc:
        problems = list(exc.problems)
    else:
        models = [x.name for x in result.fleet.models]
        problems = list(result.warnings)
        notes = []
        try:
            errors = promtool.parse_errors([r.query.replace("{{window}}", "5m") for r in result.queries])
        except promtool.ToolMissing as exc:
            notes.append(str(exc))
            errors = []
        problems += [r.doc.problem(r.loc, f"promtool cannot parse the query: {e}")
                     for r, e in zip(result.queries, errors, strict=False) if e]
        if any(not p.warning for p in problems):
            models = []
    ok = not any(not p.warning for p in problems)
    return {"ok": ok, "models": models, "problems": [problem_dict(p) for p in problems]}, 0 if ok else 2


def check_report(out: str, runs: list[promtool.Run]) -> dict[str, Any]:
    return {"ok": bool(runs) and all(r.ok for r in runs), "out": out,
            "runs": [{"command": r.command, "ok": r.ok, "output": r.output} for r in runs]}


def emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def mark(ok: bool) -> str:
    """`ok  ` in green or `FAIL` in red; plain text when stdout is not a terminal."""
    return click.style("ok  ", fg="green") if ok else click.style("FAIL", fg="red", bold=True)


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A transient status line on stderr while a long step runs, erased when it ends."""
    tty = sys.stderr.isatty()
    if tty:
        sys.stderr.write(f"\r\033[K{click.style(message, dim=True)}")
        sys.stderr.flush()
    try:
        yield
    finally:
        if tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
