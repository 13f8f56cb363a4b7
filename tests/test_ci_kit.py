"""The CI and GitOps kit: pre-commit hooks, `--format json`, and terminal-only colour and progress."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.cli import output as ci
from mlmon_codegen.cli.main import cli

BAD_SPEC = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: m1, team: t}
scrape: {targets: ["h:1"]}
slos:
  availability: {objective: 100}
"""


def test_pre_commit_hooks_name_real_commands() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"mlmon-validate", "mlmon-generate-check"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        words = [*hook["entry"].split(), *hook["args"]]
        assert words[0] == "mlmon"
        command = cli.commands[words[1]]
        # Every option the hook passes exists on the command (click would exit 2 otherwise).
        ctx = command.make_context(words[1], words[2:], resilient_parsing=False)
        assert ctx.params


def test_validate_json_lists_every_problem_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "m1.yaml").write_text(BAD_SPEC)
    (tmp_path / "m2.yaml").write_text(BAD_SPEC.replace("m1", "m2").replace("objective: 100", "objective: 99, bogus: 1"))
    r = invoke_mlmon("validate", "--format", "json", str(tmp_path))
    assert r.returncode == 2
    report = json.loads(r.stdout)
    assert report["ok"] is False and report["models"] == []
    by_field = {p["field"]: p for p in report["problems"]}
    assert by_field["slos.availability.objective"]["line"] == 6
    assert by_field["slos.availability.objective"]["file"].endswith("m1.yaml")
    assert by_field["slos.availability.bogus"]["file"].endswith("m2.yaml")
    assert all(p["severity"] == "error" for p in report["problems"])


def test_validate_json_ok() -> None:
    r = invoke_mlmon("validate", "--format", "json", "specs")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] is True and "iris-classifier" in report["models"]


def _rules_tree(tmp: Path, expr: str) -> Path:
    rules = tmp / "out" / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "m.rules.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "g", "rules": [{"record": "job:up:sum", "expr": expr}]}]}))
    return tmp / "out"


def test_check_json_and_plain_text_off_a_terminal(mlmon, tmp_path: Path) -> None:
    from click.testing import CliRunner

    good = _rules_tree(tmp_path / "a", "sum(up)")
    r = CliRunner().invoke(cli, ["check", "--format", "json", str(good)])
    report = json.loads(r.stdout)
    assert r.exit_code == 0 and report["ok"] is True
    assert any(run["command"][:3] == ["promtool", "check", "rules"] and run["ok"] for run in report["runs"])
    bad = _rules_tree(tmp_path / "b", "sum(up")
    r = CliRunner().invoke(cli, ["check", "--format", "json", str(bad)])
    report = json.loads(r.stdout)
    assert r.exit_code == 1 and report["ok"] is False
    text = mlmon("check", str(bad))
    assert text.returncode == 1 and "FAIL" in text.stdout
    assert "\x1b[" not in text.stdout + text.stderr  # not a terminal: no colour, no progress line


def test_colour_and_progress_only_on_a_terminal(monkeypatch) -> None:
    assert "\x1b[" in ci.mark(False)  # styled; click.echo strips it when stdout is not a TTY

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, expect in ((Tty(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        with ci.progress("working ..."):
            pass
        assert ("working ..." in stream.getvalue()) == expect
        assert stream.getvalue().endswith("\r\x1b[K") == expect  # the line is erased afterwards
