"""Both engine generations: Debian bookworm's prometheus 2.42 / alertmanager 0.25 (on PATH) and
today's LTS releases, prometheus 3.5 / alertmanager 0.33, which `make test` unpacks into
.engines/newer (scripts/newer_engines.py). The generated tree, the burn-rate scenarios and a live
alert path must pass on each; a missing engine fails, it is never skipped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_mlmon, use_generation

from mlmon_codegen.stack.harness import Stack

ENGINES = {"bookworm": ("2.", "0.25."), "newer": ("3.5.", "0.33.")}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PATH with the generation's promtool, prometheus, amtool and alertmanager first."""
    use_generation(request.param, monkeypatch)
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


def test_timeslice_scenarios_hold_on_each_engine(engine: str, tmp_path: Path) -> None:
    """A range includes its left edge on 2.x and not on 3.x; the slice counts must not care."""
    import test_timeslices

    scenarios = (test_timeslices.test_budget_drops_one_slice_per_bad_slice_and_page_fast_fires_when_the_math_says,
                 test_timeslices.test_ratio_timeslices_average_the_slices_ratios)
    for i, scenario in enumerate(scenarios):
        (tmp_path / str(i)).mkdir()
        scenario(tmp_path / str(i))


HAND_EDITED = {"name": "hand-edited", "rules": [
    {"record": "job:http_server_duration:rate5m",
     "expr": 'sum by ("service.name") (rate({"http.server.duration_count", "k8s.pod"="x"}[5m]))'},
    {"record": "job:fast:ratio",
     "expr": 'sum(rate(http_duration_seconds_bucket{le="1"}[5m])) / sum(rate(http_duration_seconds_count[5m]))'},
]}


def test_what_one_engine_accepts_and_the_other_reads_otherwise_fails_check(engine: str, tmp_path: Path) -> None:
    """A UTF-8 name passes promtool 3 and fails promtool 2; an integer `le` equality passes both and
    matches a Go client's buckets on one generation only. `mlmon check` refuses both on either."""
    import yaml

    out = tmp_path / "out"
    assert run_mlmon("generate", str(ROOT / "tests" / "e2e" / "specs"), "-o", str(out)).returncode == 0
    [rules] = sorted((out / "prometheus" / "rules").glob("*.yml"))
    data = yaml.safe_load(rules.read_text())
    data["groups"].append(HAND_EDITED)
    rules.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_mlmon("check", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    promtool_line = next(x for x in result.stdout.splitlines() if x.endswith("promtool check rules") or
                         ("promtool check rules " in x and "rulers" not in x))
    # promtool itself: 3.5 takes the quoted names, 2.42 cannot parse them.
    assert promtool_line.startswith("ok" if engine == "newer" else "FAIL"), (engine, promtool_line)
    assert "FAIL engine compatibility" in result.stdout, result.stdout
    text = result.stdout + result.stderr  # a failing step's details go to stderr
    rel = rules.relative_to(out).as_posix()
    assert f"{rel}: job:http_server_duration:rate5m: 'service.name' is written as a UTF-8 name" in text
    assert f"{rel}: job:http_server_duration:rate5m: 'http.server.duration_count' is written as a UTF-8 name" \
        in text
    assert f"{rel}: job:http_server_duration:rate5m: 'k8s.pod' is written as a UTF-8 name" in text
    assert f'{rel}: job:fast:ratio: http_duration_seconds_bucket{{le="1"}} matches an integer bucket bound' \
        in text
    # Generated rules read bound 1 in both spellings and recorded series with their own `le`: not flagged.
    assert text.count("is written as a UTF-8 name") == 3
    assert text.count("matches an integer bucket bound") == 1
