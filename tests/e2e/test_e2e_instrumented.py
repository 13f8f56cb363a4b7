"""End to end with services mlmon did NOT instrument (tests/apps/): tutorial A (prometheus_client
by hand, successes only), tutorial B (prometheus_client beside an HTTP layer) and a FastAPI app
with prometheus-fastapi-instrumentator's defaults, each generated from its spec in
e2e/specs_instrumented/ (same fast clock as e2e/specs: 1s scrapes and evaluations, a 1h period)
and run against a real Prometheus and Alertmanager.

Healthy traffic: no alert pending or firing, every recording rule and every dashboard query has
data. A 50% error fault: the availability page tier pages when the SLO math says. For tutorial A:
the recorded error ratio is errors / (successes + errors), the share the test itself counted.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import invoke_mlmon

from e2e.conftest import generate
from e2e.helpers import (
    STACK_MAX_SECONDS,
    assert_on_time,
    first_active,
    predicted_delay,
    record_timing,
    slo,
    tier,
    wait_delivery,
    wait_firing,
    warm_up,
)
from e2e.test_e2e_healthy import Rule, inline_unevaluated, ran_on_data
from mlmon_codegen.check import dashboards as dashboard_check
from mlmon_codegen.core import naming
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import HOST, Service, Stack, wait_until

HERE = Path(__file__).parent
SPECS = HERE / "specs_instrumented"
APPS = HERE.parent / "apps"
IRIS = HERE.parents[1] / "examples" / "data" / "iris.csv"
RPS = 10.0
PAGER = "e2e-pager"
PAGE = "AvailabilityErrorBudgetBurnPageSlow"


def iris_bodies() -> list[dict[str, float]]:
    """The iris rows, classes interleaved (setosa, versicolor, virginica, ...): balanced predictions."""
    with IRIS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_class: dict[str, list[dict[str, float]]] = {}
    for r in rows:
        by_class.setdefault(r.pop("species"), []).append({k: float(v) for k, v in r.items()})
    return [row for group in zip(*by_class.values(), strict=True) for row in group]


def age_bodies() -> list[dict[str, float]]:
    """Ages 20..75 as in tests/apps/credit_train.csv, alternating below and above 48: balanced classes."""
    low, high = list(range(20, 48)), list(range(48, 76))
    return [{"age": a} for pair in zip(low, high, strict=True) for a in pair]


@dataclass(frozen=True)
class App:
    name: str  # tests/apps/<name>.py
    spec: str  # e2e/specs_instrumented/<spec>.yaml
    model: str
    bodies: Callable[[], list[dict[str, float]]]


APPS_UNDER_TEST = {a.name: a for a in (
    App("tutorial_a", "tutorial-a", "iris-tutorial-a", iris_bodies),
    App("tutorial_b", "tutorial-b", "credit-tutorial-b", age_bodies),
    App("instrumented", "instrumentator", "iris-instrumentator", iris_bodies),
)}


@dataclass
class Load:
    """A bounded load loop: POST /predict at `rps` from one thread, cycling through `bodies`, until
    stop() or `max_seconds`. It keeps its own record of every answer: (time it ended, ok)."""

    url: str
    bodies: list[dict[str, float]]
    rps: float
    max_seconds: float
    answers: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="load")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        began = time.monotonic()
        n = 0
        while not self._stop.is_set() and time.monotonic() - began < self.max_seconds:
            body = json.dumps(self.bodies[n % len(self.bodies)]).encode()
            req = urllib.request.Request(f"{self.url}/predict", data=body,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    ok = resp.status == 200
            except urllib.error.HTTPError as exc:
                ok = exc.code == 200
            except OSError:
                ok = False
            self.answers.append((time.time(), ok))
            n += 1
            self._stop.wait(max(0.0, began + n / self.rps - time.monotonic()))

    def counts(self, since: float, until: float) -> tuple[int, int]:
        """(good, failed) answers that ended in (since, until]."""
        got = [ok for t, ok in list(self.answers) if since < t <= until]
        return sum(got), len(got) - sum(got)


class AppStack(Stack):
    """The harness' stack, with one of tests/apps/ as the service and this module's load loop as its traffic
    (started with the service, before Prometheus' first scrape: no "no traffic" ModelDown at start)."""

    def __init__(self, app: App, out: Path, workdir: Path):
        self.app = app
        self.load: Load | None = None
        super().__init__(out, {naming.job(app.model): SPECS / f"{app.spec}.yaml"}, workdir=workdir,
                         max_seconds=STACK_MAX_SECONDS)

    def start_service(self, job: str, timeout: float = 60.0) -> Service:
        svc = self.services[job]
        svc.proc = self._spawn(f"service-{job}", [sys.executable, str(APPS / f"{self.app.name}.py"),
                                                  "--host", HOST, "--port", str(svc.port)])
        wait_until(f"{self.app.name} on {svc.address}", lambda: self._get_ok(f"{svc.url}/metrics"), timeout, svc.proc)
        self.load = Load(svc.url, self.app.bodies(), RPS, max_seconds=self.max_seconds)
        self.load.start()
        return svc

    def stop(self) -> None:
        if self.load is not None:
            self.load.stop()
        super().stop()

    @property
    def job(self) -> str:
        return naming.job(self.app.model)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[App], tuple[Path, m.Model]]:
    """Each app's spec (with the e2e project file) generated once per session: OUT, and its model."""
    done: dict[str, tuple[Path, m.Model]] = {}

    def get(app: App) -> tuple[Path, m.Model]:
        if app.name not in done:
            specs = tmp_path_factory.mktemp(app.spec) / "specs"
            specs.mkdir()
            for path in [SPECS / "mlmon.yaml", *SPECS.glob(f"{app.spec}.*yaml")]:
                shutil.copy(path, specs / path.name)
            # The model's own dashboard: its panels read the app's metrics under their own names.
            project = specs / "mlmon.yaml"
            project.write_text(project.read_text() + "dashboards: per_model\n")
            out = specs.parent / "out"
            (model,) = generate(specs, out).models
            done[app.name] = (out, model)
        return done[app.name]
    return get


