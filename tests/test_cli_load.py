"""One loader and one way out for every command (mlmon_codegen/cli/load.py).

Every command that reads specs finds the same files, validates them the same way, parses
user-written PromQL with promtool the same way, and fails on bad input with the same lines.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import mlmon_codegen
from mlmon_codegen.check import promtool
from mlmon_codegen.cli import load as loader
from mlmon_codegen.cli.main import cli
from mlmon_codegen.core import errors

PACKAGE = Path(mlmon_codegen.__file__).parent

# `{{ window }}` with spaces, as Jinja users write it: validation accepts it, so must the rest.
SPACED_WINDOW = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: m1, team: t}
scrape: {targets: ["m1:8000"]}
slos:
  business:
    objective: 99
    sli:
      error_query: sum(rate(errors_total[{{ window }}]))
      total_query: sum(rate(requests_total[{{  window}}]))
  ratio:
    objective: 99.5
    sli:
      error_ratio_query: sum(rate(bad_total[{{ window }}])) / sum(rate(all_total[{{window }}]))
"""

MODEL = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: NAME, team: t}
scrape: {targets: ["NAME:8000"]}
slos:
  availability: {objective: 99.9}
"""
TINY_BUDGET = "apiVersion: mlmon/v1\nkind: Project\nmetadata: {name: p}\nbudget:\n  series_per_model: 10\n"


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def spaced(tmp_path: Path) -> Path:
    path = tmp_path / "m1.yaml"
    path.write_text(SPACED_WINDOW)
    return path


def test_a_spaced_window_placeholder_validates(spaced: Path) -> None:
    r = _invoke("validate", str(spaced))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "ok: 1 model valid\n"
    report = json.loads(_invoke("validate", "--format", "json", str(spaced)).stdout)
    assert report == {"ok": True, "models": ["m1"], "problems": []}


def test_a_spaced_window_placeholder_generates_rules_promtool_accepts(spaced: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _invoke("generate", str(spaced), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    rule_files = sorted((out / "prometheus" / "rules").glob("*.yml"))
    assert rule_files
    exprs = [rule["expr"] for f in rule_files for g in yaml.safe_load(f.read_text())["groups"] for rule in g["rules"]]
    assert not [e for e in exprs if "{{" in e or "window" in e]
    assert "sum(sum(rate(errors_total[5m]))) / sum(sum(rate(requests_total[5m])))" in exprs
    assert "max(sum(rate(bad_total[5m])) / sum(rate(all_total[5m])))" in exprs
    run = promtool.check_rules(rule_files)
    assert run.ok, run.output


def test_the_parse_check_still_refuses_a_broken_query(tmp_path: Path) -> None:
    spec = tmp_path / "m1.yaml"
    spec.write_text(SPACED_WINDOW.replace("[{{ window }}])) /", "[{{ window }}])) /)"))
    r = _invoke("validate", str(spec))
    assert r.exit_code == errors.EXIT_INVALID
    [problem, count] = r.stderr.splitlines()
    assert problem.startswith(f"{spec}:14:7: slos.ratio.sli.error_ratio_query: promtool cannot parse the query:")
    assert count == "mlmon: 1 problem found"


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    """Two specs, each with one problem, and the tree `mlmon up` expects."""
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "a.yaml").write_text(MODEL.replace("NAME", "a").replace("99.9", "100"))
    (folder / "b.yaml").write_text(MODEL.replace("NAME", "b") + "  bogus: {objective: 99}\n")
    (tmp_path / "out" / "prometheus").mkdir(parents=True)
    (tmp_path / "out" / "prometheus" / "prometheus.yml").write_text("global: {}\n")
    return folder


COMMANDS = {
    "validate": ["validate", "{specs}"],
    "generate": ["generate", "{specs}", "-o", "{out}"],
    "generate --check": ["generate", "{specs}", "-o", "{out}", "--check"],
    "explain": ["explain", "{specs}"],
    "explain --json": ["explain", "--json", "{specs}"],
    "stats": ["stats", "{specs}"],
    "stats --json": ["stats", "--json", "{specs}"],
    "up": ["up", "{out}", "--specs", "{specs}"],
}


def _args(command: str, specs: Path) -> list[str]:
    return [a.format(specs=specs, out=specs.parent / "out") for a in COMMANDS[command]]


def test_every_command_fails_on_bad_specs_with_the_same_lines(bad: Path) -> None:
    before = sorted(p.relative_to(bad.parent) for p in bad.parent.rglob("*"))
    results = {c: _invoke(*_args(c, bad)) for c in COMMANDS}
    for command, r in results.items():
        assert r.exit_code == errors.EXIT_INVALID, (command, r.stdout, r.stderr)
        assert r.exception is None or isinstance(r.exception, SystemExit), command
        assert r.stdout == "", command
    lines = results["validate"].stderr.splitlines()
    assert len(lines) == 3 and lines[-1] == "mlmon: 2 problems found"
    assert lines[0].startswith(f"{bad / 'a.yaml'}:6:") and "slos.availability.objective" in lines[0]
    assert lines[1].startswith(f"{bad / 'b.yaml'}:7:") and "bogus" in lines[1]
    assert {c: r.stderr for c, r in results.items()} == {c: results["validate"].stderr for c in COMMANDS}
    assert sorted(p.relative_to(bad.parent) for p in bad.parent.rglob("*")) == before, "bad input wrote something"


def test_validate_json_reports_the_same_problems(bad: Path) -> None:
    r = _invoke("validate", "--format", "json", str(bad))
    assert r.exit_code == errors.EXIT_INVALID
    report = json.loads(r.stdout)
    text = _invoke("validate", str(bad)).stderr.splitlines()[:-1]
    assert report["ok"] is False and report["models"] == []
    assert [str(errors.Problem(p["file"], p["line"], p["column"], p["field"], p["message"], p["hint"],
                               p["severity"] == "warning")) for p in report["problems"]] == text


def test_a_spec_file_alone_brings_its_project_for_every_command(tmp_path: Path) -> None:
    (tmp_path / "m1.yaml").write_text(MODEL.replace("NAME", "m1"))
    (tmp_path / "mlmon.yaml").write_text(TINY_BUDGET)
    (tmp_path / "out" / "prometheus").mkdir(parents=True)
    (tmp_path / "out" / "prometheus" / "prometheus.yml").write_text("global: {}\n")
    spec = str(tmp_path / "m1.yaml")
    for args in (["validate", spec], ["generate", spec, "-o", str(tmp_path / "gen")], ["explain", spec],
                 ["up", str(tmp_path / "out"), "--specs", spec]):
        r = _invoke(*args)
        assert r.exit_code == errors.EXIT_INVALID, (args, r.stderr)
        assert "over the project budget of 10 per model" in r.stderr, args
        assert f"budget.series_per_model in {tmp_path / 'mlmon.yaml'}" in r.stderr, args
    # `stats` reads over-budget specs on purpose, and says so with exit 1: the project applied there too.
    r = _invoke("stats", spec)
    assert r.exit_code == errors.EXIT_FAILED and "budget 10 per model" in r.stdout


def test_a_project_given_elsewhere_is_not_joined_by_the_one_beside(tmp_path: Path) -> None:
    (tmp_path / "m1.yaml").write_text(MODEL.replace("NAME", "m1"))
    (tmp_path / "mlmon.yaml").write_text(TINY_BUDGET)
    other = tmp_path / "other"
    other.mkdir()
    (other / "project.yaml").write_text("apiVersion: mlmon/v1\nkind: Project\nmetadata: {name: roomy}\n")
    given = [str(tmp_path / "m1.yaml"), str(other / "project.yaml")]
    assert loader.with_project(given) == [Path(p) for p in given]
    assert _invoke("validate", *given).exit_code == 0


def test_only_a_project_beside_is_added(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MODEL.replace("NAME", "a"))
    (tmp_path / "b.yaml").write_text(MODEL.replace("NAME", "b"))
    (tmp_path / "broken.yaml").write_text("kind: Project\n  : : [")  # not YAML: not a project to add
    assert loader.with_project([str(tmp_path / "a.yaml")]) == [tmp_path / "a.yaml"]
    result = loader.load([str(tmp_path / "a.yaml")])
    assert [x.name for x in result.fleet.models] == ["a"]


def test_exit_codes_are_defined_once() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and path != PACKAGE / "core" / "errors.py":
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assert not [n for n in names if n.startswith("EXIT_")], f"{path}:{node.lineno}"
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "sys.exit" and node.args:
                assert not isinstance(node.args[0], ast.Constant), f"{path}:{node.lineno}: a bare exit code"


def test_commands_import_no_private_names() -> None:
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlmon_codegen"):
                assert not [a.name for a in node.names if a.name.startswith("_")], f"{path}:{node.lineno}"


def test_a_folder_that_cannot_be_listed_adds_nothing(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a.yaml").write_text(MODEL.replace("NAME", "a"))

    def unlistable(paths: list[Path]) -> None:
        raise PermissionError(13, "Permission denied", str(paths[0]))

    monkeypatch.setattr(loader, "discover", unlistable)
    assert loader.with_project([str(tmp_path / "a.yaml")]) == [tmp_path / "a.yaml"]
