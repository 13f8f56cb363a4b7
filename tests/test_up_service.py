"""`mlmon up --service MODEL=URL`: the local stack scrapes a service the user already runs.

Two tiny prometheus_client services on 127.0.0.1 expose mlmon's metrics for their model (the
runtime's ModelMetrics registry), each only at its own path: one for a model with an mlmon scrape
job, one for a model whose spec has no scrape section (an existing job collects it). A third
model without a scrape section and without --service is left out, rules and all. Prometheus must
list both services' targets up at their paths and hold their series. Then the bad inputs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mlmon_codegen.runtime.metrics import ModelMetrics
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import http_json

ROOT = Path(__file__).resolve().parents[1]

PROJECT = """\
apiVersion: mlmon/v1
kind: Project
metadata: {name: up-service}
prometheus: {scrape_interval: 1s, evaluation_interval: 1s}
"""
OWN_JOB = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: iris, team: t}
scrape: {targets: ["iris-api:8000"], interval: 1s}
slos:
  availability: {objective: 99}
"""
EXISTING_JOB = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: fraud, team: t}
scrape: {job: payments}
slos:
  availability: {objective: 99}
"""
UNSCRAPED = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: churn, team: t}
slos:
  availability: {objective: 99}
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("up-service")
    specs = root / "specs"
    specs.mkdir()
    for name, text in {"mlmon.yaml": PROJECT, "iris.yaml": OWN_JOB, "fraud.yaml": EXISTING_JOB,
                       "churn.yaml": UNSCRAPED}.items():
        (specs / name).write_text(text)
    run = subprocess.run([sys.executable, "-m", "mlmon_codegen", "generate", str(specs), "-o", str(root / "out")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    return specs, root / "out"


@contextlib.contextmanager
def serving(model_name: str, specs: Path, path: str) -> Iterator[str]:
    """A service of one model's ModelMetrics, answering only at `path`; yields its URL."""
    fleet = load_and_validate([specs]).fleet
    model = next(x for x in fleet.models if x.name == model_name)
    registry = CollectorRegistry(auto_describe=True)
    metrics = ModelMetrics(model, version="1.2.3", registry=registry)
    metrics.record(latency_s=0.01)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != path:
                self.send_error(404)
                return
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


def _wait(what: str, check, timeout: float = 25.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            last = check()
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def test_up_scrapes_the_services_named_and_leaves_out_the_unscraped(tree: tuple[Path, Path]) -> None:
    specs, out = tree
    with serving("iris", specs, "/custom/metrics") as iris_url, serving("fraud", specs, "/m") as fraud_url:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlmon_codegen", "up", str(out), "--specs", str(specs), "--for", "30s",
             "--rps", "0", "--service", f"iris={iris_url}", "--service", f"fraud={fraud_url}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
            start_new_session=True)
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("running for at most"):
                    break
            text = "".join(lines)
            assert "starting 0 service(s)" in text and "scraping 2 of yours" in text, text + proc.stderr.read()
            assert "left out: model churn has no scrape section" in text and "--service churn=URL" in text
            prometheus = next(ln.split()[-1] for ln in lines if ln.strip().startswith("prometheus "))

            def api(path: str, **params: str):  # type: ignore[no-untyped-def]
                query = urllib.parse.urlencode(params)
                answer = http_json(f"{prometheus}/api/v1/{path}" + (f"?{query}" if query else ""))
                assert answer["status"] == "success"
                return answer["data"]

            def targets_up():  # type: ignore[no-untyped-def]
                active = api("targets")["activeTargets"]
                found = {t["labels"]["job"]: t for t in active}
                return found if len(active) == 2 and all(t["health"] == "up" for t in active) else None

            started = time.monotonic()
            found = _wait("both targets up", targets_up)
            assert set(found) == {"mlmon-iris", "payments"}  # payments: the job the fraud spec names
            assert found["mlmon-iris"]["scrapeUrl"] == iris_url
            assert found["payments"]["scrapeUrl"] == fraud_url

            def series(selector: str):  # type: ignore[no-untyped-def]
                return api("series", **{"match[]": selector})

            iris = _wait("the iris service's series", lambda: series('ml_prediction_requests_total{model_name="iris"}'))
            assert iris[0]["job"] == "mlmon-iris" and iris[0]["model_version"] == "1.2.3"
            fraud = _wait("the fraud service's", lambda: series('ml_prediction_requests_total{model_name="fraud"}'))
            assert fraud[0]["job"] == "payments"
            # The rules of the models served stay loaded; churn's (not running here) are left out.
            groups = {g["file"].rsplit("/", 1)[-1] for g in api("rules")["groups"]}
            assert groups == {"iris.rules.yml", "fraud.rules.yml"}, groups
            print(f"targets up and series read {time.monotonic() - started:.1f}s after Prometheus was ready")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # up stops its Prometheus and Alertmanager, as on Ctrl-C
            proc.wait(timeout=30)
        assert "stopped" in proc.stdout.read() + "".join(lines)


@pytest.mark.parametrize(("service", "message"), [
    ("irsi=http://127.0.0.1:8000/metrics", "no model 'irsi' in the specs: did you mean 'iris'?"),
    ("iris=ftp://127.0.0.1:8000/metrics", "the URL must be http:// or https://"),
    ("iris=127.0.0.1:8000/metrics", "the URL must be http:// or https://"),
    ("iris", "expected MODEL=URL"),
    ("iris=http://u:p@127.0.0.1:8000/metrics", "credentials in the URL are not supported"),
])
def test_bad_service_values_are_usage_errors(mlmon, tree: tuple[Path, Path], service: str, message: str) -> None:
    specs, out = tree
    result = mlmon("up", str(out), "--specs", str(specs), "--for", "1s", "--service", service)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing started


def test_a_model_given_twice_is_a_usage_error(mlmon, tree: tuple[Path, Path]) -> None:
    specs, out = tree
    result = mlmon("up", str(out), "--specs", str(specs), "--for", "1s",
                   "--service", "iris=http://127.0.0.1:1/metrics", "--service", "iris=http://127.0.0.1:2/metrics")
    assert result.returncode == 2 and "model 'iris' is given twice" in result.stderr
