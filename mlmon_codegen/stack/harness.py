"""Start and stop a local stack: Alertmanager, the model services, Prometheus, a webhook recorder.

Everything listens on 127.0.0.1 on free ports and lives in a temporary work folder (configs,
TSDB, logs). `stop()` ends every process it started, and so do a watchdog after `max_seconds`
and interpreter exit; on Linux each child also gets SIGKILL if this process dies (PR_SET_PDEATHSIG),
so no server outlives a crashed test run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlmon_codegen.core import processes
from mlmon_codegen.stack import configs
from mlmon_codegen.stack.traffic import Traffic, iris_rows
from mlmon_codegen.stack.webhook import WebhookRecorder

HOST = "127.0.0.1"
PROMETHEUS_PORT_TRIES = 3  # a port taken between choosing and binding it is replaced this often at most
REPO = Path(__file__).resolve().parents[2]
IRIS_APP = REPO / "examples" / "iris_service" / "app.py"
IRIS_DATA = REPO / "examples" / "data" / "iris.csv"


class StackError(Exception):
    pass


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now and never handed out before in this process: the kernel may offer a port it
    just released again, and two servers of one stack would then share it."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def stop_process(popen: subprocess.Popen[Any], sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
    """Ask a child to stop, then kill it after `grace` seconds: no test server outlives its test."""
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        popen.send_signal(sig)
    try:
        popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            popen.kill()
        popen.wait(timeout=5)


def binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if path:
            return path
    raise StackError(f"{names[0]} not found: install Debian's prometheus and prometheus-alertmanager "
                     "packages (`make tools` does it)")


def http_json(url: str, data: dict[str, Any] | None = None, method: str | None = None,
              timeout: float = 5.0) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"),
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def wait_until(what: str, check: Callable[[], bool], timeout: float, proc: Proc | None = None) -> None:
    """Poll `check` every 0.1s until it holds; fail with the process log when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise StackError(f"{proc.name} exited with {proc.popen.returncode} before {what}:\n{proc.log_tail()}")
        with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
            if check():
                return
        time.sleep(0.1)
    raise StackError(f"timed out after {timeout:.0f}s waiting for {what}" + (f":\n{proc.log_tail()}" if proc else ""))


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> Proc:
        log = workdir / f"{name}.log"
        with log.open("ab") as f:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                     cwd=workdir, env=env, start_new_session=True, preexec_fn=processes.die_with_parent)
        return cls(name, argv, log, popen)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
        stop_process(self.popen, sig, grace)


@dataclass
class Service:
    """One instrumented model service (the iris example) serving the model of `spec`."""

    job: str
    spec: Path
    port: int = field(default_factory=free_port)
    proc: Proc | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


