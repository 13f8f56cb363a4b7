"""promtool via subprocess: config, rules (with lint), unit tests, and bare-expression parsing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar


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
    seconds: float | None = None  # the step's wall time; None where nothing was timed (a Run made by hand)


# At most this many engine processes at once, across every step of `mlmon check`: steps and batches
# run side by side, and an unbounded fan-out would only thrash a small CI runner.
WORKERS = os.cpu_count() or 1
_SLOTS = threading.BoundedSemaphore(WORKERS)
# Files per process: enough batches that a slow one (a shape's full tier-by-tier test file takes
# seconds, a ModelDown-only one a tenth of one) does not leave the other workers idle, few enough
# that process start-up stays small.
BATCHES_PER_WORKER = 4

T = TypeVar("T")
R = TypeVar("R")


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
    with _SLOTS:
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)
        seconds = time.perf_counter() - start
    return Run([tool, *args], proc.returncode == 0, (proc.stdout + proc.stderr).strip(), seconds=seconds)


def in_parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """fn over items on threads, results in the items' order. Threads only wait on subprocesses
    here; the process count itself is bounded by run()'s slots."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


def batches(paths: Sequence[Path], n: int) -> list[list[Path]]:
    """paths in at most n contiguous batches of near-equal length: contiguous, so the joined
    outputs read in file order, as one process's would."""
    n = max(1, min(n, len(paths)))
    size, extra = divmod(len(paths), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        out.append(list(paths[start:end]))
        start = end
    return out


def run_batched(tool: str, args: list[str], paths: Sequence[Path]) -> Run:
    """`tool *args *paths` split over several processes side by side, reported as the one call it
    stands for: ok only if every batch passed, outputs joined in file order (promtool names the
    file in each line of its report, so a failure still says which file broke)."""
    start = time.perf_counter()
    parts = in_parallel(lambda b: run(tool, *args, *map(str, b)), batches(paths, WORKERS * BATCHES_PER_WORKER))
    return Run([tool, *args, *map(str, paths)], all(p.ok for p in parts),
               "\n".join(p.output for p in parts if p.output), seconds=time.perf_counter() - start)


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
    """The config alone: `check config` would also check every rule file it lists, in one process,
    which `check_rules` does side by side (at 1000 models that was 13 of ~90 CPU seconds, twice)."""
    return run("promtool", "check", "config", "--syntax-only", "--lint=all", "--lint-fatal", str(path))


def check_rules(paths: list[Path]) -> Run:
    return run_batched("promtool", ["check", "rules", "--lint=all", "--lint-fatal"], paths)


def test_rules(paths: list[Path]) -> Run:
    return run_batched("promtool", ["test", "rules"], paths)


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
        # JSON is YAML to promtool's parser, and json.dumps writes a fleet's tens of thousands of
        # queries in milliseconds where the pure-Python YAML emitter took seconds.
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
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
