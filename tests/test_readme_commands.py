"""The README's quick-start, run as a new user would: every ```sh/```bash block marked
`<!-- readme-test: run -->`, command by command, in order, in a fresh copy of the repository
(the tracked files only, as a clone has them), each under a time limit, each required to exit 0.

Every sh/bash block carries a marker, run or `skip (reason)`, so a block added later is a
decision, not an accident: `make test` would start this test again, `make demo` and `mlmon up`
without --for run until stopped, pip needs the network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- readme-test: (run|skip \((?P<reason>[^)]+)\)) -->$")
FENCE = re.compile(r"^```(sh|bash)\s*$")
COMMAND_SECONDS = 120  # mlmon check runs promtool and amtool over the whole tree: ~10 s on 2 cores
TOTAL_SECONDS = 240


def blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, marker, the block's lines) for every sh/bash fence; marker "" when none."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if not FENCE.match(line):
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = lines[i - 1] if i else ""
        marker = MARKER.match(before)
        found.append((i + 1, marker.group(1) if marker else "", lines[i + 1:end]))
    return found


def commands(block: list[str]) -> list[str]:
    """The block's commands: comment lines and blank lines dropped, `\\` continuations joined."""
    out, pending = [], ""
    for line in block:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        out.append(pending)
        pending = ""
    assert not pending, f"a block ends in a line continuation: {pending!r}"
    return out


def copy_tracked(into: Path) -> None:
    """The files `git ls-files` lists (what a clone has; not .venv, not caches, not .engines)."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                           timeout=60).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if not src.is_file():  # deleted in the work tree but not yet in the index
            continue
        dst = into / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def test_every_shell_block_is_marked_run_or_skip() -> None:
    found = blocks(README.read_text())
    unmarked = [line for line, marker, _ in found if not marker]
    assert not unmarked, f"README.md: sh/bash blocks at lines {unmarked} need <!-- readme-test: run --> or skip (why)"
    run = [cmds for _, marker, body in found if marker == "run" for cmds in commands(body)]
    # The quick-start must actually run something, and never what would recurse or not end.
    assert any(c.startswith("mlmon generate") for c in run), run
    assert not [c for c in run if re.match(r"(make\b|pip\b|mlmon up\b(?!.*--for))", c)], run


def test_the_readme_quick_start_runs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_tracked(repo)
    found = [(line, body) for line, marker, body in blocks(README.read_text()) if marker == "run"]
    assert found, "README.md has no <!-- readme-test: run --> block"
    # The user's shell after `. .venv/bin/activate`: this interpreter's scripts first, importing the
    # copy's code (not the checkout this test runs from).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(repo), "CI": os.environ.get("CI", "true")}
    deadline = time.monotonic() + TOTAL_SECONDS
    ran = 0
    for line, body in found:
        for cmd in commands(body):
            left = min(COMMAND_SECONDS, deadline - time.monotonic())
            assert left > 0, f"README.md:{line}: out of time before {cmd!r}"
            try:
                proc = subprocess.run(["bash", "-c", cmd], cwd=repo, env=env, capture_output=True, text=True,
                                      timeout=left, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as exc:
                raise AssertionError(f"README.md:{line}: {cmd!r} ran over {left:.0f}s\n"
                                     f"{exc.stdout}{exc.stderr}") from exc
            assert proc.returncode == 0, (f"README.md:{line}: {cmd!r} exited {proc.returncode}\n"
                                          f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
            ran += 1
    assert ran >= 5
    # What the commands promised is there: the generated tree matches the committed one.
    assert (repo / "out" / "prometheus" / "rules" / "iris-classifier.rules.yml").read_bytes() == (
        ROOT / "out" / "prometheus" / "rules" / "iris-classifier.rules.yml").read_bytes()
