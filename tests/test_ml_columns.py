"""Columns that cannot be categories (timestamps, free text) are a clear error, not PSI 13.

As categories, almost every current value is one the baseline never saw, so such a feature would
drift on any data; `mlmon baseline` and `mlmon drift` say so, with what to declare instead.
"""

from __future__ import annotations

from pathlib import Path

from conftest import invoke_mlmon

SPEC = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: shop, team: t}
scrape: {targets: ["shop:8000"]}
features:
  colour: {type: categorical}
  %s: {type: categorical}
"""


def _table(path: Path, column: str, values: list[str]) -> None:
    colours = ["red", "green", "blue"]
    rows = [f"{colours[i % 3]},{v}" for i, v in enumerate(values)]
    path.write_text(f"colour,{column}\n" + "\n".join(rows) + "\n")


def _baseline(tmp_path: Path, column: str, values: list[str]):
    (tmp_path / "shop.yaml").write_text(SPEC % column)
    _table(tmp_path / "train.csv", column, values)
    return invoke_mlmon("baseline", "--data", str(tmp_path / "train.csv"), "--spec", str(tmp_path / "shop.yaml"),
                        "--no-label")


def test_a_timestamp_column_is_refused_with_what_to_declare(tmp_path: Path) -> None:
    stamps = [f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z" for i in range(60)]
    res = _baseline(tmp_path, "seen_at", stamps)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "column 'seen_at' holds dates or times" in res.stderr and "the age in days" in res.stderr
    assert not (tmp_path / "shop.baseline.yaml").exists()


def test_free_text_is_refused_and_short_repeating_categories_are_kept(tmp_path: Path) -> None:
    texts = [f"customer {i} wrote a long note about the order" for i in range(40)]
    res = _baseline(tmp_path, "note", texts)
    assert res.returncode == 2 and "column 'note' looks like free text (40 distinct values in 40 rows" in res.stderr
    # The same number of rows with a few short, repeating values is an ordinary category.
    sizes = ["small", "medium", "large", "medium"] * 10
    ok = _baseline(tmp_path, "size", sizes)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "shop.baseline.yaml").exists()


def test_drift_refuses_a_timestamp_column_in_the_current_data(tmp_path: Path) -> None:
    sizes = ["small", "medium", "large", "medium"] * 10
    assert _baseline(tmp_path, "size", sizes).returncode == 0
    stamps = [f"2026-12-01 {i % 24:02d}:{i % 60:02d}" for i in range(40)]
    _table(tmp_path / "prod.csv", "size", stamps)
    res = invoke_mlmon("drift", "--reference", str(tmp_path / "train.csv"), "--current", str(tmp_path / "prod.csv"),
                       "--spec", str(tmp_path / "shop.yaml"))
    assert res.returncode == 2 and "prod.csv: column 'size' holds dates or times" in res.stderr
