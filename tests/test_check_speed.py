"""`mlmon check` splits promtool's file lists over processes side by side: a failure in any one
file of many still fails the step and is named in its output, and the report stays in file order."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mlmon_codegen.check import promtool, tree
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.cli.main import cli

FILES = 13  # more than one batch on any machine: WORKERS * BATCHES_PER_WORKER >= 4
BROKEN = 7  # neither the first nor the last batch


def _rules(i: int, expr: str = "up == 0") -> str:
    return f"groups:\n- name: g{i}\n  rules:\n  - record: job:up_zero_{i}:bool\n    expr: {expr}\n"


def _test(i: int, rules: str, value: str) -> str:
    return f"""rule_files:
- {rules}
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: up{{job="a"}}
    values: "0x3"
  promql_expr_test:
  - expr: job:up_zero_{i}:bool
    eval_time: 2m
    exp_samples:
    - labels: job:up_zero_{i}:bool{{job="a"}}
      value: {value}
"""


@pytest.fixture
def many(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(FILES):
        p = tmp_path / f"r-{i:02d}.rules.yml"
        p.write_text(_rules(i))
        paths.append(p)
    return paths


def test_batches_are_contiguous_and_cover_every_file() -> None:
    paths = [Path(f"f{i}") for i in range(10)]
    got = promtool.batches(paths, 4)
    assert [len(b) for b in got] == [3, 3, 2, 2]
    assert [p for b in got for p in b] == paths
    assert promtool.batches(paths[:2], 8) == [[paths[0]], [paths[1]]]


def test_check_rules_fails_when_one_file_of_many_is_broken_and_names_it(many: list[Path]) -> None:
    assert promtool.check_rules(many).ok
    many[BROKEN].write_text(_rules(BROKEN, "sum(up"))
    run = promtool.check_rules(many)
    assert not run.ok
    failing = [line for line in run.output.splitlines() if str(many[BROKEN]) in line]
    assert failing, run.output
    assert not [p for p in many if p != many[BROKEN] and f"{p}:" in run.output]  # only the broken file is blamed
    # The joined report reads in file order, as a single promtool call's would.
    checked = [line.split()[-1] for line in run.output.splitlines() if line.startswith("Checking ")]
    assert checked == [str(p) for p in many]
    assert run.command[-FILES:] == [str(p) for p in many]


def test_test_rules_fails_when_one_unit_test_file_of_many_fails_and_names_it(many: list[Path]) -> None:
    tests = []
    for i, rules in enumerate(many):
        t = rules.parent / f"t-{i:02d}.test.yml"
        t.write_text(_test(i, rules.name, "1" if i == BROKEN else "0"))  # `up == 0` keeps the 0: BROKEN expects 1
        tests.append(t)
    run = promtool.test_rules(tests)
    assert not run.ok
    blocks = run.output.split("Unit Testing:")[1:]
    assert [b.split()[0] for b in blocks] == [str(t) for t in tests]
    failed = [b.split()[0] for b in blocks if "FAILED" in b]
    assert failed == [str(tests[BROKEN])]


def test_text_report_shows_each_steps_time_and_no_progress_off_a_terminal(monkeypatch, tmp_path: Path) -> None:
    runs = [Run(["promtool", "check", "rules", "a.yml"], True, "", seconds=1.25),
            Run(["grafana", "dashboards"], True, "", "1 dashboards, 2 queries", seconds=0.04)]
    seen: list[object] = []
    monkeypatch.setattr(tree, "check_tree", lambda out, on_start=None: seen.append(on_start) or runs)
    monkeypatch.setattr(tree, "engine_versions", lambda: {"promtool": "9.9.9"})
    r = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["engines: promtool 9.9.9", "ok   promtool check rules [1.2s]",
                                     "ok   grafana dashboards 1 dashboards, 2 queries [0.0s]"]
    assert seen == [None] and r.stderr == ""


def test_steps_report_in_fixed_order_with_times(tmp_path: Path) -> None:
    rules = tmp_path / "prometheus" / "rules"
    rules.mkdir(parents=True)
    (rules / "a.yml").write_text(_rules(0))
    started: list[str] = []
    runs = tree.check_tree(tmp_path, on_start=started.append)
    assert [" ".join(r.command[:3]) for r in runs] == ["promtool check rules", "engine compatibility",
                                                      "mlmon scan-secrets " + str(tmp_path)]
    assert all(r.ok and r.seconds is not None for r in runs)
    assert "promtool check rules" in started and "mlmon scan-secrets" in started
