"""The generated tree passes the real promtool, and `mlmon check` notices when it does not."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, run_mlmon

RULES = "prometheus/rules/iris-classifier.rules.yml"
UNIT_TESTS = "tests/iris-classifier.test.yml"


def _part_of_out(tmp_path: Path, *files: str) -> Path:
    """A tree of just these files of the committed out/: `mlmon check` then runs only the promtool
    call that reads them (the whole tree's unit tests take seconds; the first test runs them)."""
    out = tmp_path / "out"
    for f in files:
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "out" / f, out / f)
    return out


def test_mlmon_check_passes_on_the_committed_output():
    result = run_mlmon("check", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   promtool test rules" in result.stdout


def test_mlmon_check_fails_on_a_broken_rule(tmp_path):
    out = _part_of_out(tmp_path, RULES)
    rules = out / RULES
    rules.write_text(rules.read_text().replace("sum(rate(", "sum(rate((", 1))
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "FAIL promtool check rules" in result.stdout


def test_mlmon_check_fails_when_a_generated_test_expectation_is_wrong(tmp_path):
    out = _part_of_out(tmp_path, RULES, UNIT_TESTS)
    tests = out / UNIT_TESTS
    tests.write_text(tests.read_text().replace("severity: critical", "severity: warning", 1))
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "ok   promtool check rules" in result.stdout  # the rules are fine: the expectation fails
    assert "FAIL promtool test rules" in result.stdout
