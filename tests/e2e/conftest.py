"""Fixtures for the end-to-end tests: the e2e spec generated once, and a fresh local stack
(Prometheus, Alertmanager, the iris service under steady traffic, a webhook recorder) per test.

Each test gets its own TSDB and Alertmanager state, so no scenario sees another's alerts. The
stack is stopped even when a test fails, and its watchdog stops it after STACK_MAX_SECONDS anyway.
The servers are required: `make test` installs them, so a missing binary fails, never skips.
The fault → alert timings are printed after the run (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from e2e.helpers import (
    INVALID_AT_START,
    JOB,
    LABEL_SHARE,
    MODEL,
    SPECS,
    STACK_MAX_SECONDS,
    TIMING_PROPERTY,
    TIMINGS,
    TRAFFIC_RPS,
    WRONG_AT_START,
)
from mlmon_codegen.build import generate as gen
from mlmon_codegen.emit.write import render_files, write_tree
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import Stack


def generate(specs: Path, out: Path) -> m.Fleet:
    fleet = load_and_validate([specs]).fleet
    write_tree(out, render_files(gen.render_all(fleet)))
    return fleet


@pytest.fixture(scope="session")
def e2e_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "out"
    generate(SPECS, out)
    return out


@pytest.fixture(scope="session")
def e2e_specs_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The e2e specs after a reviewed change: availability raised from 95% to 97%."""
    specs = tmp_path_factory.mktemp("e2e-v2") / "specs"
    shutil.copytree(SPECS, specs)
    spec = specs / f"{MODEL}.yaml"
    text = spec.read_text()
    assert "availability: {objective: 95," in text
    spec.write_text(text.replace("availability: {objective: 95,", "availability: {objective: 97,"))
    return specs


@pytest.fixture(scope="session")
def e2e_out_v2(e2e_specs_v2: Path) -> Path:
    out = e2e_specs_v2.parent / "out"
    generate(e2e_specs_v2, out)
    return out


@pytest.fixture(scope="session")
def e2e_model() -> m.Model:
    (model,) = load_and_validate([SPECS]).fleet.models
    return model


@pytest.fixture
def stack(e2e_out: Path, tmp_path: Path):
    s = Stack(e2e_out, {JOB: SPECS / f"{MODEL}.yaml"}, workdir=tmp_path / "stack",
              max_seconds=STACK_MAX_SECONDS, traffic_rps=TRAFFIC_RPS,
              label_share=LABEL_SHARE, invalid_at_start=INVALID_AT_START,
              wrong_at_start=WRONG_AT_START)
    try:
        s.start()
        s.wait_targets_up()
        yield s
    finally:
        # Shown by pytest only when the test failed (captured output of the teardown).
        for proc in s.procs:
            print(f"--- {proc.name} (exit {proc.popen.poll()}), last lines of {proc.log}:\n{proc.log_tail()}")
        if s.webhook is not None:
            print("--- deliveries:", [(d.receiver, round(d.at - s.started_at, 1), sorted(d.alertnames()))
                                     for d in s.webhook.deliveries])
        s.stop()


@pytest.fixture(autouse=True)
def _report_timings(request: pytest.FixtureRequest):
    """The timings a test records ride on its report (user_properties), so that the run's summary
    (tests/conftest.py) lists them also when the tests ran in pytest-xdist workers."""
    seen = len(TIMINGS)
    yield
    request.node.user_properties.extend((TIMING_PROPERTY, t) for t in TIMINGS[seen:])
