"""Issue 18: every problem of every file in one run, did-you-mean where the valid set is known,
and `--strict` turning warnings into exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import invoke_mlmon

from mlmon_codegen.check import tree
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.cli.main import cli
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec import v1

PROJECT = """\
apiVersion: mlmon/v1
kind: Project
metadata:
  name: demo
alertmanager:
  time_intervals:
    office:
      - weekdays: ["monday:friday"]
        location: Europe/Londn
  receivers:
    - name: pricing-pager
      webhook: [{url: "https://pager.example.com/hook"}]
  teams:
    pricing:
      critical: pricing-pager
      warning: pricing-pager
"""

GOOD_PROJECT = PROJECT.replace("Europe/Londn", "Europe/London")

# One problem of each kind; the line numbers below are this text's.
MODEL = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata:
  name: price-model
  team: pricng
  ownr: someone
model:
  task: classifier
scrape:
  targets: ["price:8000"]
slos:
  availability:
    objective: 120
  acuracy:
    objective: 95
  latency:
    objective: "99.9%"
    threshold: 250ms
  errors-budget:
    objective: 99
    threshold: 100ms
    alerts:
      tiers: [ticket-slw]
alerting:
  model_down:
    no_traffic_for: 15
"""

# file:line:col, then what the line must say: every kind of problem, each once.
EXPECTED = [
    ("specs/model.yaml:5:3: warning: metadata.team:", "reach nobody", "did you mean 'pricing'?"),
    ("specs/mlmon.yaml:9:9: alertmanager.time_intervals.office[0].location:", "'Europe/Londn' is not an IANA",
     "did you mean 'Europe/London'?"),
    ("specs/model.yaml:6:3: metadata.ownr:", "unknown field 'ownr'", "allowed here: description, labels, name, team"),
    ("specs/model.yaml:8:3: model.task:", "Input should be 'classification' or 'regression'",
     "did you mean 'classification'?"),
    ("specs/model.yaml:13:5: slos.availability.objective:", "must be below 100", ""),
    ("specs/model.yaml:14:3: slos.acuracy:", "neither availability nor accuracy", "did you mean 'accuracy'?"),
    ("specs/model.yaml:17:5: slos.latency.objective:", "'99.9%' is not a number", "objective: 99.9"),
    ("specs/model.yaml:23:15: slos.errors-budget.alerts.tiers[0]:", "Input should be 'page-fast'",
     "did you mean 'ticket-slow'?"),
    ("specs/model.yaml:26:5: alerting.model_down.no_traffic_for:", "15 has no unit",
     "durations need a unit: 15m? 15s?"),
]


def _specs(tmp_path: Path, model: str = MODEL, project: str = PROJECT) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "mlmon.yaml").write_text(project)
    (specs / "model.yaml").write_text(model)
    return specs


def test_every_kind_of_problem_in_one_run(tmp_path: Path) -> None:
    _specs(tmp_path)
    proc = invoke_mlmon("validate", "specs", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[-1] == f"mlmon: {len(EXPECTED) - 1} problems found"  # the warning is not counted
    assert len(lines[:-1]) == len(EXPECTED), proc.stderr
    for (place, message, hint), line in zip(EXPECTED, lines[:-1], strict=True):
        assert line.startswith(place), line
        assert message in line, line
        assert hint in line.partition("(hint: ")[2], line
    # Nothing that only follows from a field left out: "`objective` is required" for the SLO whose
    # objective was "99.9%", a second word about the dropped tiers, the default task's checks.
    assert "is required" not in proc.stderr


def test_a_clean_document_gets_no_structural_pass_at_all(tmp_path: Path) -> None:
    # The same spec, fixed: the project's team now matches, and validation says ok.
    fixed = (MODEL.replace("pricng", "pricing").replace("  ownr: someone\n", "").replace("classifier", "classification")
             .replace("120", "99.5").replace("acuracy", "accuracy").replace('"99.9%"', "99.9")
             .replace("ticket-slw", "ticket-slow").replace("no_traffic_for: 15", "no_traffic_for: 15m"))
    _specs(tmp_path, fixed, GOOD_PROJECT)
    proc = invoke_mlmon("validate", "specs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok: 1 model valid\n"


def test_the_tier_names_a_spec_accepts_are_planning_s_tiers() -> None:
    assert tuple(p.name for p in burnrate.POLICY) == v1.TIER_NAMES


# ---------------------------------------------------------------- --strict

VALID_UNROUTED = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: price-model, team: growth}
scrape: {targets: ["price:8000"]}
slos:
  availability: {objective: 99.9}
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_strict_validate_fails_on_warnings_only(tmp_path: Path, fmt: str) -> None:
    _specs(tmp_path, VALID_UNROUTED, GOOD_PROJECT)
    plain = invoke_mlmon("validate", "--format", fmt, "specs", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "reach nobody" in plain.stderr + plain.stdout
    strict = invoke_mlmon("validate", "--strict", "--format", fmt, "specs", cwd=tmp_path)
    assert strict.returncode == 1, strict.stderr
    assert "reach nobody" in strict.stderr + strict.stdout
    if fmt == "text":
        assert strict.stderr.splitlines()[-1] == "mlmon: 1 warning found; --strict makes them fatal"


def test_strict_passes_without_warnings(tmp_path: Path) -> None:
    _specs(tmp_path, VALID_UNROUTED.replace("growth", "pricing"), GOOD_PROJECT)
    proc = invoke_mlmon("validate", "--strict", "specs", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    out = tmp_path / "out"
    proc = invoke_mlmon("generate", "--strict", "specs", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "prometheus").is_dir()


def test_strict_errors_still_exit_2(tmp_path: Path) -> None:
    _specs(tmp_path)
    proc = invoke_mlmon("validate", "--strict", "specs", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr


def test_strict_generate_writes_nothing_when_there_are_warnings(tmp_path: Path) -> None:
    _specs(tmp_path, VALID_UNROUTED, GOOD_PROJECT)
    out = tmp_path / "out"
    proc = invoke_mlmon("generate", "--strict", "specs", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "reach nobody" in proc.stderr
    assert not out.exists()
    proc = invoke_mlmon("generate", "--strict", "--check", "specs", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert not out.exists()
    # Without --strict the same specs generate, warning included.
    proc = invoke_mlmon("generate", "specs", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "reach nobody" in proc.stderr


@pytest.mark.parametrize(("warning", "strict", "code"), [(False, True, 0), (True, False, 0), (True, True, 1)])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_strict_check_fails_on_a_warning_note(monkeypatch, tmp_path: Path, warning: bool, strict: bool, code: int,
                                              fmt: str) -> None:
    runs = [Run(["promtool", "check", "config"], True, "", "(checked with kubernetes_sd_configs as static)",
                warning=warning)]
    monkeypatch.setattr(tree, "check_tree", lambda out: runs)
    args = ["check", "--format", fmt, *(["--strict"] if strict else []), str(tmp_path)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == code, r.stdout + r.stderr
