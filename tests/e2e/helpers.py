"""Helpers of the end-to-end tests: the e2e spec's names, waiting for alerts and deliveries, timings."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from e2e.slo_math import seconds_to_fire
from mlmon_codegen.core import naming
from mlmon_codegen.plan import burnrate
from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import HOST, Proc, Stack, binary, free_port, stop_process
from mlmon_codegen.stack.webhook import Delivery

SPECS = Path(__file__).parent / "specs"
MODEL = "iris-e2e"
JOB = naming.job(MODEL)
TRAFFIC_RPS = 30.0
LABEL_SHARE = 0.5  # of predictions get a ground-truth label through /feedback
# Malformed requests (422) sent before Prometheus' first scrape: the error series and their panels
# have data from the start, and the error ratios see no noise from them.
INVALID_AT_START = 3
WRONG_AT_START = 3  # per traffic worker: wrong labels before the first scrape, for the same reason
STACK_MAX_SECONDS = 240.0
# Measured fault → first delivery to a webhook, per scenario; tests/conftest.py prints them after
# the run, from the reports' user_properties named TIMING_PROPERTY (e2e/conftest.py puts them there).
TIMINGS: list[tuple[str, str, float, float, float, float]] = []
TIMING_PROPERTY = "mlmon_e2e_timing"
# Clean traffic Prometheus sees before a fault: long enough that the windows hold a history the
# prediction depends on (a fault at start-up would fire any tier at once), short enough for CI.
WARM_UP_SECONDS = 15.0


def first_active(s: Stack, alertname: str, since: float = 0.0, **labels: str) -> float:
    """When the alert first became active after `since` (pending, or firing at once without `for`),
    read from its ALERTS samples. Not /api/v1/alerts' activeAt: a ratio that touches its
    threshold and dips back resolves the alert, and activeAt then names the second rise."""
    matchers = "".join(f', {k}="{v}"' for k, v in sorted(labels.items()))
    window = int(time.time() - s.started_at) + 2
    series = s.query(f'ALERTS{{alertname="{alertname}"{matchers}}}[{window}s]')
    times = [float(t) for r in series for t, _ in r["values"] if float(t) >= since]
    assert times, f"{alertname} {labels} never became active after {since}"
    return min(times)


def firing(s: Stack, alertname: str, **labels: str) -> dict[str, Any] | None:
    for a in s.alerts("firing"):
        if a["labels"].get("alertname") == alertname and all(a["labels"].get(k) == v for k, v in labels.items()):
            return a
    return None


def wait_firing(s: Stack, alertname: str, timeout: float, **labels: str) -> dict[str, Any]:
    """The alert once Prometheus has it firing; its activeAt says when it became active."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alert = firing(s, alertname, **labels)
        if alert is not None:
            return alert
        time.sleep(0.2)
    names = sorted({(a["labels"]["alertname"], a["state"]) for a in s.alerts()})
    raise AssertionError(f"{alertname} not firing after {timeout:.0f}s; alerts: {names}")


def wait_delivery(s: Stack, receiver: str, alertname: str, timeout: float,
                  status: str = "firing", after: float = 0.0) -> Delivery:
    """The first notification of `alertname` with `status` at `receiver` that arrived after `after`."""
    assert s.webhook is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [d for d in s.webhook.received(receiver, alertname, status) if d.at > after]
        if got:
            return got[0]
        time.sleep(0.1)
    seen = [(d.receiver, sorted(d.alertnames())) for d in s.webhook.deliveries]
    raise AssertionError(f"{alertname} ({status}) never reached {receiver} in {timeout:.0f}s; deliveries: {seen}")


def record_timing(scenario: str, alertname: str, fault_at: float, predicted: float, active_at: float,
                  delivered_at: float) -> None:
    TIMINGS.append((scenario, alertname, predicted, active_at - fault_at, delivered_at - fault_at,
                    delivered_at - active_at))


def warm_up(s: Stack, seconds: float = WARM_UP_SECONDS) -> None:
    time.sleep(max(0.0, s.started_at + seconds - time.time()))




