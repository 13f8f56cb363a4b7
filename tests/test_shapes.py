"""Unit tests once per rule shape (plan/shapes.py): models cut from one template share one set of
tier-by-tier tests, and their rules really are the same up to their names."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from conftest import invoke_mlmon

from mlmon_codegen.build.load import load_fleet
from mlmon_codegen.plan import shapes
from mlmon_codegen.targets.rules import rule_file

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: {name}, team: {team}, labels: {{tier_of_service: {label}}}}}
scrape: {{targets: ["{name}:8000"]}}
slos:
  availability: {{objective: {objective}, period: 30d}}
  latency: {{objective: 99, threshold: 250ms}}
"""
MODELS = {  # name: (team, label, objective); the first three share a shape, the last does not
    "alpha-model": ("payments", "gold", 99.9), "bravo-model": ("search", "silver", 99.9),
    "charlie-model": ("payments", "bronze", 99.9), "delta-model": ("search", "gold", 99.5),
}


def _specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name, (team, label, objective) in MODELS.items():
        (folder / f"{name}.yaml").write_text(SPEC.format(name=name, team=team, label=label, objective=objective))
    return folder


def _swap(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {_swap(k, pairs): _swap(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, pairs) for v in value]
    if isinstance(value, str):
        for a, b in pairs:
            value = value.replace(a, b)
    return value


def test_models_of_one_shape_share_a_representative(tmp_path: Path) -> None:
    fleet = load_fleet([_specs(tmp_path)]).fleet
    assert shapes.tested_with(fleet) == {"alpha-model": "alpha-model", "bravo-model": "alpha-model",
                                         "charlie-model": "alpha-model", "delta-model": "delta-model"}


def test_shapes_are_keyed_by_what_makes_them_equal(tmp_path: Path) -> None:
    """tested_with keys shapes by their repr: two shapes spell alike exactly when they are equal."""
    models = load_fleet([_specs(tmp_path)]).fleet.models
    pairs = [(a, b) for a in models for b in models]
    assert {repr(shapes.shape(a)) == repr(shapes.shape(b)) for a, b in pairs} == {True, False}
    for a, b in pairs:
        assert (repr(shapes.shape(a)) == repr(shapes.shape(b))) == (shapes.shape(a) == shapes.shape(b))


def test_rules_of_one_shape_are_equal_up_to_names(tmp_path: Path) -> None:
    """What makes one model's tests prove another's rules: swap the names, and the rules are equal."""
    fleet = load_fleet([_specs(tmp_path)]).fleet
    by_name = {x.name: rule_file.render(x, fleet.project) for x in fleet.models}
    swapped = _swap(by_name["alpha-model"], [("alpha-model", "bravo-model"), ("payments", "search"),
                                             ("gold", "silver")])
    assert swapped == by_name["bravo-model"]
    assert _swap(by_name["alpha-model"], [("alpha-model", "delta-model"), ("payments", "search")]) \
        != by_name["delta-model"]  # a different objective is a different shape


def test_one_full_test_per_shape_and_every_file_passes_promtool(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke_mlmon("generate", str(_specs(tmp_path)), "-o", str(out)).returncode == 0
    cases = {p.name.removesuffix(".test.yml"): yaml.safe_load(p.read_text())["tests"]
             for p in sorted((out / "tests").glob("*.test.yml"))}
    tier_cases = {name: [c for c in tests if "its threshold" in c["name"]] for name, tests in cases.items()}
    assert tier_cases["alpha-model"] and tier_cases["delta-model"]  # every tier, twice (fires, quiet)
    for follower in ("bravo-model", "charlie-model"):
        assert tier_cases[follower] == []
        [model_down] = cases[follower]
        [firing] = model_down["promql_expr_test"]  # its labels; its texts are alpha's up to the names
        assert firing["expr"] == 'ALERTS{alertname="ModelDown", alertstate="firing"}'
        assert "tests/alpha-model.test.yml" in model_down["name"]
        assert f'model="{follower}"' in firing["exp_samples"][0]["labels"]  # its own rule file, its own labels
    run = subprocess.run(["promtool", "test", "rules", *sorted(map(str, (out / "tests").glob("*.test.yml")))],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
