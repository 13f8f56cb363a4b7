"""`make demo` on the example specs, watched for 10 real minutes: nothing pending or firing in
Prometheus, nothing reaching Alertmanager, the model that cannot run here left out and said so.

The demo runs as `make demo` runs it (`mlmon up out --specs specs` in the repository, the
demo's own traffic), as a real process that this test stops with SIGTERM, as Ctrl-C would.
One probe alert posted to Alertmanager at the start proves that the webhook log would show a
notification (when, which model, which alert), and that the counters below count what arrives.

This file sorts before every other test file (tests/e2e/ first, `test_demo` before `test_e2e_*`):
under pytest-xdist it starts first, so its ten minutes overlap the rest of the suite.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlmon_codegen.stack.harness import http_json

ROOT = Path(__file__).resolve().parents[2]
QUIET_SECONDS = 600.0  # the issue's "first 10 minutes", from Prometheus' first scrape
STARTUP_SECONDS = 120.0
PROBE = "DemoWebhookProbe"
PROBE_LABELS = {"alertname": PROBE, "model": "iris-classifier", "team": "ml-platform", "severity": "warning"}
# `describe` in mlmon_codegen/stack/webhook.py: time (UTC), receiver, status, alert and its model.
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) webhook (\S+): firing (\w+)\{model=([\w-]+)\}$")
SERVERS = ("prometheus", "alertmanager", "webhook recorder", "mlmon-iris-classifier", "mlmon-iris-full")


class Demo:
    """`mlmon up out --specs specs` in a process group of its own, its output read as it comes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlmon_codegen", "up", "out", "--specs", "specs", "--for", "15m"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = next((x for x in self.lines if re.search(pattern, x)), None)
            if hit is not None:
                return hit
            assert self.proc.poll() is None, f"mlmon up exited with {self.proc.returncode}:\n" + "\n".join(self.lines)
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} in {timeout:.0f}s:\n" + "\n".join(self.lines))

    def urls(self) -> dict[str, str]:
        found = {}
        for line in self.lines:
            name, _, url = line.strip().rpartition(" ")
            if url.startswith("http://") and name.strip() in SERVERS:
                found[name.strip()] = url
        return found

    def stop(self) -> int:
        """SIGTERM, which `mlmon up` handles as Ctrl-C; SIGKILL to the group if it does not end."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)
        finally:
            self._reader.join(timeout=10)


def query(prometheus: str, expr: str) -> list[dict[str, object]]:
    answer = http_json(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=30)
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def counter_sum(url: str, name: str) -> float:
    """The sum of one counter's series in a server's own /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith((name + "{", name + " "))]
    assert values, f"{url}/metrics has no {name}"
    return sum(values)


def answers(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/-/ready", timeout=2):
        return True
    return False


def test_make_demo_fires_nothing_for_ten_minutes() -> None:
    demo = Demo()
    try:
        demo.wait_line(r"^running for at most", STARTUP_SECONDS)
        urls = demo.urls()
        assert set(urls) == set(SERVERS), demo.lines
        prometheus, alertmanager = urls["prometheus"], urls["alertmanager"]
        left_out = [x for x in demo.lines if "left out" in x]
        assert len(left_out) == 1 and "mlmon-fraud_detector" in left_out[0] and "Kubernetes" in left_out[0], left_out

        deadline = time.monotonic() + STARTUP_SECONDS
        while len(query(prometheus, "up == 1")) < 2:
            assert time.monotonic() < deadline, query(prometheus, "up")
            time.sleep(0.5)
        first_scrape = min(float(r["values"][0][0]) for r in query(prometheus, "up[5m]"))  # type: ignore[index]

        probe_at = datetime.now(UTC)
        http_json(f"{alertmanager}/api/v2/alerts", [{  # type: ignore[arg-type]
            "labels": PROBE_LABELS, "annotations": {"summary": "the test's probe"},
            "startsAt": probe_at.isoformat(), "endsAt": (probe_at + timedelta(hours=1)).isoformat()}])

        # Fail as soon as something is active, with what it is; else wait out the ten minutes.
        while time.time() < first_scrape + QUIET_SECONDS:
            active = query(prometheus, "ALERTS")
            assert active == [], f"active after {time.time() - first_scrape:.0f}s: {[a['metric'] for a in active]}"
            assert demo.proc.poll() is None, "\n".join(demo.lines)
            time.sleep(min(10.0, max(0.0, first_scrape + QUIET_SECONDS - time.time())))

        window = int(time.time() - first_scrape) + 60  # and the minute before the first scrape
        ever = query(prometheus, f"ALERTS[{window}s]")
        assert ever == [], f"pending or firing during the demo: {[a['metric'] for a in ever]}"
        assert counter_sum(prometheus, "prometheus_notifications_sent_total") == 0
        assert counter_sum(alertmanager, "alertmanager_alerts_received_total") == 1  # the probe alone

        # Not quiet for want of data: both services' rules ran, with data, and the fraud detector's did not load.
        rules = http_json(f"{prometheus}/api/v1/rules", timeout=30)["data"]["groups"]
        loaded = {r["labels"].get("model") for g in rules for r in g["rules"] if r.get("labels")}
        assert "fraud_detector" not in loaded and not any("fraud_detector" in g["name"] for g in rules)
        assert [r for g in rules for r in g["rules"] if r.get("lastError")] == []
        ratios = {r["metric"]["model"] for r in query(prometheus, "mlmon_slo:error_ratio:rate5m")}  # type: ignore[index]
        assert ratios == {"iris-classifier", "iris-full"}
        assert query(prometheus, "mlmon_ml:feature_psi:increase1h"), "the drift rules recorded nothing"

        # The webhook log: the probe and nothing else, with its time, receiver, alert and model.
        logged = [x for x in demo.lines if re.match(r"\S+ webhook ", x)]  # not the URL list's "  webhook recorder"
        assert len(logged) == 1, logged
        when, receiver, alert, model = LOG_LINE.fullmatch(logged[0]).groups()  # type: ignore[union-attr]
        at = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert probe_at - timedelta(seconds=1) <= at <= probe_at + timedelta(seconds=90)  # group_wait 30s
        assert (receiver, alert, model) == ("ml-platform-tickets", PROBE, "iris-classifier")
    finally:
        code = demo.stop()
    assert code == 0 and demo.lines[-1] == "stopped", demo.lines[-5:]
    assert not any(answers(url) for url in (prometheus, alertmanager)), "a server outlived mlmon up"


def first_test_file(folder: Path) -> Path | None:
    """The first test file pytest collects under `folder`: its entries sorted by name, depth first."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and not entry.name.startswith((".", "__")):
            found = first_test_file(entry)
            if found is not None:
                return found
        elif entry.name.startswith("test_") and entry.suffix == ".py":
            return entry
    return None


def test_the_quiet_demo_is_collected_first() -> None:
    """Cheap on purpose: an xdist worker runs a test only once it holds the next one, so the test
    collected after the demo waits out its ten minutes; this one, defined right after it, is that test."""
    assert first_test_file(ROOT / "tests") == Path(__file__)
    tests = [name for name, value in globals().items() if name.startswith("test_") and callable(value)]
    assert tests == ["test_make_demo_fires_nothing_for_ten_minutes", "test_the_quiet_demo_is_collected_first"]