@pytest.fixture
def app_stack(request: pytest.FixtureRequest, generated: Callable[[App], tuple[Path, m.Model]],
              tmp_path: Path) -> Iterator[tuple[AppStack, m.Model, Path]]:
    app = APPS_UNDER_TEST[request.param]
    out, model = generated(app)
    s = AppStack(app, out, tmp_path / "stack")
    try:
        s.start()
        s.wait_targets_up()
        yield s, model, out
    finally:
        for proc in s.procs:
            print(f"--- {proc.name} (exit {proc.popen.poll()}), last lines of {proc.log}:\n{proc.log_tail()}")
        if s.webhook is not None:
            print("--- deliveries:", [(d.receiver, round(d.at - s.started_at, 1), sorted(d.alertnames()))
                                     for d in s.webhook.deliveries])
        s.stop()


ALL_APPS = pytest.mark.parametrize("app_stack", list(APPS_UNDER_TEST), indirect=True)


# Panels that read only the errors role: no series until the first failed request (prometheus_client
# creates a labelled child at its first inc()), so no data under healthy traffic by design.
NEEDS_FAULT = {"Errors per second by type"}


def dashboard_queries(out: Path, model: m.Model) -> list[tuple[str, str]]:
    """(panel title, query) of the model's dashboard, Grafana's variables replaced as a viewer's
    defaults would: $__rate_interval by 1m, $version by .* (every version)."""
    board_path = out / "grafana" / "dashboards" / f"{model.name}.json"
    board = json.loads(board_path.read_text())
    values = {**dashboard_check.variables(board), "__rate_interval": "1m", "version": ".*"}
    found = []
    for panel in dashboard_check.panels(board):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                expr = dashboard_check.substitute(target["expr"], values)
                assert "$" not in expr, f"{board_path.name}: {panel.get('title')!r}: a variable left in {expr}"
                found.append((str(panel.get("title")), expr))
    assert found, f"{board_path.name}: no panel queries"
    return found


def _label_matchers(labels: dict[str, str]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


@ALL_APPS
def test_healthy_traffic_is_quiet_and_everything_has_data(app_stack: tuple[AppStack, m.Model, Path]) -> None:
    stack, model, out = app_stack
    traffic_from = time.time()
    warm_up(stack, 30)  # half the 1m skew and confidence windows filled at 10 rps: 300 predictions
    elapsed = int(time.time() - stack.started_at) + 1
    assert stack.load is not None and stack.load.answers and all(ok for _, ok in stack.load.answers), (
        "the healthy load saw failed requests")

    # Firing ever, or pending now: at start-up, before the first scrape, ModelDown and the no-data
    # alerts may be pending for less than their `for` (e2e/test_e2e_healthy.py).
    ever = stack.query(f'count_over_time(ALERTS{{alertstate="firing"}}[{elapsed}s])')
    assert ever == [], f"alerts fired under healthy traffic: {[a['metric'] for a in ever]}"
    pending = stack.query('ALERTS{alertstate="pending"}[10s]')
    assert pending == [], f"alerts pending under healthy traffic: {[a['metric'] for a in pending]}"
    assert stack.webhook is not None and stack.webhook.deliveries == []

    groups = stack.api("rules", type="record")["groups"]
    assert groups, "no recording rules loaded"
    ran = {g["name"]: ran_on_data(stack, g, traffic_from) for g in groups}
    unevaluated: list[Rule] = [(r["name"], r.get("labels") or {}, r["query"]) for g in groups
                               if not ran[g["name"]] for r in g["rules"]]
    empty = []
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] in ("ok", "unknown"), f"{rule['name']}: {rule.get('lastError')}"
            labels = rule.get("labels") or {}
            if ran[group["name"]]:
                selector = f"{rule['name']}{{{_label_matchers({'model': model.name, **labels})}}}"
                if not stack.query(selector):
                    empty.append(f"{group['name']}: {selector} (its expression: {rule['query']})")
            elif not stack.query(inline_unevaluated(rule["query"], unevaluated)):
                empty.append(f"{group['name']} (not run on data since traffic began): {rule['name']} {labels}: "
                             f"{rule['query']}")
    assert empty == [], "recording rules without data:\n" + "\n".join(empty)

    no_data, needs_fault = [], []
    for title, expr in dashboard_queries(out, model):
        if not stack.query(inline_unevaluated(expr, unevaluated)):
            (needs_fault if title in NEEDS_FAULT else no_data).append(f"{title!r}: {expr}")
    if needs_fault:  # checked for data under the fault, in the test below
        print("no data without a fault, by design:\n" + "\n".join(needs_fault))
    assert no_data == [], f"{model.name}: dashboard queries without data:\n" + "\n".join(no_data)


