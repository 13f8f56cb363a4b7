"""`mlmon check`'s steps as data: a Run's command is what ran, its note says what was checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from mlmon_codegen.check import tree
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.cli.main import cli

RUNS = [
    Run(["promtool", "check", "config", "--lint=all", "--lint-fatal", "out/prometheus/prometheus.yml"], True, "",
        "(checked another way)"),
    Run(["grafana", "dashboards"], True, "", "2 dashboards, 9 queries"),
    Run(["mlmon", "scan-secrets", "out"], False, "out/x.yml:3: looks like a token"),
]

ENGINES = {"promtool": "9.9.9", "amtool": "0.99.0"}


@pytest.fixture
def fake_tree(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(tree, "check_tree", lambda out: RUNS)
    monkeypatch.setattr(tree, "engine_versions", lambda: ENGINES)
    return tmp_path


def test_text_prints_the_note_after_the_step(fake_tree: Path) -> None:
    r = CliRunner().invoke(cli, ["check", str(fake_tree)])
    assert r.exit_code == 1
    assert r.stdout.splitlines() == ["engines: promtool 9.9.9, amtool 0.99.0",
                                     "ok   promtool check config (checked another way)",
                                     "ok   grafana dashboards 2 dashboards, 9 queries",
                                     "FAIL mlmon scan-secrets out"]
    assert r.stderr == "out/x.yml:3: looks like a token\n"


def test_json_keeps_command_and_note_apart(fake_tree: Path) -> None:
    r = CliRunner().invoke(cli, ["check", "--format", "json", str(fake_tree)])
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert [(x["command"], x["note"]) for x in report["runs"]] == [(x.command, x.note) for x in RUNS]
    assert report["engines"] == ENGINES


@pytest.fixture(scope="module")
def every_target(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("check") / "out"
    args = ["generate", str(ROOT / "specs"), "-o", str(out), "--target", "kubernetes", "--target", "mimir",
            "--target", "thanos"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    return out


def test_no_step_hides_its_note_in_the_command(every_target: Path) -> None:
    runs = tree.check_tree(every_target)
    assert all(r.ok for r in runs), [r.output for r in runs if not r.ok]
    assert not [r.command for r in runs if any(word.startswith("(") or " " in word for word in r.command)]
    notes = {" ".join(r.command[:3]): r.note for r in runs if r.note}
    assert notes["amtool config routes"].endswith("routing cases pass)")
    assert re.match(r"\(\d+ objects", notes["kubernetes object sizes"])
    assert notes["grafana dashboards"].endswith(" queries")
    ruler_notes = [r.note for r in runs if r.command[:3] == ["promtool", "check", "rules"] and r.note]
    assert [n.split("/")[0] for n in ruler_notes] == ["(kubernetes", "(mimir", "(thanos"]
    # The rulers' rules are checked from copies deleted afterwards: no path of theirs is reported.
    assert all(not word.startswith("/") for r in runs if r.note in ruler_notes for word in r.command)
