"""mlmon's drift verdict beside Evidently's DataDriftPreset, on the same cases.

The cases are tests/test_drift_corpus.py's: scikit-learn's wine, breast_cancer, diabetes and digits
split in random halves (reference, current), the current half as is (no drift) or every feature's
mean moved by 0.5 or 1 reference standard deviation, at 30, 100 and all rows. For each case both
tools give a dataset-level verdict (Evidently: the share of drifted columns at least its
drift_share 0.5, with its default per-column tests; mlmon: `mlmon drift`'s, defaults) and a
per-feature one. Printed: false alarms on the no-drift cases, misses on the shifted ones.

Evidently is an optional extra (`bench`), never a test dependency. It needs pandas < 3; if it does
not install cleanly beside the project, use a scratch venv:

    python -m venv /tmp/evb && /tmp/evb/bin/pip install evidently "pandas<3" scikit-learn pyyaml
    PYTHONPATH=. /tmp/evb/bin/python benchmarks/drift_vs_evidently.py

(or `pip install -e '.[bench]'`). Prints figures only; never fails a build.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

try:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
except ImportError as exc:
    sys.exit(f"drift_vs_evidently: Evidently is not installed ({exc}).\n"
             "Install it into a scratch venv:\n"
             "  python -m venv /tmp/evb && /tmp/evb/bin/pip install evidently 'pandas<3' scikit-learn pyyaml\n"
             "  PYTHONPATH=. /tmp/evb/bin/python benchmarks/drift_vs_evidently.py")

from test_drift_corpus import Case, cases, verdict  # noqa: E402

from mlmon_codegen.spec import ml  # noqa: E402


def evidently_verdict(case: Case) -> tuple[bool, int]:
    """Evidently's dataset drift (drifted share >= 0.5) and its count of drifted columns."""
    snap = Report([DataDriftPreset()]).run(reference_data=pd.DataFrame(case.reference),
                                           current_data=pd.DataFrame(case.current))
    metrics = snap.dict()["metrics"]
    counted = next(m for m in metrics if m["metric_name"].startswith("DriftedColumnsCount"))
    return bool(counted["value"]["share"] >= counted["config"]["drift_share"]), int(counted["value"]["count"])


def main() -> None:
    warnings.filterwarnings("ignore")
    every = list(cases())
    # (dataset, rows, shift) -> tool -> [dataset verdicts, cases, drifted features, features]
    rows: dict[tuple[str, int, float], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    spent = {"mlmon": 0.0, "evidently": 0.0}
    for c in every:
        t = time.perf_counter()
        rep = verdict(c, ml.DriftSpec())
        spent["mlmon"] += time.perf_counter() - t
        t = time.perf_counter()
        ev_drift, ev_count = evidently_verdict(c)
        spent["evidently"] += time.perf_counter() - t
        for tool, drifted, count in (("mlmon", rep.drifted, sum(f.drifted for f in rep.features)),
                                     ("evidently", ev_drift, ev_count)):
            cell = rows[(c.dataset, c.rows, c.shift)][tool]
            cell[0] += drifted
            cell[1] += 1
            cell[2] += count
            cell[3] += len(c.reference)
    print(f"{len(every)} cases; dataset-level wrong verdicts (false alarms when no drift, misses when shifted), "
          "and the share of features flagged")
    print(f"{'dataset':<14} {'n':>4}  {'case':<11} {'mlmon':>7} {'evidently':>10}   {'mlmon feat':>10} "
          f"{'evid. feat':>10}")
    totals = {t: [0, 0, 0, 0] for t in ("mlmon", "evidently")}  # false alarms, quiet, misses, shifted
    for (dataset, n, shift), tools in sorted(rows.items()):
        wrong = {}
        for tool, (hits, total, *_) in tools.items():
            wrong[tool] = hits if shift == 0 else total - hits
            totals[tool][0 if shift == 0 else 2] += wrong[tool]
            totals[tool][1 if shift == 0 else 3] += total
        case = "no drift" if shift == 0 else f"shift {shift:g}sd"
        share = {t: v[2] / v[3] for t, v in tools.items()}
        print(f"{dataset:<14} {n:>4}  {case:<11} {wrong['mlmon']:>4}/{tools['mlmon'][1]:<2} "
              f"{wrong['evidently']:>7}/{tools['evidently'][1]:<2}   "
              f"{share['mlmon']:>10.1%} {share['evidently']:>10.1%}")
    for tool, (fa, quiet, miss, shifted) in totals.items():
        print(f"{tool}: false alarms {fa}/{quiet}, misses {miss}/{shifted}, {spent[tool]:.1f} s")


if __name__ == "__main__":
    main()
