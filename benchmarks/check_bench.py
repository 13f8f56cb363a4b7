"""`mlmon check` on N synthetic models (generate_bench's template: three SLOs each), per step,
beside what the same run measures as its floor and as the old design's cost.

- floor: `promtool check rules` over the same N rule files, the least a check must do;
- one tier-by-tier test file, times N: what `promtool test rules` cost when every model had its
  own full tests (before plan/shapes.py); now models of one shape share one such file.
Run: .venv/bin/python benchmarks/check_bench.py [N ...]   (default 20 200 1000)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate_bench import _write_specs

from mlmon_codegen.check import tree
from mlmon_codegen.check.promtool import check_rules

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def bench(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "out"
        specs.mkdir()
        _write_specs(specs, n)
        subprocess.run([sys.executable, "-m", "mlmon_codegen", "generate", str(specs), "-o", str(out)], check=True,
                       capture_output=True, cwd=ROOT)
        runs, total = _timed(lambda: tree.check_tree(out))
        assert all(r.ok for r in runs), [r.output for r in runs if not r.ok]
        steps = {}
        for step in ("check rules", "test rules"):
            _, steps[step] = _timed(lambda s=step: subprocess.run(
                ["promtool", *s.split(), *map(str, sorted((out / ("prometheus/rules" if s == "check rules" else
                                                                  "tests")).glob("*.yml")))],
                check=True, capture_output=True))
        first = sorted((out / "tests").glob("*.test.yml"))[0]
        _, one_full = _timed(lambda: subprocess.run(["promtool", "test", "rules", str(first)], check=True,
                                                    capture_output=True))
        _, floor = _timed(lambda: check_rules(sorted((out / "prometheus" / "rules").glob("*.yml"))))
        return {"check": total, "test rules": steps["test rules"], "check rules": steps["check rules"],
                "floor": floor, "old tests": one_full * n}


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [20, 200, 1000]
    print(f"{'models':>7} {'check s':>8} {'test rules s':>13} {'check rules s':>14} {'floor s':>8} "
          f"{'x floor':>8} {'old design s':>13}")
    for n in sizes:
        r = bench(n)
        print(f"{n:>7} {r['check']:>8.1f} {r['test rules']:>13.1f} {r['check rules']:>14.1f} {r['floor']:>8.1f} "
              f"{r['check'] / r['floor']:>8.1f} {r['old tests']:>13.0f}")


if __name__ == "__main__":
    main()
