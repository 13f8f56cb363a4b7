"""`mlmon init NAME --from-metrics`: a spec drafted from each fixture exposition validates,
generates and verifies against it; a changed exposition fails verify, naming the field."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.spec import presets

FIXTURES = sorted((ROOT / "tests" / "expositions").glob("*.prom"))
# Per fixture: a text change that breaks a selector the drafted spec reads, and the field named.
BREAK = {
    "instrumentator": ('status="', 'code="', "metrics.errors"),
    "bentoml": ("http_response_code=", "response=", "metrics.errors"),
    "mlserver": ("model_infer_request_failure_total", "model_infer_request_failed_total", "metrics.errors"),
    "torchserve": ('model_name="', 'model="', "metrics.requests"),
    "triton": ('model="', 'model_id="', "metrics.requests"),
    "tutorial-a": ("class_label=", "klass=", "metrics.predicted_class"),
    "tutorial-b": ("result_class=", "cls=", "metrics.predicted_class"),
    "vllm": ('finished_reason="error"', 'finished_reason="failed"', "metrics.errors"),
}


def test_every_fixture_has_a_break() -> None:
    assert {f.stem for f in FIXTURES} == set(BREAK)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_drafted_spec_validates_generates_and_verifies(fixture: Path, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    made = invoke_mlmon("init", "svc", "--from-metrics", str(fixture), "-o", str(specs))
    assert made.returncode == 0, made.stderr
    spec = specs / "svc.yaml"
    data = yaml.safe_load(spec.read_text())
    assert data["metadata"]["name"] == "svc"
    preset = presets.PRESETS.get(fixture.stem)
    if preset is not None and preset.metrics.get("errors") is None and preset.metrics.get("latency") is None:
        # Nothing per model to build an SLO on (TorchServe): the spec says why instead.
        assert not data["slos"] and "no latency histogram" in spec.read_text()
    else:
        assert "availability" in data["slos"] or "latency" in data["slos"]
    assert invoke_mlmon("validate", str(specs)).returncode == 0
    generated = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert generated.returncode == 0, generated.stderr
    assert list((tmp_path / "out").rglob("*.yml")) or list((tmp_path / "out").rglob("*.yaml"))
    verified = invoke_mlmon("verify", "--metrics", str(fixture), str(spec))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok: all ")

    old, new, field = BREAK[fixture.stem]
    text = fixture.read_text()
    assert old in text
    broken = tmp_path / "broken.prom"
    broken.write_text(text.replace(old, new))
    failed = invoke_mlmon("verify", "--metrics", str(broken), str(spec))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    lines = [x for x in failed.stdout.splitlines() if f" {field}: " in x]
    assert lines, failed.stdout
    assert lines[0].startswith(f"{spec}:")
    assert "reads " in lines[0]


def test_preset_is_recognised(tmp_path: Path) -> None:
    made = invoke_mlmon("init", "svc", "--from-metrics", str(ROOT / "tests/expositions/tutorial-a.prom"),
                        "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    data = yaml.safe_load((tmp_path / "svc.yaml").read_text())
    assert data["metrics"]["preset"] == "tutorial-a"
    assert data["model"]["classes"] == ["setosa", "versicolor", "virginica"]


def _renamed(fixture: str, old: str, new: str, tmp_path: Path) -> Path:
    """A fixture whose names no preset knows, so that init recognises its roles one by one."""
    path = tmp_path / f"renamed-{fixture}"
    path.write_text((ROOT / "tests/expositions" / fixture).read_text().replace(old, new))
    return path


def test_a_preset_is_taken_with_the_model_it_labels(tmp_path: Path) -> None:
    made = invoke_mlmon("init", "svc", "--from-metrics", str(ROOT / "tests/expositions/triton.prom"),
                        "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    met = yaml.safe_load((tmp_path / "svc.yaml").read_text())["metrics"]
    assert met["preset"] == "triton" and met["model_value"] == "iris"


def test_roles_recognised_by_name_and_labels(tmp_path: Path) -> None:
    source = _renamed("triton.prom", "nv_inference_", "infer_", tmp_path)
    made = invoke_mlmon("init", "svc", "--from-metrics", str(source), "-o", str(tmp_path / "specs"))
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "specs" / "svc.yaml").read_text()
    met = yaml.safe_load(text)["metrics"]
    assert "preset" not in met
    assert met["model_label"] == "model" and met["model_value"] == "iris"
    assert met["requests"] == {"name": "infer_request_success", "counts": "successes"}
    assert met["errors"] == "infer_request_failure"
    assert met["latency"] is None  # its only histogram is in milliseconds
    assert "no confidence histogram: no LowConfidence" in text
    assert "no accuracy SLO" in text


def test_status_label_makes_the_errors(tmp_path: Path) -> None:
    source = _renamed("instrumentator.prom", "http_request", "api_request", tmp_path)
    invoke_mlmon("init", "svc", "--from-metrics", str(source), "-o", str(tmp_path / "specs"))
    data = yaml.safe_load((tmp_path / "specs" / "svc.yaml").read_text())
    assert data["metrics"]["errors"] == {"name": "api_requests_total",
                                         "matchers": {"handler": "/predict", "status": {"regex": "5.."}}}
    assert data["slos"]["latency"]["threshold"] == "500ms"  # the smallest bound >= 250ms of 0.1, 0.5, 1


def test_features_are_a_commented_block(tmp_path: Path) -> None:
    invoke_mlmon("init", "svc", "--from-metrics", str(ROOT / "tests/expositions/tutorial-b.prom"),
                 "-o", str(tmp_path))
    text = (tmp_path / "svc.yaml").read_text()
    assert "#   age: {type: numeric, metric: ml_input_feature_age, buckets: [18, 25" in text
    assert "mlmon baseline" in text
    assert "features" not in yaml.safe_load(text)


@pytest.fixture
def served() -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "tests" / "expositions"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_for_init_and_verify(served: str, tmp_path: Path) -> None:
    url = f"{served}/bentoml.prom"
    made = invoke_mlmon("init", "svc", "--from-metrics", url, "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    data = yaml.safe_load((tmp_path / "svc.yaml").read_text())
    assert data["scrape"] == {"targets": [served.removeprefix("http://")], "metrics_path": "/bentoml.prom"}
    verified = invoke_mlmon("verify", "--metrics", url, str(tmp_path / "svc.yaml"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_port_is_bad_input(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_refused_port()}/metrics"
    made = invoke_mlmon("init", "svc", "--from-metrics", url, "-o", str(tmp_path / "specs"))
    assert made.returncode == 2
    assert "connection refused" in made.stderr
    assert not (tmp_path / "specs").exists()
    verified = invoke_mlmon("verify", "--metrics", url, str(ROOT / "specs" / "iris-full.yaml"))
    assert verified.returncode == 2
    assert "connection refused" in verified.stderr


def test_not_an_exposition_writes_nothing(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><body>hi</body></html>")
    made = invoke_mlmon("init", "svc", "--from-metrics", str(page), "-o", str(tmp_path / "specs"))
    assert made.returncode == 2
    assert f"{page}: this is an HTML page" in made.stderr
    assert not (tmp_path / "specs").exists()


def test_plain_init_still_works(tmp_path: Path) -> None:
    made = invoke_mlmon("init", "svc", "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert "targets" in (tmp_path / "svc.yaml").read_text()
