"""`mlmon preview` against a real Prometheus scraping a synthetic exporter, then a headless
Chromium screenshot of the page: every panel returns data, and the picture is not blank.

Everything listens on 127.0.0.1 with free ports; every wait is bounded; teardown kills what
the test started.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_mlmon
from prometheus_client import CollectorRegistry, start_http_server

from mlmon_codegen.core import naming
from mlmon_codegen.plan import sli
from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import free_port, stop_process

PROMETHEUS = shutil.which("prometheus")
CHROMIUM = shutil.which("chromium")


class Service:
    """One example model service: the runtime library's metrics, fed steady synthetic traffic."""

    def __init__(self, model: m.Model, seed: int) -> None:
        self.model = model
        self.metrics = ModelMetrics(model, registry=CollectorRegistry())
        self.metrics.set_trained_at(time.time() - 86_400)
        self.rng = random.Random(seed)
        self.classes = model.classes or ("a", "b", "c")

    def features(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in self.model.features:
            if f.kind == "categorical":
                out[f.name] = self.rng.choice(f.categories or ("x",))
            elif self.rng.random() < 0.01:
                out[f.name] = None  # missing
            else:
                lo, hi = f.expected_range or (f.edges[0], f.edges[-1])
                out[f.name] = self.rng.uniform(lo - 0.02 * (hi - lo), hi)  # a few out of range
        return out

    def tick(self) -> None:
        rng = self.rng
        for _ in range(20):
            if rng.random() < 0.02:
                self.metrics.record_error(rng.choice(("timeout", "bad_input")))
                continue
            cls = rng.choice(self.classes)
            self.metrics.record(self.features(), cls, rng.uniform(0.4, 1.0), rng.expovariate(1 / 0.03))
            actual = cls if rng.random() < 0.9 else rng.choice(self.classes)
            self.metrics.record_label(cls, actual, rng.uniform(10, 600))


def feed(services: list[Service], stop: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds  # bounded: stops by itself even if teardown never runs
    while not stop.is_set() and time.monotonic() < deadline:
        for s in services:
            s.tick()
        stop.wait(0.2)


def api(base: str, path: str, **params: str) -> dict:
    with urllib.request.urlopen(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=5) as resp:
        return json.load(resp)


def wait_for(what: str, check, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} ({last})")


@pytest.fixture
def prometheus(tmp_path: Path, example_out: Path, example_fleet: m.Fleet) -> Iterator[tuple[str, Path]]:
    """Generated output for the example specs (conftest's, only read here), and a Prometheus that
    evaluates its rules."""
    assert PROMETHEUS, "prometheus is missing: `make tools` installs it"
    out = example_out
    models = example_fleet.models
    services = [Service(model, seed) for seed, model in enumerate(models)]
    servers, jobs = [], []
    for s in services:
        port = free_port()
        servers.append(start_http_server(port, addr="127.0.0.1", registry=s.metrics.registry)[0])
        # Named as the generated `up{job=...}` selectors expect.
        jobs.append({"job_name": naming.job(s.model.name), "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]})
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(services, stop, 120), daemon=True)
    feeder.start()
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in sorted((out / "prometheus" / "rules").glob("*.yml")):
        # Every group at the global 1s interval: the generated per-group intervals (minutes for
        # the period ratios) would make the test wait minutes for its first value.
        doc = yaml.safe_load(f.read_text())
        for group in doc["groups"]:
            group.pop("interval", None)
        (rules / f.name).write_text(yaml.safe_dump(doc))
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": jobs,
              "rule_files": [str(p) for p in sorted(rules.glob("*.yml"))]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    web = free_port()
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{web}", "--rules.alert.resend-delay=1s", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))  # noqa: SIM115
    base = f"http://127.0.0.1:{web}"
    try:
        wait_for("Prometheus ready", lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=2).status == 200, 30)
        # The slowest group: the period ratio, which the budget panels read.
        slos = sum(len(x.slos) for x in models)
        wait_for("every SLO's period ratio", lambda: len(api(base, "/api/v1/query",
                                                               query=naming.SLO_PERIOD_ERROR_RATIO)[
            "data"]["result"]) == slos, 45)
        yield base, out
    finally:
        stop_process(proc, grace=10)
        stop.set()
        feeder.join(timeout=5)
        for server in servers:
            server.shutdown()


def _empty_panels(stdout: str) -> dict[str, set[str]]:
    """Page name → titles of its panels that returned no data, from `mlmon preview`'s report."""
    out: dict[str, set[str]] = {}
    page = ""
    for line in stdout.splitlines():
        if line.endswith("panels with data"):
            page = Path(line.split(":", 1)[0]).stem
            out[page] = set()
        elif "no data: " in line:
            out[page].add(line.split("no data: ", 1)[1])
    return out


def _row_titles(dashboard: dict) -> dict[str, str]:
    """Panel title → the title of the row it sits under."""
    rows, out = "", {}
    for p in sorted(dashboard["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        if p["type"] == "row":
            rows = p["title"]
        else:
            out[p["title"]] = rows
    return out


def _per_model_tree(tmp_path: Path) -> Path:
    """The example specs generated with `dashboards: per_model`: their rules equal the shared
    tree's but for the dashboard links, so the same Prometheus serves both trees' dashboards."""
    specs = tmp_path / "specs-per-model"
    shutil.copytree(ROOT / "specs", specs)
    project = specs / "mlmon.yaml"
    project.write_text(project.read_text() + "dashboards: per_model\n")
    out = tmp_path / "out-per-model"
    run = run_mlmon("generate", str(specs), "-o", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def test_preview_every_panel_has_data_and_the_screenshot_is_not_blank(prometheus, tmp_path: Path,
                                                                      example_fleet: m.Fleet) -> None:
    base, out = prometheus
    models = {x.name: x for x in example_fleet.models}
    # The shared dashboard, drawn once per model the Prometheus has rules of.
    pages = tmp_path / "preview"
    run = run_mlmon("preview", str(out), "--prometheus", base, "-o", str(pages), "--range", "5m",
                    "--rate-interval", "10s")
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.stem for p in pages.glob("*.html")) == sorted([*models, "fleet", "index"])
    shared = json.loads((out / naming.MODEL_DASHBOARD_FILE).read_text())
    rows = _row_titles(shared)
    ml_rows = {"Data quality and drift", "Feature $feature", "Predictions", "Ground truth", "Regression quality",
               "Retraining signals"}
    empty = _empty_panels(run.stdout)
    assert empty["fleet"] == set(), run.stdout
    for name, model in models.items():
        # A model's page lacks exactly what its rules do not record: the ML rows without ML
        # sections (the regression row for a classifier), Targets up without a job of its own.
        expected = {t for t, row in rows.items() if row in ml_rows} if model.ml is None else {
            t for t, row in rows.items() if row == "Regression quality"}
        if sli.scrape_job(model) is None:
            expected.add("Targets up")
        assert empty[name] == expected, (name, run.stdout)
    assert "<polyline" in (pages / "iris-full.html").read_text()
    fleet = (pages / "fleet.html").read_text()
    assert all(f'<a href="{name}.html">{name}</a>' in fleet for name in models)

    # A dashboard per model (`dashboards: per_model`): every panel has data, "Labels since
    # training" too (it had none for a model's first hour or two: issue 18).
    per_model = _per_model_tree(tmp_path)
    pages = tmp_path / "preview-per-model"
    run = run_mlmon("preview", str(per_model), "--prometheus", base, "-o", str(pages), "--range", "5m",
                    "--rate-interval", "10s")
    assert run.returncode == 0, run.stdout + run.stderr
    names = sorted(p.stem for p in (per_model / "grafana" / "dashboards").glob("*.json"))
    assert names == sorted([*models, "fleet"])
    assert sorted(p.stem for p in pages.glob("*.html")) == sorted([*names, "index"])
    assert all(not e for e in _empty_panels(run.stdout).values()), run.stdout
    iris = (pages / "iris-classifier.html").read_text()
    assert "<polyline" in iris and "No data" not in iris

    if not CHROMIUM:
        pytest.fail("chromium is missing: `make tools` installs it")
    from PIL import Image, ImageStat

    shot = tmp_path / "iris.png"
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1400,1800",
           f"--screenshot={shot}", (pages / "iris-classifier.html").as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert shot.exists(), proc.stderr[-2000:]
    image = Image.open(shot).convert("L")
    assert image.size == (1400, 1800)
    stat = ImageStat.Stat(image)
    # A blank page is one flat colour (variance ~0); panels, text and lines on the dark
    # background give a clear spread, and more than a handful of distinct grey levels.
    assert stat.var[0] > 50, stat.var
    assert len([c for c in image.histogram() if c]) > 20


def test_preview_without_a_prometheus_says_where_to_find_one(example_out: Path, tmp_path: Path) -> None:
    """The README's recipe takes the URL from `mlmon up`: a wrong port says so, exit 1, nothing written."""
    url = f"http://127.0.0.1:{free_port()}"  # bound and released: nothing listens there
    r = run_mlmon("preview", str(example_out), "--prometheus", url, "-o", str(tmp_path / "preview"))
    assert r.returncode == 1, r.stderr
    assert f"cannot query Prometheus at {url}" in r.stderr and "`mlmon up` prints its Prometheus URL" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "preview").exists()
