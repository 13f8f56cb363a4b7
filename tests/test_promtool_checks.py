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


CONFIG = "prometheus/prometheus.yml"


def _config_tree(tmp_path: Path, rule_files: list[str], extra: str = "") -> Path:
    out = tmp_path / "out"
    (out / "prometheus").mkdir(parents=True)
    (out / CONFIG).write_text("global: {evaluation_interval: 30s}\n" + extra
                              + "rule_files:\n" + "".join(f"- {f}\n" for f in rule_files))
    return out


def test_check_config_no_longer_reads_the_rule_files_but_check_rules_covers_every_one_it_lists(tmp_path):
    # A broken rule file outside prometheus/rules/ that the config lists: `check config --syntax-only`
    # passes it over, so `check rules` must take it up.
    out = _config_tree(tmp_path, ["elsewhere/*.yml"])
    (out / "prometheus" / "elsewhere").mkdir()
    (out / "prometheus" / "elsewhere" / "x.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - record: a:b:c\n    expr: sum(rate(\n")
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "ok   promtool check config" in result.stdout
    assert "FAIL promtool check rules" in result.stdout
    assert "elsewhere/x.yml" in result.stderr


def test_check_config_fails_on_a_rule_files_entry_that_matches_nothing_and_on_a_bad_setting(tmp_path):
    out = _config_tree(tmp_path, ["rules/missing.rules.yml"])
    result = run_mlmon("check", str(out))
    assert result.returncode == 1
    assert "FAIL promtool check config" in result.stdout
    assert "'rules/missing.rules.yml' matches no file" in result.stderr
    bad = _config_tree(tmp_path / "bad", [], extra="scrape_configs:\n- job_name: a\n  scrape_interval: 1x\n")
    result = run_mlmon("check", str(bad))
    assert result.returncode == 1
    assert "FAIL promtool check config" in result.stdout


def test_a_config_that_is_not_yaml_is_promtools_failure_not_a_traceback(tmp_path):
    out = tmp_path / "out"
    (out / "prometheus").mkdir(parents=True)
    (out / CONFIG).write_text("rule_files: [unclosed\n")
    result = run_mlmon("check", str(out))
    assert result.returncode == 1, result.stderr
    assert "FAIL promtool check config" in result.stdout
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
