"""Both engine generations: Debian bookworm's prometheus 2.42 / alertmanager 0.25 (on PATH) and
today's LTS releases, prometheus 3.5 / alertmanager 0.33, which `make test` unpacks into
.engines/newer (scripts/newer_engines.py). The generated tree, the burn-rate scenarios and a live
alert path must pass on each; a missing engine fails, it is never skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_mlmon

from mlmon_codegen.stack.harness import Stack

NEWER = ROOT / ".engines" / "newer" / "usr" / "bin"
ENGINES = {"bookworm": ("2.", "0.25."), "newer": ("3.5.", "0.33.")}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PATH with the generation's promtool, prometheus, amtool and alertmanager first."""
    if request.param == "newer":
        assert (NEWER / "promtool").is_file(), f"{NEWER} is missing: run `make engines` (make test does)"
        monkeypatch.setenv("PATH", f"{NEWER}{os.pathsep}{os.environ['PATH']}")
    prometheus, alertmanager = ENGINES[request.param]
    for tool, prefix in (("promtool", prometheus), ("amtool", alertmanager)):
        out = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
        assert f"version {prefix}" in out, (tool, out)  # the generation asked for, not another on PATH
    return request.param


def test_the_committed_output_passes_mlmon_check(engine: str) -> None:
    result = run_mlmon("check", "out")
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("promtool check config", "promtool check rules", "promtool test rules", "amtool check-config",
                 "amtool config routes"):
        assert f"ok   {step}" in result.stdout, (engine, result.stdout)


def test_mlmon_check_names_the_engines_it_ran(engine: str) -> None:
    prometheus, alertmanager = ENGINES[engine]
    text = run_mlmon("check", "out")
    assert text.returncode == 0, text.stdout + text.stderr
    [line] = [x for x in text.stdout.splitlines() if x.startswith("engines: ")]
    assert re.fullmatch(rf"engines: promtool {re.escape(prometheus)}\S+, amtool {re.escape(alertmanager)}\S+", line)
    report = json.loads(run_mlmon("check", "--format", "json", "out").stdout)
    assert report["engines"]["promtool"].startswith(prometheus)
    assert report["engines"]["amtool"].startswith(alertmanager)
    # The text line and the report name the same versions.
    assert line == f"engines: promtool {report['engines']['promtool']}, amtool {report['engines']['amtool']}"


def test_burn_rate_scenarios_fire_when_the_math_says(engine: str, tmp_path: Path) -> None:
    scenarios = ROOT / "tests" / "scenarios"
    result = run_mlmon("generate", str(scenarios / "slo-99.9-30d.yaml"), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    shutil.copy(tmp_path / "out" / "prometheus" / "rules" / "workbook.rules.yml", tmp_path / "rules.yml")
    for f in sorted(scenarios.glob("*.test.yml")):
        shutil.copy(f, tmp_path / f.name)
        run = subprocess.run(["promtool", "test", "rules", str(tmp_path / f.name)], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, (engine, f.name, run.stdout + run.stderr)


def test_a_down_model_pages_through_the_live_servers(engine: str, tmp_path: Path) -> None:
    """The servers themselves: Prometheus loads the generated config and rules, evaluates ModelDown
    for a target nobody serves, and Alertmanager routes it to the critical receiver."""
    out = tmp_path / "out"
    assert run_mlmon("generate", str(ROOT / "tests" / "e2e" / "specs"), "-o", str(out)).returncode == 0
    with Stack(out, {}, tmp_path / "stack", max_seconds=120) as stack:
        assert stack.webhook is not None
        deadline = time.time() + 60
        while time.time() < deadline and not stack.webhook.received("e2e-pager", "ModelDown"):
            time.sleep(0.5)
        pages = stack.webhook.received("e2e-pager", "ModelDown")
        assert pages, f"{engine}: ModelDown never reached the pager"
        alert = next(a for a in pages[0].body["alerts"] if a["labels"]["alertname"] == "ModelDown")
        assert alert["labels"]["model"] == "iris-e2e" and alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["runbook_url"].endswith("/model-down.md")  # its kind's shared runbook