@ALL_APPS
def test_half_the_requests_failing_pages_when_the_slo_math_says(app_stack: tuple[AppStack, m.Model, Path]) -> None:
    stack, model, _ = app_stack
    page = tier(slo(model, "availability"), "page-slow")
    warm_up(stack, 10)  # page-slow (5s/30s windows, ratio > 0.3) then fires ~15s into a 50% fault
    fault_at = stack.set_faults(stack.job, error_rate=0.5)
    expect = predicted_delay(stack, fault_at, page, bad=0.5)

    delivery = wait_delivery(stack, PAGER, PAGE, timeout=expect + 30)
    alert = wait_firing(stack, PAGE, timeout=5, model=model.name, slo="availability")
    assert alert["labels"]["severity"] == "critical"
    active_at = first_active(stack, PAGE, model=model.name, slo="availability")
    assert_on_time(active_at, fault_at, expect, f"{PAGE} ({stack.app.name})")
    assert delivery.at >= active_at, "paged before the alert was active"
    record_timing(f"50% {stack.app.name}", PAGE, fault_at, expect, active_at, delivery.at)

    # The panels without data under healthy traffic have it now.
    empty = [f"{title!r}: {expr}" for title, expr in dashboard_queries(app_stack[2], model)
             if title in NEEDS_FAULT and not stack.query(expr)]
    assert empty == [], "panels without data even under the fault:\n" + "\n".join(empty)

    # Now that every series exists (errors too), `mlmon verify` finds each selector on the service's
    # own /metrics; after a label is renamed it names the selector and the spec field.
    spec = app_stack[2].parent / "specs" / f"{stack.app.spec}.yaml"
    assert stack.load is not None
    url = f"{stack.load.url}/metrics"
    verified = invoke_mlmon("verify", "--metrics", url, str(spec))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    old, new, field_name = RENAMED[stack.app.name]
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    assert old in text, f"{old!r} is not in the exposition of {stack.app.name}"
    renamed = app_stack[2].parent / "renamed.prom"
    renamed.write_text(text.replace(old, new))
    failed = invoke_mlmon("verify", "--metrics", str(renamed), str(spec))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    named = [line for line in failed.stdout.splitlines() if f" {field_name}: " in line]
    assert named, failed.stdout


# A label rename per app that a generated rule depends on, and the spec field verify must name.
RENAMED = {"tutorial_a": ("class_label=", "klass=", "metrics.predicted_class"),
           "tutorial_b": ('status="', 'code="', "metrics.errors"),
           "instrumented": ('status="', 'code="', "metrics.errors")}


@pytest.mark.parametrize("app_stack", ["tutorial_a"], indirect=True)
def test_tutorial_a_error_ratio_is_errors_over_all_requests(app_stack: tuple[AppStack, m.Model, Path]) -> None:
    """ml_predictions_total counts successes only: the ratio must be errors / (successes + errors),
    0.5 under a 50% fault, never errors / successes (1.0)."""
    stack, model, _ = app_stack
    warm_up(stack, 5)
    fault_at = stack.set_faults(stack.job, error_rate=0.5)
    window = 10.0
    time.sleep(window + 4)  # a 10s window wholly inside the fault, recorded (scrape + evaluation)
    assert stack.load is not None

    selector = f'mlmon_slo:error_ratio:rate10s{{model="{model.name}", slo="availability"}}'
    result = stack.query(selector)
    assert result, f"{selector}: no data"
    at, recorded = float(result[0]["value"][0]), float(result[0]["value"][1])
    good, failed = stack.load.counts(max(fault_at, at - window - 1.0), at - 1.0)  # the last scrape: ~1s before
    own = failed / (good + failed)
    print(f"{selector} = {recorded:.3f}; the load's own count: {failed}/{good + failed} = {own:.3f} failed")
    assert 0.4 <= own <= 0.6, f"the load itself saw {failed} failed of {good + failed}"
    assert abs(recorded - own) <= 0.1, (
        f"{selector} = {recorded:.3f}, the load counted {failed}/{good + failed} = {own:.3f} failed "
        f"(errors/successes would be {failed / max(good, 1):.3f})")
