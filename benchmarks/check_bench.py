"""`mlmon check` on N synthetic models (generate_bench's template: three SLOs each), each figure
beside its goal (issue 17: 1000 models in under 60 s, so 60 ms a model) or its floor in the same run.

- per step: the wall seconds each step of the parallel run reports (the steps overlap);
- test CPU ms/model: promtool's CPU for `test rules` over every test file, per model, beside the
  floor, `check rules` over the same rule files (parse and lint: the least any check does);
- --changed: `mlmon check --changed BASE` after one spec changed, BASE the tree before it.
Run: .venv/bin/python benchmarks/check_bench.py [N ...]   (default 20 200 1000)
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generate_bench import _write_specs

from mlmon_codegen.check import changed, promtool, tree

ROOT = Path(__file__).resolve().parents[1]
GOAL_S_PER_MODEL = 60 / 1000


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(value, wall seconds, CPU seconds of the processes it ran)."""
    cpu, start = _children_cpu(), time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start, _children_cpu() - cpu


def _generate(specs: Path, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "mlmon_codegen", "generate", str(specs), "-o", str(out)], check=True,
                   capture_output=True, cwd=ROOT)


def bench(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        specs, out, base = Path(tmp) / "specs", Path(tmp) / "out", Path(tmp) / "base"
        specs.mkdir()
        _write_specs(specs, n)
        _generate(specs, out)
        runs, total, _ = _timed(lambda: tree.check_tree(out))
        assert all(r.ok for r in runs), [r.output for r in runs if not r.ok]
        step = {" ".join(r.command[:3] if r.command[0] == "promtool" else r.command[:2]): r.seconds or 0.0
                for r in runs}
        tests = sorted((out / "tests").glob("*.test.yml"))
        rules = sorted((out / "prometheus" / "rules").glob("*.yml"))
        _, _, test_cpu = _timed(lambda: promtool.test_rules(tests))
        _, _, floor_cpu = _timed(lambda: promtool.check_rules(rules))
        shutil.copytree(out, base)
        spec = specs / f"model-{n // 2:04d}.yaml"
        spec.write_text(spec.read_text().replace("threshold: 250ms", "threshold: 300ms"))
        _generate(specs, out)
        def only_changed() -> tuple[changed.Selection, list[promtool.Run]]:
            sel = changed.select(out, str(base))
            return sel, tree.check_tree(out, only=sel.paths)

        (sel, runs), changed_s, _ = _timed(only_changed)
        assert all(r.ok for r in runs) and sel.paths is not None, sel.note
        return {"check": total, "test": step["promtool test rules"], "rules": step["promtool check rules"],
                "config": step["promtool check config"], "dash": step["grafana dashboards"],
                "secrets": step["mlmon scan-secrets"],
                "test_ms": 1000 * test_cpu / n, "floor_ms": 1000 * floor_cpu / n, "changed": changed_s}


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [20, 200, 1000]
    print(f"{'models':>7} {'check s':>8} {'goal s':>7} | per step s: {'test':>6} {'rules':>6} {'config':>6} "
          f"{'dashb':>6} {'secret':>6} | {'test CPU ms/model':>17} {'floor ms/model':>14} {'x floor':>7} | "
          f"{'--changed (1 model) s':>21} {'x check':>7}")
    for n in sizes:
        r = bench(n)
        print(f"{n:>7} {r['check']:>8.1f} {GOAL_S_PER_MODEL * n:>7.1f} | {'':12}{r['test']:>6.1f} {r['rules']:>6.1f} "
              f"{r['config']:>6.1f} {r['dash']:>6.1f} {r['secrets']:>6.1f} | {r['test_ms']:>17.1f} "
              f"{r['floor_ms']:>14.1f} {r['test_ms'] / r['floor_ms']:>7.1f} | {r['changed']:>21.1f} "
              f"{r['check'] / r['changed']:>7.1f}")


if __name__ == "__main__":
    main()
