"""`mlmon baseline`, `mlmon drift` and the baseline file's validation: what works, and every kind
of bad input the issue lists, each a clear error with exit code 2 and no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, invoke_mlmon, run_mlmon

from mlmon_codegen.ml import data as mldata

IRIS = ROOT / "examples/data/iris.csv"
SPEC = ROOT / "specs/iris-full.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(SPEC, tmp_path / SPEC.name)
    shutil.copy(IRIS, tmp_path / "train.csv")
    return tmp_path


def baseline(folder: Path, data: str = "train.csv", *extra: str, run=invoke_mlmon):
    """`mlmon baseline` in process; run=run_mlmon for the real command."""
    return run("baseline", "--data", str(folder / data), "--spec", str(folder / SPEC.name), "--label", "species",
               *extra)


def assert_clean_error(res, *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    for n in needles:
        assert n in res.stderr, res.stderr


def test_baseline_matches_the_committed_one_and_is_deterministic(folder):
    res = baseline(folder)
    assert res.returncode == 0, res.stderr
    written = (folder / "iris-full.baseline.yaml").read_bytes()
    assert baseline(folder).returncode == 0
    assert (folder / "iris-full.baseline.yaml").read_bytes() == written
    committed = yaml.safe_load((ROOT / "specs/iris-full.baseline.yaml").read_text())
    fresh = yaml.safe_load(written)
    assert fresh["features"] == committed["features"] and fresh["label"] == committed["label"]


def test_baseline_contents_follow_the_data(folder):
    assert baseline(folder).returncode == 0
    data = yaml.safe_load((folder / "iris-full.baseline.yaml").read_text())
    table = mldata.read_table(IRIS)
    x, _ = mldata.numeric(table, "sepal_length")
    f = data["features"]["sepal_length"]
    # The range ends are bucket edges; the min's edge is the float below it, so 4.0 itself is in range.
    assert np.nextafter(4.0, -np.inf) in f["edges"] and 8.0 in f["edges"] and 4.0 not in f["edges"]
    assert f["edges"] == sorted(f["edges"])
    counts = [int(np.sum((x > lo) & (x <= hi))) for lo, hi in zip([-np.inf, *f["edges"]], [*f["edges"], np.inf],
                                                                     strict=True)]
    assert f["shares"] == pytest.approx([c / len(x) for c in counts], abs=1e-12)
    assert f["shares"][0] == 0 and f["shares"][-1] == 0  # nothing at or below 4 or above 8: smoothed in PSI
    assert f["mean"] == pytest.approx(x.mean()) and f["std"] == pytest.approx(x.std())
    assert data["label"] == pytest.approx({"setosa": 1 / 3, "versicolor": 1 / 3, "virginica": 1 / 3})


def test_model_features_carry_the_baseline(example_fleet):
    model = next(m for m in example_fleet.models if m.name == "iris-full")
    assert [f.name for f in model.features] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    for f in model.features:
        assert len(f.shares) == len(f.edges) + 1 and sum(f.shares) == pytest.approx(1)
        assert f.expected_range is not None
        assert {np.nextafter(f.expected_range[0], -np.inf), f.expected_range[1]} <= set(f.edges)


def write_csv(path: Path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")


def iris_rows() -> list[list[str]]:
    return [line.split(",") for line in IRIS.read_text().splitlines()]


def test_csv_without_the_label_column(folder):
    rows = [r[:4] for r in iris_rows()]
    write_csv(folder / "nolabel.csv", rows)
    # The real command: a bad CSV is a clean exit 2, no traceback (the other cases run in process).
    assert_clean_error(baseline(folder, "nolabel.csv", run=run_mlmon), "no label column 'species'")


def test_constant_column(folder):
    rows = iris_rows()
    rows[1:] = [[r[0], "3.0", *r[2:]] for r in rows[1:]]
    write_csv(folder / "const.csv", rows)
    assert_clean_error(baseline(folder, "const.csv"), "'sepal_width' is constant")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "abc"])
def test_nan_inf_and_text_values(folder, bad):
    rows = iris_rows()
    rows[5][2] = bad
    write_csv(folder / "bad.csv", rows)
    res = baseline(folder, "bad.csv")
    assert_clean_error(res, "bad.csv:6:", "'petal_length'")


def test_empty_cell_is_missing_not_an_error(folder):
    rows = iris_rows()
    rows[5][2] = ""
    write_csv(folder / "gap.csv", rows)
    assert baseline(folder, "gap.csv").returncode == 0
    data = yaml.safe_load((folder / "iris-full.baseline.yaml").read_text())
    assert data["features"]["petal_length"]["missing_share"] == pytest.approx(1 / 150)


def test_label_outside_the_spec_classes(folder):
    rows = iris_rows()
    rows[3][4] = "daisy"
    write_csv(folder / "daisy.csv", rows)
    assert_clean_error(baseline(folder, "daisy.csv"), "daisy")


def test_missing_baseline_is_a_located_error(folder):
    res = invoke_mlmon("validate", str(folder / SPEC.name))
    assert_clean_error(res, "iris-full.yaml:", "features:", "no baseline file", "mlmon baseline")


def test_baseline_features_must_match_the_spec(folder):
    assert baseline(folder).returncode == 0
    spec = (folder / SPEC.name).read_text()
    (folder / SPEC.name).write_text(spec.replace("  petal_width: {type: numeric, range: [0, 3]}\n",
                                                 "  petal_area: {type: numeric}\n"))
    res = invoke_mlmon("validate", str(folder / SPEC.name))
    assert_clean_error(res, "iris-full.baseline.yaml:", "'petal_width' is not in the spec",
                       "feature 'petal_area' has no baseline")


def test_baseline_range_and_shares_must_fit(folder):
    assert baseline(folder).returncode == 0
    path = folder / "iris-full.baseline.yaml"
    text = path.read_text()
    spec = (folder / SPEC.name).read_text()
    (folder / SPEC.name).write_text(spec.replace("range: [4, 8]", "range: [3, 9]"))
    assert_clean_error(invoke_mlmon("validate", str(folder / SPEC.name)), "the baseline was made for range",
                       "rerun `mlmon baseline`")
    (folder / SPEC.name).write_text(spec)
    data = yaml.safe_load(text)
    data["features"]["sepal_width"]["shares"] = data["features"]["sepal_width"]["shares"][:-1]
    path.write_text(yaml.safe_dump(data))
    assert_clean_error(invoke_mlmon("validate", str(folder / SPEC.name)), "features.sepal_width.shares")


def test_drift_report_table_and_exit_codes(folder):
    rng = np.random.default_rng(3)
    rows = iris_rows()
    shifted = [rows[0]] + [[f"{float(r[0]) + 1.5:g}", f"{float(r[1]) + 1:g}", *r[2:]] for r in rows[1:]]
    rng.shuffle(shifted[1:])
    write_csv(folder / "prod.csv", shifted)
    assert baseline(folder).returncode == 0
    res = invoke_mlmon("drift", "--reference", str(folder / "train.csv"), "--current", str(folder / "prod.csv"),
                       "--spec", str(folder / SPEC.name))
    assert res.returncode == 1, res.stderr
    assert "DRIFTED" in res.stdout and "wasserstein" in res.stdout
    line = next(x for x in res.stdout.splitlines() if x.startswith("sepal_length"))
    assert line.split()[-1] == "yes"
    missing = invoke_mlmon("drift", "--reference", str(folder / "train.csv"), "--current", str(folder / "nope.csv"),
                           "--spec", str(folder / SPEC.name))
    assert_clean_error(missing, "nope.csv")


def test_baseline_and_validate_warn_when_a_range_leaves_out_training_rows(tmp_path: Path) -> None:
    """With range [5, 8], the 22 iris rows below 5 cm would count as out of range on healthy traffic."""
    for name in ("iris-full.yaml", "mlmon.yaml"):
        shutil.copy(ROOT / "specs" / name, tmp_path / name)
    spec = tmp_path / "iris-full.yaml"
    spec.write_text(spec.read_text().replace("sepal_length: {type: numeric, range: [4, 8]",
                                             "sepal_length: {type: numeric, range: [5, 8]"))
    made = invoke_mlmon("baseline", "--data", str(IRIS), "--spec", str(spec), "--label", "species")
    assert made.returncode == 0, made.stderr
    below = sum(1 for v in mldata.numeric(mldata.read_table(IRIS), "sepal_length")[0] if v < 5)
    assert f"{below} of 150 training values" in made.stderr and "[5, 8]" in made.stderr
    checked = invoke_mlmon("validate", str(tmp_path))
    assert checked.returncode == 0, checked.stderr
    assert f"{below / 150:.2%} of the training values are outside the range [5, 8]" in checked.stderr
    assert "features.sepal_length.range" in checked.stderr
