"""Shared by the runtime tests: an example model with features, and exposition parsing."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
from conftest import ROOT
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_iris

from mlmon_codegen.runtime import ModelMetrics
from mlmon_codegen.spec import model as m

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: iris-e2e, team: ml-platform}
model: {version: "1", classes: [setosa, versicolor, virginica]}
scrape: {targets: ["127.0.0.1:8000"]}
slos:
  availability: {objective: 99.9, period: 30d}
  latency: {objective: 99, threshold: 100ms}
  accuracy: {objective: 90, period: 7d}
"""
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
RANGES = {"sepal_length": (4.0, 8.0), "sepal_width": (2.0, 4.5), "petal_length": (1.0, 7.0),
          "petal_width": (0.1, 2.5)}


def iris_features() -> tuple[m.Feature, ...]:
    """A baseline made here with numpy (deciles of the training data plus the range ends), the
    way `mlmon baseline` defines it, so these tests do not depend on that command."""
    data = load_iris().data
    out = []
    for i, name in enumerate(IRIS_FEATURES):
        lo, hi = RANGES[name]
        inner = np.quantile(data[:, i], np.linspace(0.1, 0.9, 9))
        edges = tuple(sorted({round(float(x), 6) for x in inner} | {m.range_floor(lo), hi}))
        counts = np.bincount(np.searchsorted(edges, data[:, i], side="left"), minlength=len(edges) + 1)
        out.append(m.Feature(name, "numeric", edges=edges, shares=tuple(float(c) / len(data) for c in counts),
                             expected_range=(lo, hi), allow_missing=True))
    return (*out, m.Feature("region", "categorical", categories=("eu", "us"), category_shares=(0.5, 0.5)))


def example_model(tmp_path: Path, with_features: bool = True) -> m.Model:
    spec = tmp_path / "iris-e2e.yaml"
    spec.write_text(SPEC)
    model = ModelMetrics.from_spec(spec).model
    if not with_features:
        return model
    priors = (("setosa", 1 / 3), ("versicolor", 1 / 3), ("virginica", 1 / 3))
    return dataclasses.replace(model, features=iris_features(), ml=m.MLSignals(class_priors=priors))


def samples(exposition: bytes | str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample, without prometheus_client's `_created` series."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    return [(s.name, dict(s.labels), s.value) for fam in text_string_to_metric_families(text)
            for s in fam.samples if not s.name.endswith("_created")]


def value(exposition: bytes | str, name: str, **labels: str) -> float:
    found = [v for n, lab, v in samples(exposition) if n == name and all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


# Selectors in generated PromQL: `name{label op "value", ...}`.
SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [(name, [(lab, op, val.encode().decode("unicode_escape")) for lab, op, val in MATCHER.findall(body)])
            for name, body in SELECTOR.findall(expr)]


def load_iris_app():
    """examples/ is not a package; load the app module from its file."""
    name = "mlmon_example_iris_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "iris_service" / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pydantic resolve annotations through it
        spec.loader.exec_module(module)
    return sys.modules[name]


def unmatched_selectors(exprs: list[str], exposition: bytes | str) -> tuple[int, list[str]]:
    """(selectors checked, those no exposed series matches) over the raw metrics the rules read.

    Only = and =~ matchers must match: a negative matcher (e.g. categories outside the baseline)
    may rightly select nothing until such input arrives.
    """
    exposed = samples(exposition)
    checked, missing = 0, []
    for expr in exprs:
        for name, matchers in selectors(expr):
            if ":" in name or name in {"up", "ALERTS"}:
                continue  # recording rules and Prometheus' own series
            positive = [(lab, op, val) for lab, op, val in matchers if op in ("=", "=~")]
            checked += 1
            if not any(n == name and all(labels.get(lab) == val if op == "=" else
                                         re.fullmatch(val, labels.get(lab, "")) for lab, op, val in positive)
                       for n, labels, _ in exposed):
                missing.append(f"{name}{matchers}")
    return checked, missing


def rule_exprs(rendered: dict) -> list[str]:
    return [r["expr"] for g in rendered["groups"] for r in g["rules"]]
