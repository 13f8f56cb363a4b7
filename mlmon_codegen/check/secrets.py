"""`mlmon check`'s secret scan of a generated tree, with the spec scanner's patterns (spec/secrets.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlmon_codegen.check.promtool import Run
from mlmon_codegen.emit import yaml_emit
from mlmon_codegen.spec.secrets import find, walk

# Every key SECRET_KEY matches contains one of these: a file without any holds no such key.
SECRET_KEY_WORDS = ("passw", "secret", "token", "key", "credential")


def scan_tree(out: Path, only: frozenset[str] | None = None) -> list[str]:
    """One line per secret-looking string in a generated tree (or in its files `only` names):
    `path:line: what`."""
    findings: list[str] = []
    candidates = out.rglob("*") if only is None else (out / rel for rel in only)
    for path in sorted(p for p in candidates if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(out).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if find(text):  # one pass over the file; only a hit is located line by line
            for n, line in enumerate(text.splitlines(), 1):
                if what := find(line):
                    findings.append(f"{rel}:{n}: looks like {what}")
        data: Any = None
        lowered = text.lower()  # once: lowering a large file per word took a quarter of the scan
        if not any(word in lowered for word in SECRET_KEY_WORDS):
            continue  # no secret-named key can be in it: spare parsing every generated file
        try:
            if path.suffix in (".yml", ".yaml"):
                data = yaml.load(text, Loader=yaml_emit.LOADER)
            elif path.suffix == ".json":
                data = json.loads(text)
        except (yaml.YAMLError, ValueError):
            data = None
        for loc, what in walk(data, patterns=False):  # pattern hits were reported per line above
            findings.append(f"{rel}: {'.'.join(map(str, loc))}: {what}")
    return findings


def run(out: Path, only: frozenset[str] | None = None) -> Run:
    """The scan as one `mlmon check` step."""
    findings = scan_tree(out, only)
    return Run(["mlmon", "scan-secrets", str(out)], not findings,
               "\n".join([*findings, "secrets belong in files the services read (*_file fields), not in out/"]
                         if findings else []))
