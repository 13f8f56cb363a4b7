"""BentoML and MLServer served for real (their own venvs, `make frameworks`), a few good and bad
requests sent, then `mlmon init --from-metrics` on their live /metrics: the preset is recognised
with every role it names present, and the drafted spec validates, generates and verifies.

The fixtures in tests/expositions/ were written from these frameworks' sources and checked by hand
once; this keeps the presets honest against the pinned releases themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.spec import exposition as ex
from mlmon_codegen.spec import presets

FRAMEWORKS = ROOT / ".frameworks"
HERE = ROOT / "tests" / "frameworks"
READY_S = 60.0  # a cold start of either server on a small CI machine takes ~5-15 s
REQUEST_S = 10.0


def _python(name: str) -> Path:
    python = FRAMEWORKS / name / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"no {name} venv at {python.parent.parent}: run `make frameworks` "
                    f"(python3 scripts/framework_venvs.py {name}); `make test` does it first")
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_S) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


def _post(url: str, body: Any) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_S) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


@contextmanager
def _serving(cmd: list[str], cwd: Path, env: dict[str, str], ready: str, log: Path) -> Iterator[None]:
    """The server `cmd` until the block ends: waits (bounded) for `ready` to answer 200, and kills
    the process group it started (the frameworks fork workers) however the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[2:]} exited with {proc.returncode} before it was ready:\n"
                            f"{log.read_text()[-3000:]}")
            try:
                if _get(ready) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{ready} not ready after {READY_S:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PROMETHEUS_MULTIPROC_DIR")}
    return {**env, "HOME": str(tmp_path / "home"), **extra}


def _total(e: ex.Exposition, sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels`."""
    return sum(s.value for f in e.families for s in f.samples
               if s.name == sample and all(dict(s.labels).get(k) == v for k, v in labels.items()))


def _drafted_spec_holds(preset: str, url: str, tmp_path: Path) -> None:
    """`mlmon init svc --from-metrics URL`: the preset, none of its roles dropped, and a spec that
    validates, generates, and verifies against the same live exposition."""
    specs = tmp_path / "specs"
    made = invoke_mlmon("init", "svc", "--from-metrics", url, "-o", str(specs))
    assert made.returncode == 0, made.stdout + made.stderr
    spec = specs / "svc.yaml"
    text = spec.read_text()
    data = yaml.safe_load(text)
    assert data["metrics"]["preset"] == preset, text
    # init sets a role the exposition lacks to null (and says why): a real exposition missing a
    # selector the preset names shows up here, before verify (which then passes on the pruned spec).
    dropped = {k for k, v in data["metrics"].items() if v is None}
    assert not dropped, text
    assert {"availability", "latency"} <= set(data["slos"]), text
    assert data["scrape"]["targets"] == [url.split("/")[2]], text
    validated = invoke_mlmon("validate", str(specs))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    out = tmp_path / "out"
    generated = invoke_mlmon("generate", str(specs), "-o", str(out))
    assert generated.returncode == 0, generated.stdout + generated.stderr
    rules = "".join(p.read_text() for p in out.rglob("*.y*ml"))
    assert presets.PRESETS[preset].metrics["requests"]["name"] in rules
    verified = invoke_mlmon("verify", "--metrics", url, str(spec))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok: all "), verified.stdout


def test_bentoml(tmp_path: Path) -> None:
    python = _python("bentoml")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(tmp_path, BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")
    cmd = [str(python), "-m", "bentoml", "serve", "bento_service:IrisClassifier",
           "--host", "127.0.0.1", "--port", str(port)]
    with _serving(cmd, HERE, env, f"{base}/readyz", tmp_path / "bentoml.log"):
        good = [{"features": [[5.1, 3.5, 1.4, 0.2]]}, {"features": [[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]},
                {"features": [[4.9, 3.0, 1.4, 0.2]]}]
        assert [_post(f"{base}/predict", b) for b in good] == [200] * 3
        assert [_post(f"{base}/predict", {"features": [[1.0, 2.0]]}) for _ in range(2)] == [500] * 2
        assert _post(f"{base}/predict", {"features": "not a list"}) == 400
        url = f"{base}/metrics"
        e = ex.read(url)
        req = "bentoml_service_request_total"
        assert _total(e, req, endpoint="/predict", http_response_code="200") == 3
        assert _total(e, req, endpoint="/predict", http_response_code="500") == 2
        assert _total(e, "bentoml_service_request_duration_seconds_count", endpoint="/predict") == 6
        assert {s["service_name"] for s in e.series(req)} == {"iris_classifier"}
        _drafted_spec_holds("bentoml", url, tmp_path)


def _infer(rows: list[list[float]]) -> dict[str, Any]:
    return {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64",
                        "data": [x for r in rows for x in r]}]}


def test_mlserver(tmp_path: Path) -> None:
    python = _python("mlserver")
    models = tmp_path / "models"
    shutil.copytree(HERE / "mlserver", models, ignore=shutil.ignore_patterns("train.py"))
    trained = subprocess.run([str(python), str(HERE / "mlserver" / "train.py"), str(models / "iris" / "model.joblib")],
                             capture_output=True, text=True, timeout=60)
    assert trained.returncode == 0, trained.stderr
    http, grpc, metrics = _free_port(), _free_port(), _free_port()
    settings = json.loads((models / "settings.json").read_text())
    settings.update(http_port=http, grpc_port=grpc, metrics_port=metrics, metrics_dir=str(tmp_path / "prom"))
    (models / "settings.json").write_text(json.dumps(settings))
    base = f"http://127.0.0.1:{http}"
    cmd = [str(python), "-m", "mlserver.cli.main", "start", str(models)]
    with _serving(cmd, models, _env(tmp_path), f"{base}/v2/models/iris/ready", tmp_path / "mlserver.log"):
        good = [[[5.1, 3.5, 1.4, 0.2]], [[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]], [[4.9, 3.0, 1.4, 0.2]]]
        assert [_post(f"{base}/v2/models/iris/infer", _infer(rows)) for rows in good] == [200] * 3
        bad = [_post(f"{base}/v2/models/iris/infer", _infer([[1.0, 2.0]])) for _ in range(2)]
        assert all(code >= 400 for code in bad), bad
        assert _post(f"{base}/v2/models/nosuch/infer", _infer([[1.0, 2.0, 3.0, 4.0]])) == 404
        url = f"http://127.0.0.1:{metrics}/metrics"
        e = ex.read(url)
        assert _total(e, "model_infer_request_success_total", model="iris") == 3
        assert _total(e, "model_infer_request_failure_total", model="iris") == 2
        assert _total(e, "model_infer_request_failure_total", model="nosuch") == 1
        assert _total(e, "rest_server_request_duration_seconds_count", path="/v2/models/{model_name}/infer") == 6
        _drafted_spec_holds("mlserver", url, tmp_path)
