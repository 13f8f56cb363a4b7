"""Training and production tables for `mlmon baseline` and `mlmon drift`: reading, and the bins.

Bins are the contract with the generated rules: the service's feature histogram has exactly
`edges` as bucket upper bounds, bin i holds (edges[i-1], edges[i]] (Prometheus' `le`), so every
share computed here is the share the PromQL rules compute from the buckets.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MISSING = {"", "na", "n/a", "null", "none"}
MAX_ROWS = 5_000_000


class DataError(Exception):
    """Bad input data: the message names the file, and the row and column where it can."""


@dataclass(frozen=True)
class Table:
    path: str
    columns: dict[str, list[str | None]]  # None = missing
    rows: int


def read_table(path: Path) -> Table:
    if path.suffix == ".parquet":
        return _read_parquet(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            head = next(reader, None)
            if not head:
                raise DataError(f"{path}: empty file, expected a header row")
            names = [h.strip() for h in head]
            if len(set(names)) != len(names):
                raise DataError(f"{path}:1: duplicate column names")
            cols: dict[str, list[str | None]] = {n: [] for n in names}
            rows = 0
            for rows, row in enumerate(reader, start=1):
                if rows > MAX_ROWS:
                    raise DataError(f"{path}: more than {MAX_ROWS} rows; sample the data first")
                if len(row) != len(names):
                    raise DataError(f"{path}:{rows + 1}: {len(row)} fields, the header has {len(names)}")
                for n, v in zip(names, row, strict=True):
                    v = v.strip()
                    cols[n].append(None if v.lower() in MISSING else v)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if rows == 0:
        raise DataError(f"{path}: no data rows")
    return Table(str(path), cols, rows)


def _read_parquet(path: Path) -> Table:
    try:
        import pyarrow.parquet as pq  # optional: only when someone has parquet files
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or export CSV") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{path}: cannot read Parquet: {exc}") from exc
    cols: dict[str, list[str | None]] = {}
    for name in table.column_names:
        cols[name] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                      for v in table.column(name).to_pylist()]
    return Table(str(path), cols, table.num_rows)


DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
TEXT_MIN_ROWS = 20  # too few rows say nothing about how often values repeat
TEXT_MEAN_LENGTH = 20


def categories(table: Table, name: str) -> list[str]:
    """A categorical feature's present values, or DataError when they cannot be categories.

    Timestamps and free text are (almost) all distinct: as categories, every current value is one
    the baseline never saw, so they would always drift (PSI 13 and more) and say nothing."""
    present = [v for v in column(table, name) if v is not None]
    if not present:
        raise DataError(f"{table.path}: column {name!r} has no values")
    dates = sum(1 for v in present if DATETIME_RE.fullmatch(v.strip()))
    if dates >= 0.9 * len(present):
        raise DataError(f"{table.path}: column {name!r} holds dates or times ({present[0]!r}, ...): as a "
                        "category every timestamp is new, so it would always drift; derive a numeric feature "
                        "from it (the hour, the weekday, or the age in days) and declare that instead")
    distinct = len(set(present))
    mean_length = sum(len(v) for v in present) / len(present)
    if len(present) >= TEXT_MIN_ROWS and distinct > 0.5 * len(present) and mean_length > TEXT_MEAN_LENGTH:
        raise DataError(f"{table.path}: column {name!r} looks like free text ({distinct} distinct values in "
                        f"{len(present)} rows, {mean_length:.0f} characters on average): as categories they "
                        "never repeat; declare a numeric feature such as its length, or a category derived from it")
    return present


def column(table: Table, name: str, role: str = "feature") -> list[str | None]:
    if name not in table.columns:
        hint = "; name it with --label COLUMN, or pass --no-label" if role == "label" else ""
        raise DataError(f"{table.path}: no {role} column {name!r} (columns: {', '.join(table.columns)}){hint}")
    return table.columns[name]


def numeric(table: Table, name: str) -> tuple[np.ndarray, int]:
    """Finite values and the number of missing ones. NaN and inf are errors, not silent data."""
    values = []
    missing = 0
    for i, raw in enumerate(column(table, name)):
        if raw is None:
            missing += 1
            continue
        try:
            x = float(raw)
        except ValueError:
            raise DataError(f"{table.path}:{i + 2}: column {name!r}: {raw!r} is not a number "
                            "(declare the feature `type: categorical`?)") from None
        if not math.isfinite(x):
            raise DataError(f"{table.path}:{i + 2}: column {name!r}: {raw} is not a finite number; "
                            "leave the cell empty for a missing value")
        values.append(x)
    return np.asarray(values, dtype=float), missing


def tidy(x: float) -> float:
    """10 significant digits, for the baseline's summary numbers (min, mean, std) only.

    Never for edges: rounding an edge can move it across a tied data value (diabetes' `sex` has two
    values 5e-11 apart from their rounded forms), which merges bins the data keeps apart.
    """
    return float(f"{x:.10g}")


def quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """Interior edges at the 1/bins .. (bins-1)/bins quantiles, each an observed value, unrounded.

    With `le` buckets an edge equal to a data value keeps all its ties in the bin below it, and the
    float is written with repr (shortest round-trip text) by the baseline, the runtime and the rules
    alike, so all three agree to the bit. Repeated quantiles collapse, so a feature with few
    distinct values gets fewer bins; a value holding over 1/bins of the rows is always an edge, so
    it never shares a bin with the values above it.
    """
    qs = np.quantile(values, [k / bins for k in range(1, bins)], method="inverted_cdf")
    return sorted({float(v) for v in qs})


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts per bin with Prometheus' `le` semantics: bin i holds (edges[i-1], edges[i]]."""
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="left")
    return np.bincount(idx, minlength=len(edges) + 1)


def psi(current: list[float], reference: list[float], epsilon: float) -> float:
    """The same formula as the recording rules: sum (p - q) ln((p + eps) / (q + eps))."""
    p = np.asarray(current, dtype=float)
    q = np.asarray(reference, dtype=float)
    return float(np.sum((p - q) * np.log((p + epsilon) / (q + epsilon))))
