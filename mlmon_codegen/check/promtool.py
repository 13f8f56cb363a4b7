"""promtool via subprocess: config, rules (with lint), unit tests, and bare-expression parsing."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml


class ToolMissing(Exception):
    pass


@dataclass(frozen=True)
class Run:
    """One step of `mlmon check`: a tool's command line, or the name of a check mlmon runs itself."""

    command: list[str]
    ok: bool
    output: str
    note: str = ""  # what was checked or how, shown as written after the step's name
    warning: bool = False  # the note says the check was weaker than asked or the output needs care: --strict fails


def binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise ToolMissing(
            f"{name} is not installed; on Debian: apt-get install prometheus prometheus-alertmanager "
            "(or run `make test`, which installs them)"
        )
    return path


def run(tool: str, *args: str, cwd: Path | None = None) -> Run:
    cmd = [binary(tool), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)
    return Run([tool, *args], proc.returncode == 0, (proc.stdout + proc.stderr).strip())


def version(tool: str) -> str | None:
    """The version `tool --version` names on its first line ("promtool, version 3.5.3 (branch: ...)"
    gives "3.5.3"), or None when the tool is not installed: a check's result depends on the engine
    generation, so `mlmon check` says which one it ran."""
    path = shutil.which(tool)
    if not path:
        return None
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    first = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[:1]
    words = first[0].replace(",", " ").split() if first else []
    return words[words.index("version") + 1] if "version" in words[:-1] else (first[0] if first else "unknown")


def check_config(path: Path) -> Run:
    return run("promtool", "check", "config", "--lint=all", "--lint-fatal", str(path))


def check_rules(paths: list[Path]) -> Run:
    return run("promtool", "check", "rules", "--lint=all", "--lint-fatal", *map(str, paths))


def test_rules(paths: list[Path]) -> Run:
    return run("promtool", "test", "rules", *map(str, paths))


def parse_errors(expressions: list[str]) -> list[str | None]:
    """For each expression, None if promtool parses it, else its error.

    One promtool call checks the whole batch as recording rules; only when the batch fails is it
    split in halves to say which broke (failures are the rare path).
    """
    if not expressions:
        return []

    def check(batch: list[str]) -> Run:
        doc = {"groups": [{"name": "mlmon-expression-check",
                           "rules": [{"record": f"mlmon_check_{i}", "expr": e} for i, e in enumerate(batch)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
            yaml.safe_dump(doc, fh)
        try:
            return run("promtool", "check", "rules", fh.name)
        finally:
            Path(fh.name).unlink()

    results: list[str | None] = [None] * len(expressions)

    def locate(batch: list[int], known_bad: bool = False) -> None:
        # Halve a failing batch until single expressions remain: k broken expressions among n
        # cost about 2k·log2(n) promtool calls instead of n (a dashboard has hundreds).
        if len(batch) == 1:
            r = check([expressions[batch[0]]])
            results[batch[0]] = None if r.ok else _first_error(r.output)
            return
        if not known_bad and check([expressions[i] for i in batch]).ok:
            return
        mid = len(batch) // 2
        locate(batch[:mid])
        locate(batch[mid:])

    if not check(expressions).ok:
        locate(list(range(len(expressions))), known_bad=True)
    return results


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if "parse error" in line or "error" in line.lower():
            # Drop the temporary file's name and rule number: they mean nothing to the user and
            # would make the message differ between runs.
            for marker in ("could not parse expression:", "rule 0:"):
                if marker in line:
                    return line.split(marker, 1)[1].strip()
            return line.strip()
    return output.splitlines()[-1] if output else "promtool rejected it"