class Stack:
    """`services`: scrape job name → the spec its local iris service serves. With `traffic_rps`,
    each service gets steady traffic, `label_share` of it labelled through /feedback (the first
    `wrong_at_start` labels per worker wrong) and its first `invalid_at_start` requests malformed,
    from before Prometheus' first scrape (so no "no traffic" ModelDown at start) until `stop()`:
    `stack.traffic[job]`. `rule_files` (job → its model's rule file, as prometheus.yml names it):
    the rules of a job with no local service are left out too, so a model that cannot run here
    (Kubernetes discovery) raises no ModelDown; without it every rule file is loaded. `external`:
    job → a service the user already runs (configs.Target), scraped where it is; nothing is
    started for it and no traffic is sent."""

    def __init__(self, out: Path, services: dict[str, Path], workdir: Path | None = None,
                 max_seconds: float = 900.0, log: Callable[[str], None] | None = None, traffic_rps: float = 0.0,
                 label_share: float = 0.0, invalid_at_start: int = 0, wrong_at_start: int = 0,
                 rule_files: Mapping[str, str | Collection[str]] | None = None,
                 external: Mapping[str, configs.Target] | None = None):
        self.out = Path(out)
        self.rule_files = rule_files
        self.external = dict(external or {})
        self.services = {job: Service(job, Path(spec).resolve()) for job, spec in services.items()}
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="mlmon-stack-"))
        self.max_seconds = max_seconds
        self.log = log or (lambda _msg: None)
        self.procs: list[Proc] = []
        self.webhook: WebhookRecorder | None = None
        self.prometheus: Proc | None = None
        self.alertmanager: Proc | None = None
        self.prom_port, self.am_port = free_port(), free_port()
        self.dropped_jobs: tuple[str, ...] = ()
        self.traffic_rps, self.label_share = traffic_rps, label_share
        self.invalid_at_start, self.wrong_at_start = invalid_at_start, wrong_at_start
        self.traffic: dict[str, Traffic] = {}
        self._watchdog: threading.Timer | None = None
        self._stopped = False
        self.started_at = 0.0

    # ---------------------------------------------------------------- addresses

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.prom_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{HOST}:{self.am_port}"

    # ---------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 60.0) -> Stack:
        if not IRIS_APP.exists() and self.services:
            raise StackError(f"{IRIS_APP} not found: the example service ships with the mlmon repository")
        prometheus = binary("prometheus")
        alertmanager = binary("prometheus-alertmanager", "alertmanager")
        self._watchdog = threading.Timer(self.max_seconds, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            self.webhook = WebhookRecorder(HOST, 0, self.log)
            written = self._write_configs()
            if written.alertmanager_config is not None:
                self.alertmanager = self._spawn("alertmanager", [
                    alertmanager, f"--config.file={written.alertmanager_config}",
                    f"--storage.path={self.workdir / 'alertmanager-data'}",
                    f"--web.listen-address={HOST}:{self.am_port}",
                    "--cluster.listen-address=",  # else it binds 0.0.0.0:9094 for gossip
                    "--log.level=warn"])
                wait_until("Alertmanager ready", lambda: self._get_ok(f"{self.alertmanager_url}/-/ready"),
                           timeout, self.alertmanager)
            for svc in self.services.values():
                self.start_service(svc.job, timeout)
                if self.traffic_rps > 0:
                    self.traffic[svc.job] = Traffic(HOST, svc.port, iris_rows(IRIS_DATA), self.traffic_rps, workers=16,
                                                    max_seconds=self.max_seconds)
                    self.traffic[svc.job].label_share = self.label_share  # ground truth via /feedback
                    self.traffic[svc.job].invalid_at_start = self.invalid_at_start
                    self.traffic[svc.job].wrong_at_start = self.wrong_at_start
                    self.traffic[svc.job].start()
            # Its port was free when the stack was made; since then the services and their traffic
            # opened connections whose ephemeral ports come from the same range. Nothing else names
            # Prometheus' port, so a port taken meanwhile is replaced.
            for attempt in range(1, PROMETHEUS_PORT_TRIES + 1):
                self.prometheus = self._spawn("prometheus", [
                    prometheus, f"--config.file={written.prometheus_config}",
                    f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                    f"--web.listen-address={HOST}:{self.prom_port}",
                    "--web.enable-lifecycle",  # POST /-/reload
                    "--rules.alert.resend-delay=1s",  # else alerts raised in its first seconds are dropped
                    "--log.level=warn"])
                try:
                    wait_until("Prometheus ready", lambda: self._get_ok(f"{self.prometheus_url}/-/ready"),
                               timeout, self.prometheus)
                    break
                except StackError:
                    if attempt == PROMETHEUS_PORT_TRIES or "address already in use" not in self.prometheus.log_tail():
                        raise
                    self.prometheus.stop()
                    self.log(f"stack: {HOST}:{self.prom_port} was taken before Prometheus bound it; another port")
                    self.prom_port = free_port()
            self.started_at = time.time()  # its first scrapes follow: the data that windows can see
            if self.alertmanager is not None:
                wait_until("Prometheus to list the Alertmanager", self._alertmanager_listed, timeout, self.prometheus)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc.start(name, argv, self.workdir, env)
        self.procs.append(proc)
        return proc

    def _write_configs(self) -> configs.Rewritten:
        assert self.webhook is not None
        targets: dict[str, str | configs.Target] = {j: s.address for j, s in self.services.items()}
        targets.update(self.external)
        written = configs.rewrite(self.out, self.workdir, targets,
                                  f"{HOST}:{self.am_port}", self.webhook.url, self.rule_files)
        self.dropped_jobs = written.dropped_jobs
        return written

    def _expire(self) -> None:
        self.log(f"stack: {self.max_seconds:.0f}s are up, stopping")
        self.stop()

    def stop(self) -> None:
        """End every process this stack started (idempotent, safe after a failed start)."""
        if self._stopped:
            return
        self._stopped = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        for traffic in self.traffic.values():
            traffic.stop()
        for proc in reversed(self.procs):
            proc.stop()
        if self.webhook is not None:
            self.webhook.close()
        if self._own_workdir and not os.environ.get("MLMON_STACK_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.started_at > 0 and not self._stopped

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- services

    def start_service(self, job: str, timeout: float = 60.0) -> Service:
        svc = self.services[job]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        svc.proc = self._spawn(f"service-{job}", [
            sys.executable, str(IRIS_APP), "--spec", str(svc.spec), "--host", HOST, "--port", str(svc.port),
            "--db", str(self.workdir / f"{job}-ground-truth.sqlite")], env)
        wait_until(f"service {job} on {svc.address}", lambda: self._get_ok(f"{svc.url}/metrics"), timeout, svc.proc)
        return svc

    def kill_service(self, job: str) -> float:
        """SIGKILL, as a crash would; returns the time it died."""
        svc = self.services[job]
        assert svc.proc is not None
        svc.proc.stop(signal.SIGKILL)
        return time.time()

    def set_faults(self, job: str, error_rate: float = 0.0, latency_ms: float = 0.0,
                   feature_shift: float = 0.0) -> float:
        """Inject faults into a service; returns the time they took effect."""
        http_json(f"{self.services[job].url}/admin/faults",
                  {"error_rate": error_rate, "latency_ms": latency_ms, "feature_shift": feature_shift})
        return time.time()

    # ---------------------------------------------------------------- Prometheus and Alertmanager

    def _get_ok(self, url: str) -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)

    def _alertmanager_listed(self) -> bool:
        active = self.api("alertmanagers")["activeAlertmanagers"]
        return any(f"{HOST}:{self.am_port}" in a.get("url", "") for a in active)

    def api(self, path: str, **params: Any) -> Any:
        """GET /api/v1/<path> on Prometheus; the `data` of a successful answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        answer = http_json(f"{self.prometheus_url}/api/v1/{path}{query}", timeout=10)
        if answer.get("status") != "success":
            raise StackError(f"Prometheus /api/v1/{path}: {answer}")
        return answer["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return list(self.api("query", **params)["result"])

    def alerts(self, state: str | None = None) -> list[dict[str, Any]]:
        """Prometheus' alerts (`pending` or `firing`), each with labels and activeAt."""
        out = self.api("alerts")["alerts"]
        return [a for a in out if state is None or a["state"] == state]

    def am_alerts(self) -> list[dict[str, Any]]:
        """Alertmanager's view, inhibited and silenced ones included (status.inhibitedBy)."""
        return list(http_json(f"{self.alertmanager_url}/api/v2/alerts?active=true&inhibited=true&silenced=true"))

    def wait_targets_up(self, timeout: float = 30.0) -> None:
        def all_up() -> bool:
            targets = self.api("targets")["activeTargets"]
            return bool(targets) and all(t["health"] == "up" for t in targets)
        wait_until("every scrape target up", all_up, timeout, self.prometheus)
        # From here on, `started_at` is the first scrape: where the data the windows see begins
        # (Prometheus' discovery takes up to 5s after it is ready before it scrapes at all).
        firsts = [float(t) for r in self.query("up[5m]") for t, _ in r["values"][:1]]
        self.started_at = min(firsts, default=self.started_at)

    def reload(self, out: Path, timeout: float = 30.0) -> None:
        """Point the stack at a regenerated tree and reload Prometheus (and Alertmanager) in place."""
        self.out = Path(out)
        self._write_configs()
        with urllib.request.urlopen(urllib.request.Request(f"{self.prometheus_url}/-/reload", method="POST"),
                                    timeout=timeout):
            pass
        if self.alertmanager is not None:
            with urllib.request.urlopen(urllib.request.Request(f"{self.alertmanager_url}/-/reload", method="POST"),
                                        timeout=timeout):
                pass

    def urls(self) -> dict[str, str]:
        out = {"prometheus": self.prometheus_url}
        if self.alertmanager is not None:
            out["alertmanager"] = self.alertmanager_url
        if self.webhook is not None:
            out["webhook recorder"] = self.webhook.url
        for job, svc in self.services.items():
            out[job] = svc.url
        for job, target in self.external.items():
            out[job] = " ".join(target.urls)
        return out
