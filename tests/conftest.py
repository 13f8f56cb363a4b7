"""Shared test helpers: run the CLI (as a real process, or in this one), and the example specs
loaded, rendered and generated once per session (once per worker under pytest-xdist)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import Result, load_and_validate

ROOT = Path(__file__).resolve().parents[1]

# Every Python subprocess the tests start (the CLI, the example service of tests/e2e/) imports
# mlmon_codegen from this checkout, even when the venv's editable install points at another one.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(autouse=True, scope="session")
def _spec_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`generate`'s cache of validated specs (build/cache.py) in the session's temporary folder,
    never the user's cache folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLMON_CACHE_DIR", str(tmp_path_factory.mktemp("spec-cache")))
        yield


# The two engine generations every engine test runs on: Debian bookworm's (on PATH) and the LTS
# releases of Debian's newer suite (make test unpacks them here), by the versions their tools print.
NEWER_ENGINES = ROOT / ".engines" / "newer" / "usr" / "bin"
GENERATIONS = {"bookworm": ("2.", "0.25."), "newer": ("3.5.", "0.33.")}


def use_generation(generation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with the generation's promtool, prometheus, amtool and alertmanager first; promtool's
    version checked, so a test never runs on another generation than it names. A missing newer
    engine fails, never skips."""
    if generation == "newer":
        assert (NEWER_ENGINES / "promtool").is_file(), f"{NEWER_ENGINES} is missing: run `make engines` " \
                                                       "(make test does)"
        monkeypatch.setenv("PATH", f"{NEWER_ENGINES}{os.pathsep}{os.environ['PATH']}")
    out = subprocess.run(["promtool", "--version"], capture_output=True, text=True).stdout
    assert f"version {GENERATIONS[generation][0]}" in out, out


@pytest.fixture(params=sorted(GENERATIONS))
def generation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once per engine generation, that generation's tools first on PATH."""
    use_generation(request.param, monkeypatch)
    return request.param


def run_mlmon(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m mlmon_codegen ARGS`: a real process, for exit codes, tracebacks, signals and locks."""
    return subprocess.run([sys.executable, "-m", "mlmon_codegen", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


def promtool_test(rule_path: Path, tests: list[dict[str, Any]], name: str = "scenario") -> None:
    """promtool test rules over one generated rule file with hand-written cases, the groups in file
    order (promtool's own order may vary, and an alert would read its recording one evaluation late)."""
    import yaml

    test_file = rule_path.parent / f"{name}.test.yml"
    order = [g["name"] for g in yaml.safe_load(rule_path.read_text())["groups"]]
    test_file.write_text(yaml.safe_dump({"rule_files": [rule_path.name], "evaluation_interval": "1m",
                                         "group_eval_order": order, "tests": tests}, sort_keys=False))
    res = subprocess.run(["promtool", "test", "rules", test_file.name], cwd=rule_path.parent,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def invoke_mlmon(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`mlmon ARGS` in this process (click's runner on the group `python -m mlmon_codegen` runs),
    with run_mlmon's result: the exit code and the two streams, for a fraction of a process' cost.

    An exception the CLI does not turn into an exit code fails the test here, with its traceback:
    the real command would print `mlmon: internal error` and exit 3.
    """
    from click.testing import CliRunner

    from mlmon_codegen.cli.main import cli

    before = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        result = CliRunner().invoke(cli, list(args), prog_name="mlmon")
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"mlmon {' '.join(args)}: internal error {result.exception!r}\n"
                             f"{result.stderr}") from result.exception
    return subprocess.CompletedProcess(["mlmon", *args], result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def mlmon():
    return run_mlmon


@pytest.fixture(scope="session")
def example_result() -> Result:
    """specs/ loaded and validated. Shared: tests only read it (the models are frozen dataclasses)."""
    return load_and_validate([ROOT / "specs"])


@pytest.fixture(scope="session")
def example_fleet(example_result: Result) -> m.Fleet:
    return example_result.fleet


@pytest.fixture(scope="session")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mlmon generate specs -o OUT` by the real CLI, into a session folder. Read it, never write
    into it: a test that changes a tree copies it first."""
    out = tmp_path_factory.mktemp("example") / "out"
    result = run_mlmon("generate", "specs", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


# ---------------------------------------------------------------- the end-to-end timings table

E2E_TIMING = "mlmon_e2e_timing"  # e2e/helpers.py TIMING_PROPERTY: this file does not import e2e/
_e2e_timings: list[tuple[str, str, float, float, float, float]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # In the controlling process too when pytest-xdist runs the tests in workers.
    if report.when == "teardown":
        _e2e_timings.extend(tuple(value) for name, value in report.user_properties if name == E2E_TIMING)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _e2e_timings:
        return
    tr = terminalreporter
    tr.section("mlmon end-to-end: fault → alert timings (seconds)")
    tr.write_line(f"{'scenario':<14} {'alert':<38} {'predicted':>9} {'active':>7} {'delivered':>9} "
                  f"{'active→delivered':>16}")
    for scenario, alert, predicted, active, delivered, hop in _e2e_timings:
        tr.write_line(f"{scenario:<14} {alert:<38} {predicted:>9.1f} {active:>7.1f} {delivered:>9.1f} {hop:>16.1f}")
