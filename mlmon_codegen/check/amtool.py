"""amtool via subprocess: check-config, and every routing case of tests/alertmanager-routes.yml."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from mlmon_codegen.check.promtool import Run, run
from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q


def check_config(config: Path) -> Run:
    return run("amtool", "check-config", str(config))


def route_test(config: Path, labels: dict[str, str], receivers: list[str]) -> Run:
    """amtool resolves the labels through the tree and fails unless exactly `receivers` (in tree
    order) get the alert."""
    matchers = [q.matcher(k, "=", v) for k, v in sorted(labels.items())]
    return run("amtool", "config", "routes", "test", f"--config.file={config}",
               f"--verify.receivers={','.join(receivers)}", *matchers)


def route_tests(cases_file: Path, config: Path) -> Run:
    """Every case of a routes file as one step; the output lists the cases that failed."""
    cases = (yaml.safe_load(cases_file.read_text()) or {}).get("cases") or []
    failed = []
    start = time.perf_counter()
    # One amtool process per case (~15 ms each); run them side by side, report in file order.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(lambda c: route_test(config, c["labels"], c["receivers"]), cases))
    for case, result in zip(cases, results, strict=True):
        if not result.ok:
            got = result.output.splitlines()[0] if result.output else "(no output)"
            failed.append(f"{case['name']}: expected {','.join(case['receivers'])}, amtool resolved {got}")
    summary = f"({len(cases) - len(failed)} of {len(cases)} routing cases pass)"
    return Run(["amtool", "config", "routes", "test", str(cases_file)], not failed, "\n".join(failed), summary,
               seconds=time.perf_counter() - start)


def check_tree(out: Path) -> list[Run]:
    config = out / naming.ALERTMANAGER_CONFIG
    if not config.exists():
        return []
    runs = [check_config(config)]
    cases = out / naming.ALERTMANAGER_ROUTE_TESTS
    if cases.exists():
        runs.append(route_tests(cases, config))
    return runs
