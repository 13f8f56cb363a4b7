"""The cache of validated specs: after one spec of a thousand changed, `generate` parses and
validates that one, not the other 999 again (issue 17: parsing and validating were two thirds of
such a run).

An entry is a ModelMonitor file that validated with no problem, warning or custom query
(spec/validate.py: Clean), keyed by everything its validation read: the file's path and bytes,
its baseline's bytes (or that it has none), the project it was validated under (the built
Project, whole), and mlmon's version and code with the Python, pydantic and PyYAML that ran it.
A file without an entry under its key now is read and validated as without a cache; so is one
whose name another file gives (the duplicate is reported from the documents).

The cache is one file per output folder in the user's cache folder ($MLMON_CACHE_DIR, else
$XDG_CACHE_HOME/mlmon or ~/.cache/mlmon), never in OUT or beside the specs. It is replaced whole
by a rename, so a reader sees one complete file; a file that does not load, or an entry of the
wrong shape, is as no entry, and so is a file another user owns or may write (it is a pickle).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from mlmon_codegen.build import manifest
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import MAX_BYTES, Document, discover, load_file, load_text
from mlmon_codegen.spec.ml_validate import baseline_file
from mlmon_codegen.spec.validate import Clean, Result, project_of

FOLDER_VARIABLE = "MLMON_CACHE_DIR"
# (the project's fingerprint, the file's path, its model pickled): each model pickled on its own, so
# that writing the cache again after one spec changed pickles one model, not a thousand.
Entry = tuple[str, str, bytes]


def cache_file(out: Path) -> Path:
    """Where the cache of the specs generated into OUT lives."""
    given = os.environ.get(FOLDER_VARIABLE)
    base = Path(given) if given else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlmon"
    where = hashlib.sha256(os.fsencode(os.path.realpath(out))).hexdigest()[:16]
    return base / f"specs-{where}.pickle"


def _environment() -> str:
    return f"{manifest.version()} {sys.version} pydantic {pydantic.VERSION} pyyaml {yaml.__version__}"


def _read(path: str) -> bytes | None:
    """As much of the file as the loader reads; None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError:
        return None


def _key(environment: str, path: str, raw: bytes, baseline: bytes | None) -> str:
    h = hashlib.sha256(f"{environment}\0{path}\0".encode())
    h.update(hashlib.sha256(raw).digest())
    h.update(b"-" if baseline is None else hashlib.sha256(baseline).digest())
    return h.hexdigest()


def _fingerprint(project: m.Project) -> str:
    # A dataclass's repr shows every field, and the project's tree holds only dataclasses, tuples,
    # strings and numbers: equal projects, equal reprs, in any process (pickle's bytes also
    # depend on which equal strings happen to be one object).
    return hashlib.sha256(repr(project).encode()).hexdigest()


def _stored(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as fh:
            st = os.fstat(fh.fileno())
            # Unpickling runs what the file says: only a file of this user's that no one else may write.
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return {}
            found = pickle.loads(fh.read())
    except Exception:  # any damage (truncation, another mlmon's classes) is no cache
        return {}
    return found if isinstance(found, dict) else {}


def _usable(entry: object, path: str) -> tuple[Entry, Clean] | None:
    """A stored entry for the file at PATH with its model, or None for anything else."""
    if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], str) and entry[1] == path
            and isinstance(entry[2], bytes)):
        return None
    try:
        model = pickle.loads(entry[2])
    except Exception:  # any damage is no entry
        return None
    return ((entry[0], path, entry[2]), Clean(path, model)) if isinstance(model, m.Model) else None


@dataclass(frozen=True)
class Pending:
    """What `save` needs of a `read`: the key of every file read now and the entries used."""

    file: Path
    fingerprint: str
    keys: dict[str, str]  # path → key, for each file that was parsed and may now be clean
    used: dict[str, Entry]  # key → the entry that stood in for a file
    stored: frozenset[str]  # the keys the cache held


def read(paths: list[Path], file: Path) -> tuple[list[Document | Clean], list[Problem], Pending]:
    """The spec files at PATHS as validate_all takes them: each one the cache holds under its key
    now as its Clean, the others parsed; with the loader's problems, and what `save` needs."""
    files, problems = discover(paths)
    environment = _environment()
    stored = _stored(file)
    raws: dict[str, bytes] = {}
    keys: dict[str, str] = {}
    found: dict[str, tuple[Entry, Clean]] = {}
    enabled = gc.isenabled()
    gc.disable()  # unpickling a thousand models makes objects and no cycles: collections only cost (half)
    try:
        for f in files:
            path = str(f)
            raw = _read(path)
            if raw is None:
                continue  # load_file reports it below
            raws[path] = raw
            keys[path] = _key(environment, path, raw, _read(baseline_file(path)))
            usable = _usable(stored.get(keys[path]), path)
            if usable is not None:
                found[path] = usable
    finally:
        if enabled:
            gc.enable()
    docs: dict[str, Document | None] = {}

    def parse(path: str) -> Document | None:
        doc, said = load_text(path, raws[path]) if path in raws else load_file(Path(path))
        problems.extend(said)
        return doc

    for f in files:
        if str(f) not in found:
            docs[str(f)] = parse(str(f))
    # Only a Project file shapes the project, and it is never an entry: it is among those parsed.
    fingerprint = _fingerprint(project_of([d for d in docs.values() if d is not None]))
    used = {keys[p]: e for p, (e, _) in found.items() if e[0] == fingerprint}
    entries: list[Document | Clean] = []
    for f in files:
        path = str(f)
        if path in found and keys[path] in used:
            entries.append(found[path][1])
            continue
        doc = docs[path] if path in docs else parse(path)
        if doc is not None:
            entries.append(doc)
    fresh = {p: k for p, k in keys.items() if k not in used}
    return entries, _in_file_order(problems, files), Pending(file, fingerprint, fresh, used, frozenset(stored))


def _in_file_order(problems: list[Problem], files: Sequence[Path]) -> list[Problem]:
    """The loader's problems in the order a run without the cache reports them: file by file."""
    order = {str(f): i for i, f in enumerate(files)}
    return sorted(problems, key=lambda p: order.get(p.file, -1))


def save(pending: Pending, result: Result) -> None:
    """Keep the files of RESULT that validated clean, and those that stood in for one; only a
    cache, so a failure to write it costs the next run a full load."""
    by_source: dict[str, list[m.Model]] = {}
    for x in result.fleet.models:
        by_source.setdefault(x.source, []).append(x)
    spoken = {p.file for p in result.warnings} | {ref.doc.path for ref in result.queries}
    fresh: dict[str, Entry] = {}
    for path, key in pending.keys.items():
        models = by_source.get(path, [])
        if len(models) == 1 and path not in spoken and baseline_file(path) not in spoken:
            fresh[key] = (pending.fingerprint, path, pickle.dumps(models[0], protocol=5))
    if not fresh and frozenset(pending.used) == pending.stored:
        return  # every entry was used, and there is none to add: the file holds what it would
    _replace(pending.file, {**pending.used, **fresh})


def _replace(file: Path, entries: Mapping[str, Entry]) -> None:
    with contextlib.suppress(OSError):
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(dict(sorted(entries.items())), fh, protocol=5)
            os.replace(tmp, file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
