"""Presets (`metrics: {preset: NAME}`): each one validates, generates rules promtool accepts, and
names only metrics, labels and buckets its framework's exposition (tests/expositions/NAME.prom)
has. Plus the LLM latency roles: an SLO reads the histogram its `histogram:` names."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.build import generate
from mlmon_codegen.build.load import load_fleet
from mlmon_codegen.core import naming
from mlmon_codegen.spec import exposition, presets
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.metrics_validate import LATENCY_ROLES, ROLE_KIND

FIXTURES = ROOT / "tests" / "expositions"
# The selector value of the model in each fixture, where the preset selects by a model label.
FIXTURE_MODEL = {"bentoml": "iris_classifier", "vllm": "Qwen/Qwen2.5-0.5B-Instruct"}
ALL = sorted(presets.PRESETS)


def test_every_fixture_has_a_preset_of_its_name() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.prom")) == ALL


def _threshold(buckets: list[float]) -> str:
    """A bucket bound from the middle of the preset's list, as a spec duration."""
    bound = sorted(buckets)[len(buckets) // 2]
    ms = round(bound * 1000)
    assert ms / 1000 == bound, f"{bound} is not a whole number of milliseconds"
    return f"{ms}ms"


def _slos(preset: presets.Preset) -> dict[str, Any]:
    met = preset.metrics
    slos: dict[str, Any] = {}
    if met.get("requests", "default") is not None and met.get("errors", "default") is not None:
        slos["availability"] = {"objective": 99.5}
    for role in LATENCY_ROLES:
        if met.get(role) is not None:
            slo = {"objective": 99, "threshold": _threshold(met[f"{role}_buckets"])}
            if role != "latency":
                slo["histogram"] = role
            slos[role.replace("_", "-")] = slo
    return slos


def _spec(folder: Path, name: str, metrics: dict[str, Any], slos: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"apiVersion": "mlmon/v1", "kind": "ModelMonitor", "metadata": {"name": "iris", "team": "ml"},
           "scrape": {"job": name}, "metrics": metrics, "slos": slos}
    (folder / "iris.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def _preset_spec(folder: Path, name: str) -> Path:
    metrics: dict[str, Any] = {"preset": name}
    if name in FIXTURE_MODEL:
        metrics["model_value"] = FIXTURE_MODEL[name]
    return _spec(folder, name, metrics, _slos(presets.PRESETS[name]))


def _model(folder: Path) -> tuple[m.Fleet, m.Model]:
    fleet = load_fleet([folder]).fleet
    (model,) = fleet.models
    return fleet, model


@pytest.mark.parametrize("name", ALL)
def test_a_preset_spec_generates_rules_promtool_accepts(name: str, tmp_path: Path) -> None:
    fleet, model = _model(_preset_spec(tmp_path / "specs", name))
    assert {s.name for s in model.slos} == set(_slos(presets.PRESETS[name]))
    files = generate.files(fleet)
    rules = tmp_path / "iris.rules.yml"
    rules.write_bytes(files["prometheus/rules/iris.rules.yml"])
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert naming.MODEL_DASHBOARD_FILE in files


def _needs(model: m.Model) -> list[exposition.Need]:
    """What the generated selectors of every role the model reads ask of an exposition. The job
    matcher is left out: Prometheus adds `job` at scrape time, a service never exposes it."""
    met = model.metrics
    out = []
    for role, kind in ROLE_KIND.items():
        metric = getattr(met, role)
        if metric is None:
            continue
        matchers = tuple(x for x in met.matchers(role) if x[0] != "job")
        le = met.bucket_bounds(role) if role in LATENCY_ROLES else ()
        out.append(exposition.Need(metric, matchers, kind, f"metrics.{role}", f"preset role {role}", le))
    return out


@pytest.mark.parametrize("name", ALL)
def test_every_role_and_label_of_a_preset_is_in_its_fixture(name: str, tmp_path: Path) -> None:
    _, model = _model(_preset_spec(tmp_path / "specs", name))
    found = exposition.read_text((FIXTURES / f"{name}.prom").read_text(), f"{name}.prom")
    needs = _needs(model)
    assert needs, "a preset reads at least one role"
    misses = [f"{miss.need.field}: {miss.reason}" for need in needs if (miss := exposition.unmet(found, need))]
    assert misses == []
    # Every label name the preset gives is on some series of the metrics it reads.
    seen = {label for need in needs for name_ in exposition.wanted_names(need)
            for labels in found.series(name_) for label in labels}
    named = {v for v in presets.PRESETS[name].metrics.get("labels", {}).values() if v is not None}
    assert named <= seen
    if presets.PRESETS[name].metrics.get("select") is None:  # the default selector: the model label
        assert model.metrics.model_label in seen


def test_a_bucket_the_fixture_lacks_is_unmet() -> None:
    """The fixture check above can fail: a latency bound vLLM does not have is reported."""
    found = exposition.read_text((FIXTURES / "vllm.prom").read_text(), "vllm.prom")
    need = exposition.Need("vllm:time_to_first_token_seconds", (), "histogram", "metrics.first_token_latency",
                           "ttft", (2.0,))
    miss = exposition.unmet(found, need)
    assert miss is not None and "le=2" in miss.reason


def _rules(fleet: m.Fleet) -> list[dict[str, Any]]:
    data = yaml.safe_load(generate.files(fleet)["prometheus/rules/iris.rules.yml"])
    return [r for g in data["groups"] for r in g["rules"]]


def test_a_vllm_spec_reads_each_latency_slos_own_histogram(tmp_path: Path) -> None:
    folder = _spec(tmp_path / "specs", "vllm", {"preset": "vllm", "model_value": FIXTURE_MODEL["vllm"]}, {
        "e2e": {"objective": 99, "threshold": "10s"},
        "first-token": {"objective": 95, "threshold": "500ms", "histogram": "first_token_latency"},
        "inter-token": {"objective": 95, "threshold": "100ms", "histogram": "inter_token_latency"}})
    fleet, model = _model(folder)
    assert {s.name: s.histogram for s in model.slos} == {
        "e2e": "latency", "first-token": "first_token_latency", "inter-token": "inter_token_latency"}
    reads = {"e2e": "vllm:e2e_request_latency_seconds", "first-token": "vllm:time_to_first_token_seconds",
             "inter-token": "vllm:inter_token_latency_seconds"}
    for slo, metric in reads.items():
        exprs = [r["expr"] for r in _rules(fleet) if r.get("labels", {}).get("slo") == slo and "record" in r]
        raw = [e for e in exprs if "_bucket{" in e]
        assert raw, f"no recorded rule of {slo} reads buckets"
        assert all(f"{metric}_bucket{{" in e for e in raw), raw
        others = [x for s, x in reads.items() if s != slo]
        assert not any(f"{x}_bucket" in e for e in raw for x in others)


def _located(result: subprocess.CompletedProcess[str], where: str, text: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if where in line]
    assert lines, result.stderr
    assert text in lines[0]
    assert "iris.yaml:" in lines[0]


def test_a_latency_slo_on_a_null_histogram_role_is_a_located_error(tmp_path: Path) -> None:
    folder = _spec(tmp_path / "specs", "svc", {}, {
        "ttft": {"objective": 99, "threshold": "100ms", "histogram": "first_token_latency"}})
    result = invoke_mlmon("generate", str(folder), "-o", str(tmp_path / "out"))
    _located(result, "slos.ttft.histogram", "metrics.first_token_latency, which is null")


def test_a_threshold_off_the_slos_own_buckets_is_a_located_error(tmp_path: Path) -> None:
    # 2s is a bound of vLLM's e2e histogram but not of its time-to-first-token one.
    assert 2.0 in presets.PRESETS["vllm"].metrics["latency_buckets"]
    folder = _spec(tmp_path / "specs", "vllm", {"preset": "vllm"}, {
        "ttft": {"objective": 99, "threshold": "2s", "histogram": "first_token_latency"}})
    result = invoke_mlmon("generate", str(folder), "-o", str(tmp_path / "out"))
    _located(result, "slos.ttft", "not a bucket bound of vllm:time_to_first_token_seconds")
    assert "metrics.first_token_latency_buckets" in result.stderr


def test_histogram_on_a_slo_that_is_not_latency_is_a_located_error(tmp_path: Path) -> None:
    folder = _spec(tmp_path / "specs", "vllm", {"preset": "vllm"}, {
        "availability": {"objective": 99, "histogram": "first_token_latency"}})
    result = invoke_mlmon("generate", str(folder), "-o", str(tmp_path / "out"))
    _located(result, "slos.availability.histogram", "no meaning for availability")


def test_a_histogram_role_an_slo_reads_needs_its_buckets(tmp_path: Path) -> None:
    folder = _spec(tmp_path / "specs", "svc", {"first_token_latency": "ttft_seconds"}, {
        "ttft": {"objective": 99, "threshold": "100ms", "histogram": "first_token_latency"}})
    result = invoke_mlmon("generate", str(folder), "-o", str(tmp_path / "out"))
    _located(result, "metrics.first_token_latency", "needs its buckets")
