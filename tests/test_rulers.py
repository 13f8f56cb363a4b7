"""`--target mimir` / `--target thanos`: ruler-only group fields, and the plain rules inside pass promtool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke_mlmon, run_mlmon

from mlmon_codegen.build import generate
from mlmon_codegen.check import promtool
from mlmon_codegen.core import naming
from mlmon_codegen.targets.rules import rulers as mimir

PROJECT = """\
apiVersion: mlmon/v1
kind: Project
metadata: {name: ruler-example}
mimir:
  source_tenants: [team-a, team-b]
  query_offset: 1m
thanos:
  partial_response_strategy: warn
"""


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ruler-specs")
    for spec in ("iris-classifier.yaml", "fraud-detector.yaml"):
        shutil.copy(ROOT / "specs" / spec, folder / spec)
    (folder / "mlmon.yaml").write_text(PROJECT)
    return folder


@pytest.fixture(scope="module")
def out(specs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "out"
    result = run_mlmon("generate", str(specs), "-o", str(out), "--target", "mimir", "--target", "thanos")
    assert result.returncode == 0, result.stderr
    return out


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_mimir_files_are_laid_out_per_namespace_with_tenant_options(out):
    files = sorted((out / "mimir").glob("*.rules.yml"))
    assert [f.name for f in files] == ["fraud_detector.rules.yml", "iris-classifier.rules.yml"]
    for f in files:
        data = _load(f)
        assert f.name == f"{data['namespace']}.rules.yml"
        for group in data["groups"]:
            assert group["source_tenants"] == ["team-a", "team-b"]
            assert group["query_offset"] == "1m"
            assert "partial_response_strategy" not in group


def test_thanos_groups_set_partial_response_strategy(out):
    for f in sorted((out / "thanos").glob("*.rules.yml")):
        groups = _load(f)["groups"]
        assert groups and all(g["partial_response_strategy"] == "warn" for g in groups)
        assert all("source_tenants" not in g for g in groups)


def test_promtool_2_42_rejects_the_ruler_fields_so_they_are_stripped_for_the_check(out, tmp_path):
    raw = promtool.check_rules([out / "mimir" / "iris-classifier.rules.yml"])
    assert not raw.ok  # the reason stripping exists; if promtool learns these fields, revisit
    stripped = []
    for folder in ("mimir", "thanos"):
        for f in sorted((out / folder).glob("*.rules.yml")):
            plain = tmp_path / f"{folder}-{f.name}"
            plain.write_text(yaml.safe_dump(mimir.strip_ruler_fields(_load(f)), sort_keys=False))
            stripped.append(plain)
    run = promtool.check_rules(stripped)
    assert run.ok, run.output


def test_stripped_rules_are_exactly_the_plain_prometheus_rules(specs, out, tmp_path):
    """The ruler files add group options and change nothing else."""
    plain = tmp_path / "plain"
    assert invoke_mlmon("generate", str(specs), "-o", str(plain)).returncode == 0
    for model in ("iris-classifier", "fraud_detector"):
        expected = _load(plain / "prometheus" / "rules" / f"{model}.rules.yml")
        assert mimir.strip_ruler_fields(_load(out / "mimir" / f"{model}.rules.yml")) == expected
        assert mimir.strip_ruler_fields(_load(out / "thanos" / f"{model}.rules.yml")) == expected


def test_no_options_means_plain_groups_for_mimir(tmp_path):
    out = tmp_path / "out"
    assert invoke_mlmon("generate", "specs", "-o", str(out), "--target", "mimir").returncode == 0
    data = _load(out / "mimir" / "iris-classifier.rules.yml")
    assert data["namespace"] == "iris-classifier"
    assert all(not set(g) & set(mimir.RULER_GROUP_FIELDS) for g in data["groups"])


def test_mlmon_check_covers_ruler_and_kubernetes_rules(specs, tmp_path):
    out = tmp_path / "out"
    args = ("--target", "mimir", "--target", "thanos", "--target", "kubernetes")
    assert invoke_mlmon("generate", str(specs), "-o", str(out), *args).returncode == 0
    ok = invoke_mlmon("check", str(out))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for folder in ("kubernetes", "mimir", "thanos"):
        assert f"ok   promtool check rules ({folder}/:" in ok.stdout
    # A broken ruler file fails the check: a tree of the mimir/ files alone runs only their check.
    bad_out = tmp_path / "bad" / "out"
    shutil.copytree(out / "mimir", bad_out / "mimir")
    broken = bad_out / "mimir" / "iris-classifier.rules.yml"
    broken.write_text(broken.read_text().replace("sum(rate(", "sum(rate((", 1))
    bad = invoke_mlmon("check", str(bad_out))
    assert bad.returncode == 1
    assert "FAIL promtool check rules (mimir/:" in bad.stdout


def _records(data: object) -> list[str]:
    """Every `record:` name anywhere in a rendered document (plain, PrometheusRule, ruler file)."""
    if isinstance(data, dict):
        own = [data["record"]] if isinstance(data.get("record"), str) else []
        return own + [r for v in data.values() for r in _records(v)]
    if isinstance(data, list):
        return [r for v in data for r in _records(v)]
    return []


def test_every_recording_rule_name_is_level_metric_operation(example_fleet):
    """Mimir's `mimirtool rules check` rejects a recording without the level:metric:operation shape."""
    artifacts = generate.render_all(example_fleet, targets=sorted(generate.OPTIONAL_TARGETS))
    by_target: dict[str, list[str]] = {}
    for a in artifacts:
        names = _records(a.data)
        if names:
            by_target.setdefault(a.path.split("/")[0], []).extend(names)
    # Each engine's copy of the rules was inspected, not just the plain Prometheus files.
    assert {"prometheus", "kubernetes", "mimir", "thanos"} <= set(by_target)
    bad = sorted({n for names in by_target.values() for n in names
                  if n.count(":") < 2 or "" in n.split(":")})
    assert bad == []
    assert naming.MODEL_INFO in by_target["mimir"]
