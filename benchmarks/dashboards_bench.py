"""Dashboards: render time per model, and the cost of proving every panel query with promtool.

For N synthetic models: seconds to render the dashboards (grafanalib → JSON data), the number of
panel queries, and seconds for the structure checks plus one batched `promtool check rules` over
every query (the `mlmon check` step), and for locating one broken query among them.
Run: .venv/bin/python benchmarks/dashboards_bench.py [N ...]   (default 10 100)
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path

from generate_bench import SPEC

from mlmon_codegen.check import dashboards as dashboard_check
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets.grafana import dashboards


def main(sizes: list[int]) -> None:
    print(f"{'models':>7} {'render s':>9} {'ms/model':>9} {'queries':>8} {'check s':>8} {'1 broken s':>10}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(n):
                (Path(tmp) / f"model-{i:04d}.yaml").write_text(SPEC.format(i=i, team=i % 7))
            fleet = load_and_validate([Path(tmp)]).fleet
        dashboards.model_layout.cache_clear()
        start = time.perf_counter()
        artifacts = [dashboards.model_artifact(x) for x in fleet.models] + dashboards.fleet_artifacts(fleet)
        render_s = time.perf_counter() - start
        boards = {a.path: a.data for a in artifacts}
        queries = sum(len(dashboard_check.expressions(k, v)) for k, v in boards.items())
        start = time.perf_counter()
        problems = dashboard_check.check_dashboards(boards)
        check_s = time.perf_counter() - start
        assert not problems, problems[:3]
        broken = copy.deepcopy(boards)
        first = next(iter(broken.values()))
        panel = next(p for p in first["panels"] if p.get("targets"))
        panel["targets"][0]["expr"] += ")"
        start = time.perf_counter()
        found = dashboard_check.check_dashboards(broken)
        broken_s = time.perf_counter() - start
        assert len(found) == 1, found
        print(f"{n:>7} {render_s:>9.3f} {render_s / n * 1000:>9.2f} {queries:>8} {check_s:>8.3f} {broken_s:>10.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100])
