"""GroundTruthStore: predictions logged by id, joined with labels that arrive hours later.

SQLite in WAL mode: a logged prediction is on disk when `log_prediction` returns, so a restart
loses none, and readers never block the writer. A label is applied with one conditional UPDATE
(`WHERE labelled_at IS NULL`), so a replayed label changes no row and is not counted twice.

Counters across restarts: the confusion counter counts only labels joined by this process. On
start nothing is re-exposed from the database; Prometheus sees an ordinary counter reset, and
labels joined before the restart are not counted a second time.

A regression model's predictions and labels are numbers: `predicted_class` and `actual_class` hold
them as text (repr, which round-trips a float exactly), and a joined label is counted with
ModelMetrics.record_residual instead of the confusion counter.

Retention is bounded by age and by row count; pruning runs every PRUNE_EVERY writes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from mlmon_codegen.runtime.metrics import ModelMetrics

PRUNE_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    predicted_class TEXT NOT NULL,
    predicted_at REAL NOT NULL,
    actual_class TEXT,
    labelled_at REAL
);
CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (predicted_at);
"""


class LabelResult(Enum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"  # the id already has a label: nothing counted
    UNKNOWN_PREDICTION = "unknown_prediction"  # never logged, or pruned by retention


class GroundTruthStore:
    def __init__(self, path: str | Path, metrics: ModelMetrics | None = None,
                 retention_s: float = 14 * 86400, max_rows: int = 1_000_000,
                 clock: Callable[[], float] = time.time):
        if retention_s <= 0 or max_rows <= 0:
            raise ValueError("retention_s and max_rows must be positive")
        self.path = str(path)
        self.metrics = metrics
        self.retention_s = retention_s
        self.max_rows = max_rows
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        # One connection shared by the service's threads, serialised by the lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only an OS crash may lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def _regression(self) -> bool:
        return self.metrics is not None and self.metrics.model.task == "regression"

    def _value(self, value: str | float) -> str:
        """A class as given; a regression model's number as exact text (ValueError if not a number)."""
        return repr(float(value)) if self._regression() else str(value)

    def log_prediction(self, prediction_id: str, predicted_class: str | float, at: float | None = None) -> bool:
        """Remember a prediction (a class, or a regression model's predicted value) until its label
        arrives. False if the id was already logged."""
        when = self._clock() if at is None else at
        predicted_class = self._value(predicted_class)
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO predictions (id, predicted_class, predicted_at) "
                                   "VALUES (?, ?, ?)", (prediction_id, predicted_class, when))
            self._after_write()
        return cur.rowcount == 1

    def add_label(self, prediction_id: str, actual_class: str | float, at: float | None = None) -> LabelResult:
        """Join a label (a class, or a regression model's actual value) to its prediction; counts it
        once, however often it is replayed."""
        when = self._clock() if at is None else at
        actual_class = self._value(actual_class)  # before the UPDATE: a bad number changes no row
        with self._lock:
            cur = self._db.execute("UPDATE predictions SET actual_class = ?, labelled_at = ? "
                                   "WHERE id = ? AND labelled_at IS NULL RETURNING predicted_class, predicted_at",
                                   (actual_class, when, prediction_id))
            row = cur.fetchone()
            cur.close()
            if row is None:
                known = self._db.execute("SELECT 1 FROM predictions WHERE id = ?", (prediction_id,)).fetchone()
                return LabelResult.DUPLICATE if known else LabelResult.UNKNOWN_PREDICTION
            self._after_write()
        if self.metrics is not None:
            self.metrics.record_ground_truth(row[0], actual_class, when - row[1])
        return LabelResult.COUNTED

    def get(self, prediction_id: str) -> tuple[str, float, str | None, float | None] | None:
        """(predicted_class, predicted_at, actual_class, labelled_at) or None."""
        with self._lock:
            return self._db.execute("SELECT predicted_class, predicted_at, actual_class, labelled_at "
                                    "FROM predictions WHERE id = ?", (prediction_id,)).fetchone()

    def counts(self) -> tuple[int, int]:
        """(logged predictions kept, of which labelled)."""
        with self._lock:
            total, labelled = self._db.execute("SELECT count(*), count(labelled_at) FROM predictions").fetchone()
        return total, labelled

    def prune(self, now: float | None = None) -> int:
        """Drop rows past retention, then the oldest beyond max_rows. Returns rows deleted."""
        with self._lock:
            return self._prune(self._clock() if now is None else now)

    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self._prune(self._clock())

    def _prune(self, now: float) -> int:
        deleted = self._db.execute("DELETE FROM predictions WHERE predicted_at < ?", (now - self.retention_s,)).rowcount
        (rows,) = self._db.execute("SELECT count(*) FROM predictions").fetchone()
        if rows > self.max_rows:
            deleted += self._db.execute(
                "DELETE FROM predictions WHERE id IN (SELECT id FROM predictions ORDER BY predicted_at LIMIT ?)",
                (rows - self.max_rows,)).rowcount
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()
