"""promtool over the rules inside `kubernetes/`, `mimir/` and `thanos/` of a generated tree.

PrometheusRule objects carry plain rule groups under `spec`; Mimir and Thanos files carry group
fields promtool 2.42 rejects, which are stripped first (targets/mimir.strip_ruler_fields). What
is left is checked like the plain target's rules, lint included.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from mlmon_codegen.check import promtool
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.core import naming
from mlmon_codegen.targets.rules.rulers import strip_ruler_fields


def _plain_rule_files(out: Path, into: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for path in sorted((out / naming.K8S_DIR).rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("kind") == "PrometheusRule":
            found.append(("kubernetes", _write(into, path, out, data["spec"])))
    for folder in ("mimir", "thanos"):
        for path in sorted((out / folder).glob("*.yml")):
            found.append((folder, _write(into, path, out, strip_ruler_fields(yaml.safe_load(path.read_text())))))
    return found


def _write(into: Path, source: Path, out: Path, data: dict) -> Path:
    target = into / source.relative_to(out).as_posix().replace("/", "__")
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def check_tree(out: Path) -> list[Run]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        files = _plain_rule_files(out, Path(tmp))
        for folder in ("kubernetes", "mimir", "thanos"):
            paths = [p for f, p in files if f == folder]
            if paths:
                run = promtool.check_rules(paths)
                what = "PrometheusRule specs" if folder == "kubernetes" else "files, ruler-only group fields stripped"
                note = f"({folder}/: {len(paths)} {what})"
                # The copies are gone once this returns: the command names the flags, not the files.
                runs.append(Run([a for a in run.command if not a.startswith(tmp)], run.ok, run.output, note,
                                seconds=run.seconds))
    return runs
