"""Output for machines and for people: `--format json` reports, colour and a progress line.

Colour and the progress line appear only on a terminal: click strips styles when stdout is not
a TTY, and the progress line is written only when stderr is one, so CI logs and pipes stay plain.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from mlmon_codegen.check import promtool
from mlmon_codegen.cli.load import findings, strict_failure
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, Problem
from mlmon_codegen.emit.write import Diff

# A regenerated fleet can change thousands of lines per file; past this many a file's diff is cut,
# with a note of how much was left out, so one log stays readable.
DIFF_LINES = 200

FORMATS = click.Choice(["text", "json"])


def problem_dict(p: Problem) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "field": p.field, "message": p.message,
            "hint": p.hint, "severity": "warning" if p.warning else "error"}


def validate_report(paths: tuple[str, ...], strict: bool = False) -> tuple[dict[str, Any], int]:
    """What `mlmon validate` finds, as data, and the exit code (0 valid, 2 invalid; 1 valid with
    warnings under --strict)."""
    found = findings(paths)
    for note in found.notes:
        click.echo(note, err=True)
    models = [x.name for x in found.result.fleet.models] if found.result is not None else []
    ok = found.result is not None
    problems = [problem_dict(p) for p in [*found.warnings, *found.errors]]
    code = EXIT_INVALID if not ok else EXIT_FAILED if strict and strict_failure(found) else EXIT_OK
    return {"ok": ok, "models": models, "problems": problems}, code


def check_report(out: str, runs: list[promtool.Run], engines: dict[str, str]) -> dict[str, Any]:
    return {"ok": bool(runs) and all(r.ok for r in runs), "out": out, "engines": engines,
            "runs": [{"command": r.command, "ok": r.ok, "output": r.output, "note": r.note,
                     "warning": r.warning} for r in runs]}


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


def _text(content: bytes | None) -> list[str] | None:
    """The lines of a text file; None for bytes that are not UTF-8 (no line diff means anything)."""
    if content is None:
        return []
    try:
        return content.decode().splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def unified_diff(out: Path, d: Diff, files: Mapping[str, bytes], limit: int = DIFF_LINES) -> Iterator[str]:
    """What `generate` would change in OUT, file by file, as unified diffs of at most LIMIT lines."""
    for rel in sorted([*d.stale, *d.missing, *d.extra]):
        before = (out / rel).read_bytes() if rel not in d.missing else None
        after = files.get(rel)
        old, new = _text(before), _text(after)
        a = f"a/{rel}" if before is not None else "/dev/null"
        b = f"b/{rel}" if after is not None else "/dev/null"
        if old is None or new is None:
            yield f"Binary files {a} and {b} differ\n"
            continue
        lines = list(difflib.unified_diff(old, new, a, b))
        for line in lines[:limit]:
            yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        if len(lines) > limit:
            yield f"... {len(lines) - limit} more lines of the diff of {rel} left out (cut at {limit})\n"
