"""The pipeline's layering contract (import-linter, in pyproject.toml): stages import only the
stages before them. `make test` runs `lint-imports`; this proves the contract would catch a
back-import, on a copy of the package with one added."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "mlmon_codegen", tmp_path / "mlmon_codegen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "imported"), [
    ("core/naming.py", "mlmon_codegen.spec.model"),  # the bottom layer reaching up one
    ("plan/sli.py", "mlmon_codegen.targets.grafana.dashboards"),  # planning reading a target's output
    ("spec/validate.py", "mlmon_codegen.plan.series"),  # validation that plans
])
def test_a_back_import_breaks_the_contract(tmp_path: Path, module: str, imported: str) -> None:
    root = _copy(tmp_path)
    path = root / "mlmon_codegen" / module
    path.write_text(path.read_text() + f"\nimport {imported}  # noqa: E402\n")
    result = _lint(root)
    assert result.returncode == 1, result.stdout
    importer = "mlmon_codegen." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {imported}" in result.stdout
