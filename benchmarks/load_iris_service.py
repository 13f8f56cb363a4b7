"""Load test: the example iris service (examples/iris_service/app.py) under a bounded load on loopback.

    .venv/bin/python benchmarks/load_iris_service.py [SECONDS] [WORKERS]     # default 60 s, 4 workers

Workers send /predict with fresh ids and, for every fourth prediction, /feedback with its label
(a tenth of them twice, as replayed labels); a scraper reads /metrics every second as Prometheus
would. Prints throughput, p50/p99 latency, error count, the service's resident memory at start
and end, and the ground-truth check: labels counted by the service's metric must equal the
`counted` answers, replays must all be `duplicate`. Never part of pytest.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mlmon_codegen.stack.harness import free_port, stop_process

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("setosa", "versicolor", "virginica")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="mlmon-load-"))
    service = subprocess.Popen([sys.executable, str(ROOT / "examples" / "iris_service" / "app.py"), "--port", str(port),
                                "--db", str(tmp / "gt.sqlite"), "--spec", str(ROOT / "specs" / "iris-full.yaml")],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):  # up to 60 s to train and bind
            try:
                status, _ = request(http.client.HTTPConnection("127.0.0.1", port, timeout=2), "GET", "/metrics")
                if status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            err = service.stderr.read().decode()[-2000:] if service.stderr else ""
            raise SystemExit(f"service did not start: {err}")
        run(port, service.pid, seconds, workers)
    finally:
        stop_process(service, grace=10)


def run(port: int, pid: int, seconds: float, workers: int) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    feedback = {"counted": 0, "duplicate": 0, "other": 0, "replays": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = 0
        while time.monotonic() < stop:
            i += 1
            pid_ = f"w{n}-{i}"
            features = {"sepal_length": rng.uniform(4, 8), "sepal_width": rng.uniform(2, 4.5),
                        "petal_length": rng.uniform(1, 7), "petal_width": rng.uniform(0.1, 2.5)}
            t0 = time.perf_counter()
            try:
                status, _ = request(conn, "POST", "/predict", {"id": pid_, "features": features})
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"predict: {exc!r}")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            took = time.perf_counter() - t0
            with lock:
                latencies.append(took)
                if status != 200:
                    errors.append(f"predict: HTTP {status}")
            if i % 4:
                continue
            sends = 2 if i % 40 == 0 else 1  # a tenth of the labels are replayed
            for k in range(sends):
                try:
                    status, body = request(conn, "POST", "/feedback", {"id": pid_, "label": rng.choice(CLASSES)})
                    answer = json.loads(body).get("status", "other") if status == 200 else "other"
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    answer = f"error {exc!r}"
                with lock:
                    if answer in ("counted", "duplicate"):
                        feedback[answer] += 1
                    else:
                        feedback["other"] += 1
                        errors.append(f"feedback: {answer}")
                    feedback["replays"] += k

    scrapes = {"ok": 0, "failed": 0}

    def scraper() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                status, _ = request(conn, "GET", "/metrics")
                scrapes["ok" if status == 200 else "failed"] += 1
            except (OSError, http.client.HTTPException):
                scrapes["failed"] += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            time.sleep(1)

    rss_start = rss_kb(pid)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    threads.append(threading.Thread(target=scraper))
    for t in threads:
        t.start()
    samples = []
    while time.monotonic() < stop:
        time.sleep(min(5, max(0.1, stop - time.monotonic())))
        samples.append(rss_kb(pid))
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - t0
    rss_end = rss_kb(pid)

    _, body = request(http.client.HTTPConnection("127.0.0.1", port, timeout=10), "GET", "/metrics")
    counted_metric = sum(float(v) for v in re.findall(r"^ml_ground_truth_total\{[^}]*\} ([0-9.e+]+)$",
                                                       body.decode(), re.M))
    lat = sorted(latencies)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    print(f"load: {seconds:.0f}s, {workers} workers on loopback (load generator on the same cores)")
    print(f"  predictions: {len(lat)} in {elapsed:.1f}s = {len(lat) / elapsed:.0f}/s; "
          f"latency p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {q(1.0):.1f} ms")
    print(f"  errors: {len(errors)}{' ' + str(sorted(set(errors))[:5]) if errors else ''}; scrapes ok {scrapes['ok']}, "
          f"failed {scrapes['failed']}")
    print(f"  service RSS: start {rss_start / 1024:.1f} MiB, end {rss_end / 1024:.1f} MiB, "
          f"max {max(samples or [rss_end]) / 1024:.1f} MiB; every 5 s: {' '.join(f'{x / 1024:.1f}' for x in samples)}")
    exact = counted_metric == feedback["counted"] and feedback["duplicate"] == feedback["replays"]
    print(f"  ground truth: {feedback['counted']} counted, {feedback['duplicate']} duplicate "
          f"({feedback['replays']} replays sent), ml_ground_truth_total = {counted_metric:.0f}: "
          f"{'OK' if exact else 'MISMATCH'}")


if __name__ == "__main__":
    main()
