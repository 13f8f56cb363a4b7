"""`mlmon verify`: the needs of specs/iris-full.yaml against what mlmon's own runtime exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon
from prometheus_client import CollectorRegistry

from mlmon_codegen.plan.needs import needs
from mlmon_codegen.runtime.metrics import ModelMetrics
from mlmon_codegen.spec.validate import load_and_validate

SPEC = ROOT / "specs" / "iris-full.yaml"
FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


@pytest.fixture
def runtime_exposition(tmp_path: Path) -> Path:
    metrics = ModelMetrics.from_spec(SPEC, registry=CollectorRegistry())
    for cls in ("setosa", "versicolor", "virginica"):
        metrics.record(FLOWER, cls, 0.9, 0.04)
    metrics.record_error("ValueError")
    metrics.record_label("setosa", "versicolor", 120.0)
    metrics.set_trained_at(1.7e9)
    path = tmp_path / "iris.prom"
    path.write_bytes(metrics.exposition())
    return path


def test_needs_cover_every_signal() -> None:
    model = load_and_validate([SPEC]).fleet.models[0]
    found = needs(model)
    fields = {n.field for n in found}
    assert {"metrics.requests", "metrics.errors", "slos.latency.threshold", "slos.accuracy", "model.classes",
            "metrics.predicted_class", "metrics.confidence", "metrics.trained_at", "metrics.label_lag",
            *(f"features.{f}" for f in ("sepal_length", "sepal_width", "petal_length", "petal_width"))} <= fields
    latency = next(n for n in found if n.field == "slos.latency.threshold")
    assert latency.kind == "histogram" and latency.le == (0.1,)
    assert ("model_name", "=", "iris-full") in latency.matchers
    classes = [n for n in found if n.field == "model.classes"]
    assert [n.matchers[-1] for n in classes] == [("predicted_class", "=", c) for c in model.classes]
    assert len(found) == len({(n.metric, n.matchers, n.kind, n.le) for n in found})


def test_runtime_exposition_verifies(runtime_exposition: Path) -> None:
    result = invoke_mlmon("verify", "--metrics", str(runtime_exposition), str(SPEC))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.match(r"ok: all \d+ selectors of 1 model can match", result.stdout)


def test_missing_feature_is_named(runtime_exposition: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.prom"
    cut.write_text("".join(x for x in runtime_exposition.read_text().splitlines(keepends=True)
                           if 'feature="petal_width"' not in x))
    result = invoke_mlmon("verify", "--metrics", str(cut), str(SPEC))
    assert result.returncode == 1
    lines = [x for x in result.stdout.splitlines() if "features.petal_width" in x]
    assert lines and all(x.startswith(f"{SPEC}:20:3: features.petal_width: ") for x in lines), result.stdout
    assert 'feature="petal_width"' in lines[0]
    assert "features.sepal_length" not in result.stdout
    assert "find no series" in result.stderr


def test_wrong_model_value_is_caught(runtime_exposition: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.prom"
    other.write_text(runtime_exposition.read_text().replace('model_name="iris-full"', 'model_name="iris"'))
    result = invoke_mlmon("verify", "--metrics", str(other), str(SPEC))
    assert result.returncode == 1
    assert 'model_name has iris; none matches ="iris-full"' in result.stdout


def test_json_report(runtime_exposition: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.prom"
    cut.write_text(runtime_exposition.read_text().replace("ml_model_trained_timestamp_seconds", "trained_ts"))
    result = invoke_mlmon("verify", "--metrics", str(cut), "--format", "json", str(SPEC))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["models"] == ["iris-full"]
    assert [u["field"] for u in report["unmet"]] == ["metrics.trained_at"]
    assert report["unmet"][0]["line"] == 7  # not written in the spec: metadata.name's line


def test_bad_spec_is_exit_2(runtime_exposition: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: mlmon/v1\nkind: ModelMonitor\nmetadata: {name: x}\n")
    result = invoke_mlmon("verify", "--metrics", str(runtime_exposition), str(bad))
    assert result.returncode == 2
    assert f"{bad}:3:" in result.stderr


def test_one_source_required() -> None:
    assert invoke_mlmon("verify", str(SPEC)).returncode == 2
    assert invoke_mlmon("verify", "--metrics", "a", "--prometheus", "http://x", str(SPEC)).returncode == 2


def test_not_an_exposition(tmp_path: Path) -> None:
    junk = tmp_path / "junk.prom"
    junk.write_text("this is not { metrics\n")
    result = invoke_mlmon("verify", "--metrics", str(junk), str(SPEC))
    assert result.returncode == 2
    assert f"{junk}:1:1: cannot parse line" in result.stderr
