"""Hand-written promtool scenarios pin the burn-rate math in time (see tests/scenarios/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon

SCENARIOS = ROOT / "tests" / "scenarios"
SPEC = SCENARIOS / "slo-99.9-30d.yaml"


def _prepare(tmp_path: Path, spec_text: str) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text)
    result = invoke_mlmon("generate", str(spec), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    shutil.copy(tmp_path / "out" / "prometheus" / "rules" / "workbook.rules.yml", tmp_path / "rules.yml")
    for f in SCENARIOS.glob("*.test.yml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _promtool(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", "test", "rules", str(folder / name)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.glob("*.test.yml")))
def test_burn_rate_scenarios_fire_when_the_math_says(tmp_path, scenario):
    folder = _prepare(tmp_path, SPEC.read_text())
    result = _promtool(folder, scenario)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scenarios_catch_a_wrong_objective(tmp_path):
    """The scenarios can fail: with a 99% objective every threshold is 10x higher, so the 1.5%
    ratio never pages and the burst needs 9 minutes of its hour to cross 14.4%, not 2."""
    folder = _prepare(tmp_path, SPEC.read_text().replace("objective: 99.9", "objective: 99"))
    result = _promtool(folder, "burn_rate_timing.test.yml")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "time: 2h2m," in output and "time: 2h59m," in output
    assert "got: nil" in output
