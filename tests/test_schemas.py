"""The JSON Schemas the example specs' `$schema` comments name are committed, and current."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import ROOT, invoke_mlmon

SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def test_committed_schemas_are_what_mlmon_schema_writes(tmp_path: Path) -> None:
    result = invoke_mlmon("schema", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["baseline.schema.json", "modelmonitor.schema.json", "project.schema.json"]
    for name in written:
        assert (ROOT / "schemas" / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"schemas/{name} is stale: run `mlmon schema -o schemas`")


def test_every_schema_a_spec_names_exists_and_fits_its_kind() -> None:
    named = 0
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        for ref in SCHEMA_COMMENT.findall(spec.read_text()):
            schema = json.loads((spec.parent / ref).read_text())
            kind = re.search(r"^kind: (\w+)$", spec.read_text(), re.M)
            assert kind is not None and schema["title"].split()[-1] == kind.group(1), (spec.name, ref)
            named += 1
    assert named >= 3


def test_one_kind_prints_alone() -> None:
    result = invoke_mlmon("schema", "--kind", "Baseline")
    assert result.returncode == 0 and "features" in json.loads(result.stdout)["properties"]
