"""A bounded load generator for the example iris service: steady /predict calls with real iris
rows, optionally followed by /feedback labels (right or deliberately wrong).

It stops by itself after `max_seconds`, and on `stop()`. Connection errors (a killed service)
are counted, not raised. Settings are plain attributes, changed while it runs.
"""

from __future__ import annotations

import csv
import http.client
import json
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")


def iris_rows(path: Path) -> list[tuple[dict[str, float], str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [({k: float(row[k]) for k in FEATURES}, row["species"]) for row in csv.DictReader(f)]


@dataclass
class Counts:
    predictions: int = 0
    failed: int = 0  # non-200 answers (injected faults, malformed requests)
    unreachable: int = 0  # connection errors (the service is down)
    labels: int = 0
    wrong_labels: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


class Traffic:
    """`rps` requests per second spread over `workers` threads (a slow service keeps its rate up
    to `workers` / latency). `label_share`: share of predictions that get a label;
    `wrong_share`: share of those labels that name another class than the true one;
    `invalid_share`: share of malformed requests (they answer 422 and count as failed requests);
    `invalid_at_start`: malformed requests sent first, so the error series exist from the first
    scrape without adding noise to the error ratios later; `wrong_at_start`: likewise, each
    worker's first labels are wrong, so every (predicted, actual) series exists early. A counter
    series born later loses its first increase to rate(), which would delay the alerts it feeds."""

    def __init__(self, host: str, port: int, rows: list[tuple[dict[str, float], str]], rps: float = 20.0,
                 workers: int = 4, max_seconds: float = 600.0, seed: int = 0):
        self.host, self.port, self.rows = host, port, rows
        self.rps, self.workers, self.max_seconds = rps, workers, max_seconds
        self.label_share = 0.0
        self.wrong_share = 0.0
        self.invalid_share = 0.0
        self.invalid_at_start = 0
        self.wrong_at_start = 0
        self.counts = Counts()
        self._stop = threading.Event()
        self._seed = seed
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        deadline = time.monotonic() + self.max_seconds
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i, deadline), name=f"traffic-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _post(self, conn: http.client.HTTPConnection, path: str, body: dict[str, object]) -> int:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def _run(self, worker: int, deadline: float) -> None:
        rng = random.Random(self._seed * 1000 + worker)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        n = labelled = 0
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline:
            features, species = self.rows[rng.randrange(len(self.rows))]
            pid = f"w{worker}-{n}-{rng.randrange(1 << 30)}"
            n += 1
            body: dict[str, object] = {"id": pid, "features": features}
            if rng.random() < self.invalid_share or (worker == 0 and n <= self.invalid_at_start):
                body = {"id": pid, "features": {**features, "sepal_length": "not a number"}}
            try:
                status = self._post(conn, "/predict", body)
                self.counts.add(predictions=1, failed=int(status != 200))
                if status == 200 and rng.random() < self.label_share:
                    wrong = rng.random() < self.wrong_share or labelled < self.wrong_at_start
                    labelled += 1
                    label = rng.choice([c for c in CLASSES if c != species]) if wrong else species
                    self._post(conn, "/feedback", {"id": pid, "label": label})
                    self.counts.add(labels=1, wrong_labels=int(wrong))
            except (OSError, http.client.HTTPException):
                self.counts.add(unreachable=1)
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                self._stop.wait(0.2)
            interval = self.workers / self.rps if self.rps > 0 else 1.0
            next_at = max(next_at + interval, time.monotonic() - interval)
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        conn.close()
