"""`generate` says what it did, and `generate --check --diff` shows what it would do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.cli import output


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return tmp_path


def _run(work: Path, *args: str) -> tuple[int, str, str]:
    r = invoke_mlmon("generate", "specs", "-o", "out", *args, cwd=work)
    return r.returncode, r.stdout, r.stderr


def test_the_counts_of_added_changed_removed_and_unchanged(work: Path) -> None:
    code, stdout, _ = _run(work)
    assert code == 0
    n = len([p for p in (work / "out").rglob("*") if p.is_file() and not p.name.startswith(".mlmon-manifest")])
    assert stdout == f"wrote {n} files ({n} added, 0 changed, 0 removed, 0 unchanged) to out\n"
    assert _run(work)[1] == f"out is up to date: nothing to write ({n} files unchanged)\n"
    (work / "specs" / "fraud-detector.yaml").unlink()
    stdout = _run(work)[1]
    left = len([p for p in (work / "out").rglob("*") if p.is_file() and not p.name.startswith(".mlmon-manifest")])
    # The fleet files change (they list the models) and the model's own files go.
    assert stdout.startswith(f"wrote {left} files (0 added, ")
    assert f" changed, {n - left} removed, " in stdout and " 0 changed" not in stdout


def test_check_diff_shows_the_change_and_exits_1(work: Path) -> None:
    _run(work)
    spec = work / "specs" / "iris-classifier.yaml"
    spec.write_text(spec.read_text().replace("threshold: 100ms", "threshold: 300ms"))
    before = {p: p.read_bytes() for p in (work / "out").rglob("*") if p.is_file()}
    code, stdout, stderr = _run(work, "--check", "--diff")
    assert code == 1
    assert "stale: out/prometheus/rules/iris-classifier.rules.yml" in stdout
    assert "--- a/prometheus/rules/iris-classifier.rules.yml\n+++ b/prometheus/rules/iris-classifier.rules.yml\n" \
        in stdout
    assert "\n-" in stdout and "\n+" in stdout and "0.3" in stdout
    assert "is out of date" in stderr
    assert {p: p.read_bytes() for p in (work / "out").rglob("*") if p.is_file()} == before, "--check wrote"
    _run(work)
    code, stdout, _ = _run(work, "--check", "--diff")
    assert code == 0 and stdout.startswith("ok: out is up to date") and "---" not in stdout


def test_a_long_diff_is_cut_with_a_note(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(work)
    (work / "specs" / "fraud-detector.yaml").unlink()  # every line of its files would go
    monkeypatch.setattr(output, "DIFF_LINES", 5)
    code, stdout, _ = _run(work, "--check", "--diff")
    assert code == 1
    assert "--- a/prometheus/rules/fraud_detector.rules.yml\n+++ /dev/null\n" in stdout
    assert "more lines of the diff of prometheus/rules/fraud_detector.rules.yml left out (cut at 5)" in stdout
    assert "extra: out/prometheus/rules/fraud_detector.rules.yml" in stdout


def test_diff_without_check_is_a_usage_error(work: Path) -> None:
    code, _, stderr = _run(work, "--diff")
    assert code == 2 and "--diff goes with --check" in stderr
    assert not (work / "out").exists()
