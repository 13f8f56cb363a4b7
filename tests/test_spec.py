"""The spec: the issue's minimal example and the seed article's slo.yaml both validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon_codegen.core import promql
from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec.load import load_text
from mlmon_codegen.spec.validate import validate_documents

MINIMAL = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: iris-classifier, team: ml-platform}
scrape: {targets: ["iris-api:8000"]}
slos:
  availability: {objective: 99.9, period: 30d}
  latency: {objective: 99, threshold: 100ms}
"""

SEED = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: fraud_detector, team: risk}
scrape: {targets: ["fraud:8000"]}
slos:
  fraud_detector:
    availability:
      target: 99.9
      window: 30d
    latency:
      p99_target_ms: 100
      p50_target_ms: 20
    accuracy:
      target: 0.95
      window: 7d
"""


def _fleet(*texts: str):
    docs = []
    for i, text in enumerate(texts):
        doc, problems = load_text(f"spec{i}.yaml", text.encode())
        assert not problems, problems
        docs.append(doc)
    return validate_documents(docs).fleet


def test_minimal_spec_gets_defaults():
    model = _fleet(MINIMAL).models[0]
    assert model.metrics.requests == "ml_prediction_requests_total"
    assert model.metrics.model_label == "model_name" and model.metrics.model_value == "iris-classifier"
    assert 0.1 in model.metrics.latency_buckets
    assert [(s.name, s.kind, s.objective) for s in model.slos] == [
        ("availability", "availability", 99.9), ("latency", "latency", 99.0)]
    assert model.slos[1].threshold_s == pytest.approx(0.1)


def test_seed_slo_yaml_is_accepted_as_written():
    model = _fleet(SEED).models[0]
    slos = {s.name: s for s in model.slos}
    assert set(slos) == {"availability", "latency-p99", "latency-p50", "accuracy"}
    assert slos["accuracy"].objective == pytest.approx(95.0)  # 0.95 is a fraction in the seed
    assert slos["accuracy"].period_ms == 7 * 86_400_000
    assert slos["latency-p99"].objective == 99.0 and slos["latency-p99"].threshold_s == pytest.approx(0.1)
    assert slos["latency-p50"].threshold_s == pytest.approx(0.02)
    # A 50% objective leaves a 50% budget: only the slow ticket can ever fire.
    assert [t.name for t in burnrate.tiers(slos["latency-p50"])] == ["ticket-slow"]


def test_custom_latency_metric_needs_its_threshold_among_its_buckets():
    text = MINIMAL.replace("scrape:", "metrics: {latency: http_seconds, latency_buckets: [0.05, 0.25]}\nscrape:")
    with pytest.raises(SpecError) as exc:
        _fleet(text)
    message = str(exc.value)
    assert "spec0.yaml:8:3: slos.latency:" in message
    assert "0.05s below and 0.25s above" in message


def test_problems_from_several_files_are_all_reported():
    with pytest.raises(SpecError) as exc:
        _fleet(MINIMAL, MINIMAL.replace("objective: 99.9", "objective: 100"))
    text = str(exc.value)
    assert "must be below 100" in text and "already defined in spec0.yaml" in text


@pytest.mark.parametrize("value", ['a"b', "x}y", "new\nline", "back\\slash", "tab\there"])
def test_promql_quote_escapes_everything_that_could_end_the_string(value):
    quoted = promql.quote(value)
    inner = quoted[1:-1]
    assert quoted[0] == quoted[-1] == '"'
    # no unescaped quote and no raw control character survive
    assert '"' not in inner.replace('\\"', "")
    assert "\n" not in inner and "\t" not in inner
    assert promql.selector("m", {"l": value}) == f"m{{l={quoted}}}"


def test_example_specs_are_valid():
    root = Path(__file__).resolve().parents[1] / "specs"
    docs = [load_text(str(p), p.read_bytes())[0] for p in sorted(root.glob("*.yaml"))
            if not p.name.endswith(".baseline.yaml")]
    assert validate_documents([d for d in docs if d]).fleet.models
