"""The generated tree passes the real promtool, and `mlmon check` notices when it does not."""

from __future__ import annotations

import shutil

from conftest import ROOT, run_mlmon


def test_mlmon_check_passes_on_the_committed_output():
    result = run_mlmon("check", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   promtool test rules" in result.stdout


def test_mlmon_check_fails_on_a_broken_rule(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(ROOT / "out", out)
    rules = out / "prometheus" / "rules" / "iris-classifier.rules.yml"
    rules.write_text(rules.read_text().replace("sum(rate(", "sum(rate((", 1))
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "FAIL promtool check rules" in result.stdout


def test_mlmon_check_fails_when_a_generated_test_expectation_is_wrong(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(ROOT / "out", out)
    tests = out / "tests" / "iris-classifier.test.yml"
    tests.write_text(tests.read_text().replace("severity: critical", "severity: warning", 1))
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "FAIL promtool test rules" in result.stdout
