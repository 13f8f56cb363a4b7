"""Read YAML files into plain data, remembering where every key and value stood.

The safety limits live here because this is the only code that sees raw bytes: size, encoding,
nesting depth, alias expansion (YAML bombs) and duplicate keys are all rejected before any
validation runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlmon_codegen.core.errors import Problem, Site

try:  # libyaml is an order of magnitude faster; the pure-Python loader behaves the same.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 1024 * 1024  # one spec is a page or two of YAML; 1 MiB is generous and bounded
MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion: a billion-laughs file trips this, not the memory

Loc = tuple[str | int, ...]
_PLAIN_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class Document:
    path: str
    data: Any
    locations: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Loc) -> tuple[int, int]:
        """Line and column of the closest enclosing node that exists in the file."""
        for end in range(len(loc), -1, -1):
            hit = self.locations.get(tuple(loc[:end]))
            if hit:
                return hit
        return (1, 1)

    def problem(self, loc: Loc, message: str, hint: str = "", warning: bool = False) -> Problem:
        return self.site(loc).problem(message, hint, warning)

    def site(self, loc: Loc) -> Site:
        line, col = self.where(loc)
        return Site(self.path, line, col, dotted(loc))


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if not isinstance(part, int) and not str(part).isprintable():
            part = repr(str(part))  # a hostile key ("env\n") must not split the one-line message
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _TooBig(Exception):
    pass


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.locations: dict[Loc, tuple[int, int]] = {}
        self.nodes = 0
        self.problems: list[Problem] = []
        self.constructor = yaml.constructor.SafeConstructor()

    def mark(self, loc: Loc, node: yaml.Node) -> None:
        self.locations.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} YAML nodes after expanding aliases")
        if len(loc) > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        self.mark(loc, node)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTIONS:
            # Scalars with odd tags fail in the safe constructor; collections we build ourselves,
            # so without this a `!!python/object` or `!!set` tag would be silently ignored.
            self.problems.append(self._at(node, loc, f"YAML tag {node.tag!r} is not supported",
                                          "specs are plain mappings, lists and scalars"))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(self._at(key_node, loc, "YAML merge keys (<<) are not supported",
                                                  "write the keys out; specs are reviewed, so explicit beats clever"))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(self._at(key_node, loc, "mapping keys must be plain strings"))
                    continue
                key = self.constructor.construct_scalar(key_node)
                if key in out:
                    self.problems.append(self._at(key_node, (*loc, key), f"duplicate key {key!r}",
                                                  "YAML keeps only the last one; remove the other"))
                self.mark((*loc, key), key_node)
                # Point errors about a value at the value, but keep the key's mark for the field.
                out[key] = self.build(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def _at(self, node: yaml.Node, loc: Loc, message: str, hint: str = "") -> Problem:
        return Problem(self.path, node.start_mark.line + 1, node.start_mark.column + 1,
                       dotted(loc), message, hint)


def load_text(path: str, raw: bytes) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML document; never raises for bad input, returns problems instead."""
    if len(raw) > MAX_BYTES:
        return None, [Problem(path, 1, 1, "", f"file is larger than the {MAX_BYTES}-byte (1 MiB) limit",
                              "split the spec, or check that this is really a spec file")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(path, line, col, "", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                              "save the file as UTF-8")]
    if not text.strip():
        return None, [Problem(path, 1, 1, "", "file is empty", "run `mlmon init NAME` for a starter spec")]
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(path, line, col, "", f"invalid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(path, 1, 1, "", f"invalid YAML: {exc}")]
    except RecursionError:
        return None, [Problem(path, 1, 1, "", f"nested deeper than {MAX_DEPTH} levels")]
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return None, [Problem(path, 1, 1, "", "file holds no YAML document")]
    if len(nodes) > 1:
        second = nodes[1].start_mark
        return None, [Problem(path, second.line + 1, second.column + 1, "",
                              "more than one YAML document (---) in a file",
                              "put one spec in each file")]
    builder = _Builder(path)
    try:
        data = builder.build(nodes[0], ())
    except _TooBig as exc:
        return None, [Problem(path, 1, 1, "", str(exc), "expand anchors by hand or simplify the file")]
    except (yaml.YAMLError, ValueError) as exc:
        return None, [Problem(path, 1, 1, "", f"invalid YAML value: {exc}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 1, 1, "", f"the document is a {type(data).__name__}, not a mapping",
                              "a spec starts with `apiVersion: mlmon/v1`")]
    if builder.problems:
        return None, builder.problems
    return Document(path, data, builder.locations), []


def load_file(path: Path) -> tuple[Document | None, list[Problem]]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, [Problem(str(path), 0, 0, "", f"cannot read: {exc.strerror}")]
    return load_text(str(path), raw)


def discover(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders into their *.yaml / *.yml files, sorted, so order never depends on the OS."""
    files: list[tuple[Path, str]] = []  # each file and its real path, to read a file linked twice once
    problems: list[Problem] = []
    for p in paths:
        if p.is_dir():
            # The entries' types come with the listing, and a file that is not a link is really
            # at the folder's real path: a resolve per file was a syscall per path component.
            real = os.path.realpath(p)
            with os.scandir(p) as entries:
                found = sorted((e.name, e.is_symlink()) for e in entries
                               if e.name.endswith((".yaml", ".yml")) and not e.name.endswith(".baseline.yaml")
                               and e.is_file() and e.name not in (".yaml", ".yml"))
            files.extend((p / name, os.path.realpath(p / name) if link else os.path.join(real, name))
                         for name, link in found)
        elif p.is_file():
            files.append((p, os.path.realpath(p)))
        else:
            problems.append(Problem(str(p), 0, 0, "", "no such file or folder"))
    seen: set[str] = set()
    unique = []
    for f, real in files:
        if real not in seen:
            seen.add(real)
            unique.append(f)
    return unique, problems
