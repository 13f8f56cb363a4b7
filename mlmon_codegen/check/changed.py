"""`mlmon check --changed BASE`: check only the models a pull request changes.

BASE is a git ref of the repository OUT is in, or another generated tree (the base branch's
output). A model is checked when any of its output files, or its spec or baseline, differs from
BASE; files identical to BASE's passed there, so checking them again cannot fail differently.
Everything is checked when the selection cannot be trusted: OUT has no usable manifest (it maps
files to models), BASE cannot be read, or an input every model reads changed (the project file,
the templates), or another mlmon or other targets wrote BASE. Fleet-wide checks (the config,
Alertmanager, the dashboards' uids) always run whole; they are cheap and read every model.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlmon_codegen.build import manifest
from mlmon_codegen.emit.write import digest


class BaseUnreadable(Exception):
    """BASE names neither a folder nor a git ref of OUT's repository."""


@dataclass(frozen=True)
class Selection:
    paths: frozenset[str] | None  # files of OUT to check, relative; None: every file
    note: str  # what is checked and what skipped, and why


def _blob(data: bytes) -> str:
    """git's object id of a file's content, to compare a file with a ref's without checking it out."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BaseUnreadable(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git {args[0]} failed")
    return proc.stdout


@dataclass(frozen=True)
class Base:
    """What BASE held: whether an output file (relative to OUT) or an input (a path as the
    manifest names it, relative to the current directory) has BASE's content."""

    label: str
    same_output: Callable[[str], bool]
    same_input: Callable[[str], bool]
    body: dict[str, Any] | None  # BASE's manifest, when it has one


def _git_base(out: Path, ref: str) -> Base:
    try:
        top = Path(_git(out, "rev-parse", "--show-toplevel").strip())
    except (OSError, BaseUnreadable) as exc:
        raise BaseUnreadable(f"{out} is not in a git repository and {ref!r} is no folder") from exc
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except BaseUnreadable:
        raise BaseUnreadable(f"no folder and no commit of the git repository at {top} is named {ref!r}") from None

    # One listing of the whole commit serves the outputs and the inputs (a call per file would
    # cost a process each, a thousand for a thousand specs).
    root, at_ref = top.resolve(), {}
    for entry in filter(None, _git(top, "ls-tree", "-r", "-z", "--full-tree", ref).split("\0")):
        meta, name = entry.split("\t", 1)
        at_ref[root / name] = meta.split()[2]

    def same(path: Path) -> bool:
        try:
            return _blob(path.read_bytes()) == at_ref.get(path.resolve())
        except OSError:
            return False

    return Base(f"git ref {ref}", lambda rel: same(out / rel), lambda path: same(Path(path)), None)


def _folder_base(out: Path, folder: Path) -> Base:
    body, _ = manifest.read(folder)

    def same_output(rel: str) -> bool:
        a, b = out / rel, folder / rel
        try:
            return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
        except OSError:
            return False

    theirs = body["inputs"] if body is not None else {}

    def same_input(path: str) -> bool:
        try:
            return theirs.get(path) == digest(Path(path).read_bytes())
        except OSError:
            return False

    return Base(f"tree {folder}", same_output, same_input, body)


def _everything(why: str) -> Selection:
    return Selection(None, f"(checking everything: {why})")


def select(out: Path, base: str) -> Selection:
    """The files of OUT to check against BASE (a folder, else a git ref)."""
    folder = Path(base)
    b = _folder_base(out, folder) if folder.is_dir() else _git_base(out, base)  # a bad BASE is an error first
    body, problem = manifest.read(out)
    if body is None:
        return _everything(problem or f"{out} has no manifest to say which files are whose; run `mlmon generate`")
    if b.body is not None:
        for field in ("mlmon", "targets"):
            if b.body.get(field) != body.get(field):
                return _everything(f"{field} differs from {b.label}'s: {b.body.get(field)} -> {body.get(field)}")
    models: Mapping[str, Any] = body["models"]
    own = {p for e in models.values() for p in e.get("inputs", ())}
    shared = sorted(p for p in body["inputs"] if p not in own)
    if b.body is not None and sorted(p for p in b.body["inputs"] if p not in own) != shared:
        return _everything(f"the inputs every model reads differ from {b.label}'s")
    changed_shared = [p for p in shared if not b.same_input(p)]
    if changed_shared:
        return _everything(f"{', '.join(changed_shared)} changed since {b.label}, and every model reads it")
    changed = sorted(name for name, e in models.items()
                     if not all(b.same_input(p) for p in e.get("inputs", ()))
                     or not all(b.same_output(rel) for rel in e["files"]))
    paths = {rel for name in changed for rel in models[name]["files"]}
    paths.update(rel for rel in body["fleet"]["files"] if not b.same_output(rel))
    skipped = len(models) - len(changed)
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    note = (f"(changed since {b.label}: {len(changed)} of {len(models)} models"
            f"{': ' + shown if changed else ''}; {skipped} unchanged, skipped; fleet-wide checks run whole)")
    return Selection(frozenset(paths), note)
