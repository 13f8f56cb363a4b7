"""Every generated dashboard read into Grafana 12's own dashboard types (grafana-foundation-sdk,
the build for Grafana 12, pinned in the dev extra) and written back: nothing is dropped or
changed, so no key is one the current schema does not have and no value has the wrong type."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, invoke_mlmon
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from mlmon_codegen.core import naming


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where `theirs` lacks or changes what `ours` holds (keys the SDK adds are defaults, not ours)."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{path}: became {type(theirs).__name__}"]
        return [d for k, v in ours.items()
                for d in (differences(v, theirs[k], f"{path}/{k}") if k in theirs else [f"{path}/{k}: dropped"])]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [f"{path}: list changed"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path}: {ours!r} became {theirs!r}"]


def round_trip(board: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder)))


def test_the_check_finds_what_the_sdk_drops(example_out: Path) -> None:
    """Not vacuous: keys Grafana's schema dropped (`rows`, a panel's `span`) and a null data source
    are each caught."""
    board = json.loads((example_out / naming.FLEET_DASHBOARD_FILE).read_text())
    assert differences(board, round_trip(board)) == []
    old = {**board, "rows": []}
    old["panels"] = [{**board["panels"][0], "span": 6}, *board["panels"][1:]]
    assert sorted(re.sub(r"\[\d+\]", "[]", d) for d in differences(old, round_trip(old))) == [
        "/panels[]/span: dropped", "/rows: dropped"]
    nulled = json.loads(json.dumps(board))
    nulled["templating"]["list"][0]["datasource"] = None
    with pytest.raises(TypeError):
        round_trip(nulled)


@pytest.mark.parametrize("dashboards", ["shared", "per_model"])
def test_every_dashboard_round_trips_through_grafana_12_types(tmp_path: Path, dashboards: str) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    shutil.copy(ROOT / "tests" / "regression" / "house-price.yaml", specs)  # the regression panels too
    (specs / "mlmon.yaml").write_text((specs / "mlmon.yaml").read_text() + f"dashboards: {dashboards}\n")
    out = tmp_path / "out"
    result = invoke_mlmon("generate", str(specs), "-o", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted((out / naming.DASHBOARDS_DIR).glob("*.json"))
    assert len(files) == (2 if dashboards == "shared" else 5)
    for path in files:
        board = json.loads(path.read_text())
        assert differences(board, round_trip(board)) == [], path.name
