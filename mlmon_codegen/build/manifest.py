"""What produced what: the record in OUT that lets `generate` render only the models whose inputs
changed, and `generate --check` answer "up to date" without rendering.

OUT/.mlmon-manifest.json holds the content hash of every input (spec files, their baselines, the
project file, the templates folder's files), mlmon's version and the selected targets, and for each
model (and for the fleet-wide files) a key over the inputs it depends on with the files it produced
(size, sha256). It is written into the new tree and swapped in with it, so it always describes the
tree beside it. A checksum on its first line covers the rest and catches a hand edit or a
truncation; anything unreadable, or from another format or mlmon version, is ignored, and
everything is rendered again.

It is output too (issue 17 counts the bytes each model adds), so it is compact: a JSON list with
one line per model (its key, its own inputs' hashes, its files), per shared input and for the
fleet, and hashes cut to 128 bits (emit/write.py: digest).

Output files are verified before they are trusted: by a stat cache (size, mtime, inode as they
were when written; kept in OUT's lock file beside it, not in the output, since those differ per
machine), and by hashing any file whose stat has moved. Hashing 185 MB of output for 1000 models took 1.8 s
against 30-40 s to render it; the stat cache makes an unchanged `--check` read no output at all.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlmon_codegen
from mlmon_codegen.emit.write import INDEX, MANIFEST, digest, listing, lock_path
from mlmon_codegen.plan import shapes
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import discover
from mlmon_codegen.spec.ml_validate import baseline_file

FORMAT = 3  # 2: each model lists its own inputs (for `mlmon check --changed`); 3: a line per model
FLEET = "(fleet)"  # the entry of the files built from the whole fleet; no model can be named so
Files = dict[str, list[Any]]  # path → [size, sha256]


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of mlmon's own code and templates: a changed mlmon renders differently even when its
    version string stays the same (a development checkout, a patched install), and the manifest
    must then not vouch for the old output."""
    root = Path(mlmon_codegen.__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def version() -> str:
    """mlmon's version and code digest; the version is read at call time, so a test can change it."""
    return f"{mlmon_codegen.__version__}+{code_digest()}"


def _hash_file(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return digest(fh.read())


def input_hashes(paths: Sequence[Path], templates_dir: str | None) -> dict[str, str]:
    """Every file the specs at PATHS are read from → its hash: the spec files as the loader
    finds them, each one's baseline if present, and the templates folder's files."""
    files, _ = discover(list(paths))
    found: dict[str, str] = {}
    for f in files:
        for p in (str(f), baseline_file(f)):
            with contextlib.suppress(OSError):
                found[p] = _hash_file(p)
    if templates_dir and Path(templates_dir).is_dir():
        for rel in listing(Path(templates_dir)):
            found[str(Path(templates_dir) / rel)] = _hash_file(Path(templates_dir) / rel)
    return found


def _key(*parts: object) -> str:
    return digest(json.dumps(parts, sort_keys=True).encode())


@dataclass(frozen=True)
class Keys:
    models: dict[str, str]  # model name → key over every input its files depend on
    fleet: str
    own: dict[str, list[str]]  # model name → the inputs only it reads (its spec, its baseline if any)


def keys(fleet: m.Fleet, targets: Sequence[str], inputs: Mapping[str, str]) -> Keys:
    """A model's files depend on its spec and baseline, on everything else read (the project file,
    the templates, any other file given: over-approximated, never missed), on mlmon's version and
    the targets, and on which model of its shape carries its tier tests (plan/shapes.py)."""
    read = {x.name: (x.source, baseline_file(x.source)) for x in fleet.models}
    own = {p for both in read.values() for p in both}
    common = _key(version(), list(targets), sorted((p, h) for p, h in inputs.items() if p not in own))
    reps = shapes.tested_with(fleet)
    models = {x.name: _key(common, x.name, x.source, inputs.get(x.source), inputs.get(read[x.name][1]),
                           reps[x.name]) for x in fleet.models}
    mine = {name: [p for p in both if p in inputs] for name, both in read.items()}
    # prometheus.yml and the fleet dashboard read every model: any change renders them again.
    return Keys(models, _key(common, sorted(models.items())), mine)


def _line(record: object) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


_HEAD = re.compile(rb'\[\["checksum","([0-9a-f]+)"\],')


def dump(targets: Sequence[str], project_targets: Sequence[str], templates_dir: str | None,
         inputs: Mapping[str, str], k: Keys, files: Mapping[str, Files]) -> tuple[bytes, str]:
    """The manifest's bytes and its checksum. `files`: model name (or FLEET) → the files it produced.
    A model's own inputs are on its line; the other inputs, which every model reads, each on theirs."""
    owned = {p for paths in k.own.values() for p in paths}
    records: list[object] = [
        ["mlmon", FORMAT, version(), list(targets), list(project_targets), templates_dir],
        *(["input", p, h] for p, h in sorted(inputs.items()) if p not in owned),
        ["fleet", k.fleet, files[FLEET]],
        *(["model", name, k.models[name], {p: inputs[p] for p in k.own[name]}, files[name]]
          for name in sorted(k.models)),
    ]
    rest = (",\n".join(map(_line, records)) + "]\n").encode()
    checksum = digest(rest)
    return f'[["checksum","{checksum}"],\n'.encode() + rest, checksum


def _parse(records: list[Any], checksum: str) -> dict[str, Any]:
    """The manifest's records as one mapping (what `read` returns); raises for a wrong shape."""
    _, fmt, mlmon, targets, project_targets, templates = records[0]
    body: dict[str, Any] = {"checksum": checksum, "format": fmt, "mlmon": mlmon, "targets": targets,
                            "project_targets": project_targets, "templates": templates, "inputs": {},
                            "models": {}}
    for record in records[1:]:
        if record[0] == "input":
            _, path, h = record
            body["inputs"][path] = h
        elif record[0] == "fleet":
            body["fleet"] = {"key": record[1], "files": dict(record[2])}
        else:
            _, name, key, own, files = record
            body["models"][name] = {"key": key, "files": dict(files), "inputs": list(own)}
            body["inputs"].update(own)
    if not (isinstance(targets, list) and isinstance(project_targets, list) and "fleet" in body):
        raise ValueError("not a manifest")
    return body


def read(out: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The manifest in OUT, or None and why it cannot be trusted (None: OUT was never written)."""
    path = out / INDEX
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, (f"{path}: no manifest" if (out / MANIFEST).exists() else None)
    except OSError:
        return None, f"{path}: unreadable or truncated"
    head, _, rest = data.partition(b"\n")
    found = _HEAD.fullmatch(head)
    if found is None:
        try:  # another format: its version, when it says one
            other = json.loads(data)
        except ValueError:
            other = None
        if isinstance(other, dict) and isinstance(other.get("mlmon"), str):
            return None, f"{path}: written by mlmon {other['mlmon']}, this is {version()}"
        return None, f"{path}: unreadable or truncated"
    if not rest.endswith(b"]\n"):
        return None, f"{path}: unreadable or truncated"
    if digest(rest) != found[1].decode():
        return None, f"{path}: checksum does not match (edited by hand?)"
    try:
        records = json.loads(data)[1:]
        if records[0][:3] != ["mlmon", FORMAT, version()]:
            return None, f"{path}: written by mlmon {records[0][2]}, this is {version()}"
        return _parse(records, found[1].decode()), None
    except (ValueError, TypeError, KeyError, IndexError):
        return None, f"{path}: unreadable or truncated"


def recorded(body: Mapping[str, Any]) -> dict[str, Files]:
    return {**{name: e["files"] for name, e in body["models"].items()}, FLEET: body["fleet"]["files"]}


# ---------------------------------------------------------------- the stat cache in OUT's lock file
# The lock file is mlmon's, beside OUT, and written only under the lock; a reader without the lock
# (--check) may see a half-written cache, which does not parse or does not match: then it hashes.


def _stat(path: str | Path) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def save_stats(out: Path, checksum: str, paths: Iterable[str], known: Mapping[str, list[int]] | None = None) -> None:
    """Called under OUT's lock once the tree is in place. Only a cache: a failure costs hashing.
    `known`: stats `holds` saw of files carried over by a link, which keeps size, mtime and inode."""
    known = known or {}
    data = json.dumps({"checksum": checksum, "files": {p: known.get(p) or _stat(out / p) for p in paths}},
                      separators=(",", ":")).encode()
    with contextlib.suppress(OSError), lock_path(out).open("r+b") as fh:
        fh.truncate(0)  # in place: replacing the file would leave a waiting run locking another one
        fh.write(data)


def load_stats(out: Path, checksum: str) -> dict[str, list[int]]:
    try:
        data = json.loads(lock_path(out).read_bytes())
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and data.get("checksum") == checksum and isinstance(data.get("files"), dict)
    return data["files"] if ok else {}


def holds(out: Path, files: Files, stats: Mapping[str, list[int]], seen: dict[str, list[int]] | None = None) -> bool:
    """Does OUT still hold exactly these files' recorded contents? `seen` collects their stats."""
    root = os.fspath(out)
    for rel, (size, sha) in files.items():
        path = os.path.join(root, rel)  # strings: a thousand models' files, each joined
        now = _stat(path)
        if now is None or now[0] != size:
            return False
        if seen is not None:
            seen[rel] = now
        if stats.get(rel) == now:
            continue  # as written, by size, mtime and inode: not read
        try:
            if _hash_file(path) != sha:
                return False
        except OSError:
            return False
    return True


def selected_targets(body: Mapping[str, Any], requested: Iterable[str]) -> tuple[str, ...]:
    """The targets a run would select, from the recorded project's and the command line's."""
    return tuple(sorted({*body["project_targets"], *requested}))


def up_to_date(out: Path, paths: Sequence[Path], requested: Sequence[str]) -> tuple[bool, int, list[str]]:
    """(OUT is exactly what generating PATHS gives, files, files in OUT not mlmon's), decided from
    the manifest, the inputs' hashes and the output's stat alone: no spec parsed, no output read.
    False means "not known", not "stale": the caller renders to find out."""
    body, _ = read(out)
    if body is None or body["targets"] != list(selected_targets(body, requested)):
        return False, 0, []
    if input_hashes(paths, body["templates"]) != body["inputs"]:
        return False, 0, []
    files = {p: f for entry in recorded(body).values() for p, f in entry.items()}
    try:
        owned = (out / MANIFEST).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False, 0, []
    if owned != sorted(files):
        return False, 0, []
    if not holds(out, files, load_stats(out, body["checksum"])):
        return False, 0, []
    others = [p for p in listing(out) if p not in files and p not in (MANIFEST, INDEX)]
    return True, len(files), others
