"""`mlmon drift --html`: the report page on iris with a shifted current set — written whether or
not drift is found, byte-identical across runs, one chart per feature, worst first, hostile
categories escaped — and what headless Chromium draws from it (not blank, the bar colours there)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.ml import data as mldata
from mlmon_codegen.ml import drift as dr
from mlmon_codegen.ml import report as rp

IRIS = ROOT / "examples/data/iris.csv"
SPEC = ROOT / "specs/iris-full.yaml"
CHROMIUM = shutil.which("chromium")
HOSTILE = "<script>alert(1)</script>"


def iris_rows() -> list[list[str]]:
    with IRIS.open(newline="") as fh:
        return list(csv.reader(fh))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The iris spec with its committed baseline, iris as the reference, and a current set whose
    sepal length and width moved up (1.5 and 1 cm) while the petals stayed as they were."""
    shutil.copy(SPEC, tmp_path / SPEC.name)
    shutil.copy(SPEC.with_name("iris-full.baseline.yaml"), tmp_path / "iris-full.baseline.yaml")
    rows = iris_rows()
    write_csv(tmp_path / "train.csv", rows)
    write_csv(tmp_path / "prod.csv", [rows[0]] + [[f"{float(r[0]) + 1.5:g}", f"{float(r[1]) + 1:g}", *r[2:]]
                                                  for r in rows[1:]])
    return tmp_path


def drift(folder: Path, current: str, out: str, *extra: str):
    return invoke_mlmon("drift", "--reference", str(folder / "train.csv"), "--current", str(folder / current),
                        "--spec", str(folder / SPEC.name), "--html", str(folder / out), *extra)


def section_order(page: str) -> list[str]:
    return re.findall(r'<section id="f-([^"]+)">', page)


def test_report_is_written_deterministic_one_chart_per_feature_worst_first(folder: Path) -> None:
    first = drift(folder, "prod.csv", "a.html", "--json")
    assert first.returncode == 1, first.stderr  # drift found: CI fails, and the page is there to upload
    assert "wrote" in first.stderr
    rep = json.loads(first.stdout)  # --html keeps --json's stdout pure JSON
    second = drift(folder, "prod.csv", "b.html")
    assert second.returncode == 1, second.stderr
    page = (folder / "a.html").read_text()
    assert (folder / "a.html").read_bytes() == (folder / "b.html").read_bytes()

    assert page.count("<svg") == 4 == len(rep["features"])
    assert "<b>Dataset drifted</b>: 2 of 4 features drifted" in page
    assert "50.0% ≥ the threshold 50.0%" in page
    # Worst first: the two shifted features, by PSI, then the unchanged ones (PSI 0, by name).
    worst = sorted(rep["features"], key=lambda f: (not f["drifted"], -f["psi"], f["feature"]))
    assert section_order(page) == [f["feature"] for f in worst]
    assert section_order(page)[:2] == ["sepal_length", "sepal_width"]
    # Self-contained: no script, no fetched asset.
    assert "<script" not in page and " src=" not in page and "<link" not in page and "@import" not in page
    # The data summary is numpy's, on the tables: the current sepal length's mean is the reference's + 1.5.
    x, _ = mldata.numeric(mldata.read_table(IRIS), "sepal_length")
    sepal = page.split('<section id="f-sepal_length">')[1].split("</section>")[0]
    summary = sepal.split('<table class="summary">')[1]
    assert f"<td>mean</td><td>{float(x.mean()):.4g}</td><td>{float(x.mean()) + 1.5:.4g}</td>" in summary
    q1, q3 = np.quantile(x, [0.25, 0.75])
    assert f"<td>25%</td><td>{q1:.4g}</td><td>{q1 + 1.5:.4g}</td>" in summary
    assert f"<td>75%</td><td>{q3:.4g}</td>" in summary
    # Effect sizes and the test, as `mlmon drift` computed them; 30 of 150 shifted lengths pass 8 cm.
    f = next(f for f in rep["features"] if f["feature"] == "sepal_length")
    assert f"<td>PSI</td><td>{f['psi']:.4g} " in sepal and f"<td>Wasserstein</td><td>{f['wasserstein']:.4g}" in sepal
    assert f"<td>p-value</td><td>{f['p_value']:.3g}</td>" in sepal and f"<td>test</td><td>{f['test']}" in sepal
    shifted = x + 1.5
    assert f"<td>out of range</td><td>0.0% → {float(np.mean(shifted > 8)):.1%}</td>" in sepal
    # One bar pair per baseline bin: 11 edges, 12 bins, both colours in the numeric chart.
    assert sepal.count(f'fill="{rp.REFERENCE_COLOUR}"><title>') == 10  # the two bins outside [4, 8] hold nothing
    assert sepal.count(f'fill="{rp.CURRENT_COLOUR}"><title>') > 0


