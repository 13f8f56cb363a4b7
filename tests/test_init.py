"""`mlmon init`: the starter spec validates and generates on the first try, for every option."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import invoke_mlmon

from mlmon_codegen.build import generate
from mlmon_codegen.emit.write import render_files
from mlmon_codegen.spec.validate import load_and_validate


def test_classifier_with_ground_truth_validates_and_generates(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    r = invoke_mlmon("init", "churn-model", "--team", "growth", "-o", str(specs))
    assert r.returncode == 0, r.stderr
    text = (specs / "churn-model.yaml").read_text()
    assert text.count("\n#") + text.count("  #") > 10  # a commented spec, meant to be read
    assert "accuracy:" in text and "task: classification" in text
    assert (specs / "mlmon.yaml").is_file()
    assert invoke_mlmon("validate", str(specs)).returncode == 0
    g = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert g.returncode == 0, g.stderr
    assert (tmp_path / "out" / "prometheus" / "rules" / "churn-model.rules.yml").is_file()
    assert (tmp_path / "out" / "runbooks" / "model-down.md").is_file()  # its kind's, shared


@pytest.mark.parametrize(("flags", "has_accuracy", "task"), [
    ((), True, "classification"),
    (("--no-ground-truth",), False, "classification"),
    (("--regressor",), False, "regression"),
    (("--regressor", "--no-ground-truth"), False, "regression"),
])
def test_every_variant_validates_and_renders(tmp_path: Path, flags: tuple[str, ...], has_accuracy: bool,
                                             task: str) -> None:
    from click.testing import CliRunner

    from mlmon_codegen.cli.init import init

    r = CliRunner().invoke(init, ["m1", "-o", str(tmp_path), *flags])
    assert r.exit_code == 0, r.output
    fleet = load_and_validate([tmp_path]).fleet
    [model] = fleet.models
    assert model.task == task
    assert ("accuracy" in [s.name for s in model.slos]) == has_accuracy
    assert render_files(generate.render_all(fleet))


def invoke(*args: str):
    from click.testing import CliRunner

    from mlmon_codegen.cli.main import cli

    return CliRunner().invoke(cli, list(args))


def test_init_never_overwrites_and_reuses_the_project(tmp_path: Path) -> None:
    assert invoke("init", "a", "-o", str(tmp_path)).exit_code == 0
    project = (tmp_path / "mlmon.yaml").read_text()
    again = invoke("init", "a", "-o", str(tmp_path))
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr
    second = invoke("init", "b", "-o", str(tmp_path))
    assert second.exit_code == 0 and "mlmon.yaml" not in second.stdout
    assert (tmp_path / "mlmon.yaml").read_text() == project


def test_a_bad_name_is_refused(tmp_path: Path) -> None:
    r = invoke("init", "Bad Name", "-o", str(tmp_path))
    assert r.exit_code == 2 and "not valid" in r.stderr
    assert not any(tmp_path.iterdir())