# Tolerance: an alert may become active up to TOLERANCE_EARLY before and TOLERANCE_LATE after the
# predicted moment. Late: the fault is first seen at the next scrape (1s), the recording then the
# alert group run on their own 1s clocks (2s), and a counter series born with the fault (the first
# error of its type) shows its first increase one scrape later (1s). Early: rate() extrapolates to
# the window's edges, which can overshoot a ratio near its threshold by a scrape's worth. Plus 1s
# late for a loaded CI machine (2 shared cores): a long window's ratio climbs slowly (1/30 per
# second at 30s), so a small shortfall in counted events shows as seconds.
TOLERANCE_EARLY, TOLERANCE_LATE = 2.0, 5.0


def slo(model: m.Model, name: str) -> m.SLO:
    return next(s for s in model.slos if s.name == name)


def tier(s: m.SLO, name: str) -> burnrate.Tier:
    return next(t for t in burnrate.tiers(s) if t.name == name)


def predicted_delay(stack: Stack, fault_at: float, t: m.Tier, bad: float, base: float = 0.0,
                    weight: float = 1.0) -> float:
    return seconds_to_fire((t.short_ms / 1000, t.long_ms / 1000), t.threshold, fault_at - stack.started_at, bad, base,
                           weight)


def rate_change(stack: Stack, fault_at: float, until: float) -> float:
    """Requests per second after the fault (to `until`) over those in the 10s before it, as
    Prometheus counted them: a fault that slows the service also thins the events it weighs."""
    def per_second(at: float, seconds: int) -> float:
        expr = f'sum(increase(ml_prediction_requests_total{{model_name="{MODEL}"}}[{seconds}s]))'
        result = stack.query(expr, at=at)
        return float(result[0]["value"][1]) / seconds if result else 0.0
    before = per_second(fault_at, 10)
    after = per_second(until, max(2, int(until - fault_at)))
    return after / before if before > 0 else 1.0


def assert_on_time(active_at: float, fault_at: float, predicted: float, what: str) -> None:
    delay = active_at - fault_at
    assert predicted - TOLERANCE_EARLY <= delay <= predicted + TOLERANCE_LATE, (
        f"{what} became active {delay:.1f}s after the fault; the SLO math predicts {predicted:.1f}s "
        f"(tolerance -{TOLERANCE_EARLY}s/+{TOLERANCE_LATE}s)")



def wait_inhibited(stack: Stack, alertname: str, by: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        am = stack.am_alerts()
        fingerprints = {a["labels"]["alertname"]: a["fingerprint"] for a in am}
        target = next((a for a in am if a["labels"]["alertname"] == alertname), None)
        if target is not None and by in fingerprints and fingerprints[by] in target["status"]["inhibitedBy"]:
            assert target["status"]["state"] == "suppressed"
            return
        time.sleep(0.2)
    raise AssertionError(f"{alertname} not inhibited by {by} in Alertmanager: {stack.am_alerts()}")


class Exporter:
    """GET /metrics from a ModelMetrics; `lock` keeps a batch inside one scrape or the next."""

    def __init__(self, metrics: ModelMetrics):
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer.lock:
                    body = metrics.exposition()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Exporter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def scraping(exporter: Exporter, folder: Path, job: str, interval_s: int) -> Iterator[tuple[Proc, str]]:
    """A Prometheus on 127.0.0.1 that scrapes `exporter` as `job` and evaluates folder/rules.yml,
    both every `interval_s`; its process and URL, stopped on leaving."""
    port = free_port()
    (folder / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": f"{interval_s}s", "evaluation_interval": f"{interval_s}s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"{HOST}:{exporter.port}"]}]}]}))
    prom = Proc.start("prometheus", [binary("prometheus"), "--config.file=prometheus.yml",
                                     f"--storage.tsdb.path={folder / 'tsdb'}",
                                     f"--web.listen-address={HOST}:{port}"], folder)
    try:
        yield prom, f"http://{HOST}:{port}"
    finally:
        stop_process(prom.popen)