def test_no_drift_still_writes_the_report_and_exits_0(folder: Path) -> None:
    res = drift(folder, "train.csv", "same.html")
    assert res.returncode == 0, res.stderr
    page = (folder / "same.html").read_text()
    assert "<b>No dataset drift</b>: 0 of 4 features drifted" in page
    assert page.count('<span class="ok">no drift</span>') == 4 and 'class="bad"' not in page


def test_a_hostile_category_is_escaped(folder: Path) -> None:
    spec = folder / SPEC.name
    spec.write_text(spec.read_text().replace("  petal_width: {type: numeric, range: [0, 3]}\n",
                                             "  petal_width: {type: numeric, range: [0, 3]}\n"
                                             "  colour: {type: categorical}\n"))
    rows = iris_rows()
    cats = ["red", "blue", HOSTILE]
    write_csv(folder / "train.csv", [[*rows[0], "colour"]] + [[*r, cats[i % 3]] for i, r in enumerate(rows[1:])])
    unseen = '<img src=x onerror="alert(2)">'
    write_csv(folder / "prod.csv", [[*rows[0], "colour"]] + [[*r, unseen if i % 2 else cats[i % 3]]
                                                            for i, r in enumerate(rows[1:])])
    made = invoke_mlmon("baseline", "--data", str(folder / "train.csv"), "--spec", str(spec), "--label", "species")
    assert made.returncode == 0, made.stderr
    res = drift(folder, "prod.csv", "hostile.html")
    assert res.returncode == 0, res.stderr  # only colour drifted: 1 of 5 is under drifted_share 0.5
    page = (folder / "hostile.html").read_text()
    assert page.count("<svg") == 5
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the category's bars' tooltips
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page  # named as unseen
    colour = page.split('<section id="f-colour">')[1].split("</section>")[0]
    assert "(unseen)" in colour and "<td>distinct</td><td>3</td><td>4</td>" in colour


def test_the_significance_test_is_shown_and_ranks_the_feature(folder: Path) -> None:
    """The verdict's test (ml/drift.py), its statistic, p-value and critical value, as recorded."""

    from mlmon_codegen.ml import baseline as bl
    from mlmon_codegen.spec.ml_validate import load_baseline

    spec = bl.load_spec(folder / SPEC.name)
    loaded = load_baseline(folder / "iris-full.baseline.yaml", [])
    assert loaded is not None
    ref, cur = mldata.read_table(folder / "train.csv"), mldata.read_table(folder / "prod.csv")
    rep = dr.report(ref, cur, spec, loaded[1])
    tested = {"test": "chi2", "statistic": 12.5, "p_value": 0.00123, "critical": 9.49, "significant": True}
    newer = replace(rep, features=[replace(f, **tested) if f.feature == "petal_width" else f for f in rep.features])
    page = rp.render(newer, ref, cur, spec, loaded[1], "spec.yaml", "base.yaml")
    petal = page.split('<section id="f-petal_width">')[1].split("</section>")[0]
    for cell in ("<td>test</td><td>chi2</td>", "<td>statistic</td><td>12.5</td>",
                 "<td>p-value</td><td>0.00123</td>", "<td>critical value</td><td>9.49</td>",
                 "<td>significant</td><td>yes</td>"):
        assert cell in petal, petal
    # Significant ranks above the other undrifted feature with the same PSI.
    assert section_order(page)[2:] == ["petal_width", "petal_length"]


def test_the_report_folder_is_made_and_an_unwritable_path_is_a_clean_error(folder: Path) -> None:
    made = drift(folder, "prod.csv", "reports/drift.html")  # a CI artifact folder need not exist yet
    assert made.returncode == 1 and (folder / "reports/drift.html").exists(), made.stderr
    res = drift(folder, "prod.csv", "prod.csv/report.html")  # its folder would be a file
    assert res.returncode == 2, res.stdout + res.stderr
    assert "prod.csv/report.html: cannot write the HTML report" in res.stderr and "Traceback" not in res.stderr


def test_chromium_draws_the_report(folder: Path, tmp_path: Path) -> None:
    assert drift(folder, "prod.csv", "report.html").returncode == 1
    if not CHROMIUM:
        pytest.fail("chromium is missing: `make tools` installs it")
    from PIL import Image

    shot = tmp_path / "report.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--hide-scrollbars", "--window-size=1200,2000",
           f"--screenshot={shot}", (folder / "report.html").as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert shot.exists(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2000)
    pixels = np.asarray(image, dtype=int).reshape(-1, 3)
    # A blank page is one colour; text, tables, the verdict banner and the charts give hundreds.
    assert len({tuple(p) for p in pixels[::7]}) > 200

    def near(colour: str) -> int:
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return int(np.sum(np.all(np.abs(pixels - rgb) <= 3, axis=1)))

    # The legend swatches are 10x10 per chart; only the bars themselves cover thousands of pixels.
    # The first chart (sepal_length) alone has ten reference bars some 10 px wide and 40+ px tall.
    assert near(rp.REFERENCE_COLOUR) > 3000
    assert near(rp.CURRENT_COLOUR) > 3000
