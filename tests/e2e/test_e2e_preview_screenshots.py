"""Screenshots of `mlmon preview` from a live local stack, healthy and then faulted.

The example specs (with 1 s scrape and evaluation intervals, so 30 s of traffic fills the 5m
windows' first points) run on a Stack with the iris service under steady traffic; the
iris-classifier dashboard is rendered to HTML and shot with headless Chromium, then a 50% error
fault goes in, and once the error ratio has moved it is rendered and shot again. The pictures are
judged by their pixels inside the plot areas preview/render.py reports (plot_boxes): not blank,
the threshold line inside the chart, and the faulted series above that line where the healthy one
is not. Bounded: the stack's watchdog, every wait and every Chromium run has a limit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from conftest import ROOT, run_mlmon
from PIL import Image

from mlmon_codegen.build import generate as gen
from mlmon_codegen.core import naming
from mlmon_codegen.emit.write import render_files, write_tree
from mlmon_codegen.preview.render import COLORS, PALETTE, Box, plot_boxes
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import Stack, wait_until

MODEL = "iris-classifier"
WIDTH, HEIGHT = 1400, 3000
TRAFFIC_SECONDS = 30.0
STACK_MAX_SECONDS = 150.0
ERROR_PANEL = "Error ratio"
RED = COLORS["red"]  # the error ratio's threshold step (0.001 = 1 - 99.9%)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tol: int = 24) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel[:3], colour, strict=True))


def _pixels(image: Image.Image, box: Box, colour: str) -> list[tuple[int, int]]:
    """(x, y) of the pixels of `colour` inside `box`, edges included (a line on the edge is inside)."""
    want = _rgb(colour)
    px = image.load()
    return [(x, y) for y in range(box.top, box.bottom + 1) for x in range(box.left, box.right + 1)
            if _near(px[x, y], want)]


def _shoot(page: Path, shot: Path, profile: Path) -> Image.Image:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(chromium).exists(), "chromium is missing: `make tools` installs it"
    cmd = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", "--force-device-scale-factor=1",
           f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert shot.exists(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    return image


def _preview(out: Path, stack: Stack, into: Path) -> Path:
    run = run_mlmon("preview", str(out), "--prometheus", stack.prometheus_url, "-o", str(into), "--range", "5m",
                    "--rate-interval", "10s")
    assert run.returncode == 0, run.stdout + run.stderr
    return into / f"{MODEL}.html"


def _threshold_row(image: Image.Image, box: Box) -> int:
    """The one pixel row the dashed threshold line is drawn on: it must be inside the plot box."""
    reds = _pixels(image, box, RED)
    assert len(reds) > (box.right - box.left) // 4, f"no threshold line inside {box}: {len(reds)} red pixels"
    rows = {y for _, y in reds}
    assert len(rows) <= 2, f"the threshold line spreads over rows {sorted(rows)}"
    return min(rows)


def _series_above(image: Image.Image, box: Box, row: int) -> int:
    """Series pixels (either error-ratio series colour) more than 3 px above the threshold row."""
    above = Box(box.left, box.top, box.right, row - 4)
    return sum(len(_pixels(image, above, c)) for c in PALETTE[:2]) if above.bottom > above.top else 0


def test_healthy_and_faulted_previews_look_right(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    project = specs / "mlmon.yaml"
    text = project.read_text()
    assert "scrape_interval: 15s" in text and "evaluation_interval: 30s" in text
    # The model's own dashboard (`dashboards: per_model`), whose error-ratio panel draws the
    # objective as a threshold line; tests/test_dashboard_preview.py shoots the shared one.
    project.write_text(text.replace("scrape_interval: 15s", "scrape_interval: 1s")
                       .replace("evaluation_interval: 30s", "evaluation_interval: 1s") + "dashboards: per_model\n")
    out = tmp_path / "out"
    write_tree(out, render_files(gen.render_all(load_and_validate([specs]).fleet)))
    dashboard = json.loads((out / naming.DASHBOARDS_DIR / f"{MODEL}.json").read_text())
    box = plot_boxes(dashboard)[ERROR_PANEL]
    assert 0 < box.left < box.right < WIDTH and 0 < box.top < box.bottom < HEIGHT, box
    job = naming.job(MODEL)
    ratio = f'mlmon_slo:error_ratio:rate5m{{model="{MODEL}", slo="availability"}}'

    rules = naming.from_prometheus_config(naming.rules_file(MODEL))  # only its rules: no other model's ModelDown
    stack = Stack(out, {job: specs / f"{MODEL}.yaml"}, workdir=tmp_path / "stack", max_seconds=STACK_MAX_SECONDS,
                  traffic_rps=20.0, invalid_at_start=3, rule_files={job: rules})
    try:
        stack.start()
        stack.wait_targets_up()
        wait_until("the error ratio's first points", lambda: len(stack.query(ratio)) == 1, 30)
        time.sleep(max(0.0, TRAFFIC_SECONDS - (time.time() - stack.started_at)))
        healthy = _shoot(_preview(out, stack, tmp_path / "healthy"), tmp_path / "healthy.png", tmp_path / "p1")

        stack.set_faults(job, error_rate=0.5)
        wait_until("the error ratio to move", lambda: float(stack.query(ratio)[0]["value"][1]) > 0.05, 40)
        faulted = _shoot(_preview(out, stack, tmp_path / "faulted"), tmp_path / "faulted.png", tmp_path / "p2")
    finally:
        for proc in stack.procs:
            print(f"--- {proc.name} (exit {proc.popen.poll()}):\n{proc.log_tail()}")
        stack.stop()

    for image in (healthy, faulted):
        # Not blank: the page has its dark panels, text and lines (many distinct colours).
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
        # Panels where preview/render.py says: the plot area is the panel's background, not the body's.
        assert _near(image.getpixel((box.left + 2, box.top + 2)), _rgb("#181b1f"), 6), \
            image.getpixel((box.left + 2, box.top + 2))
    healthy_row, faulted_row = _threshold_row(healthy, box), _threshold_row(faulted, box)
    assert _series_above(healthy, box, healthy_row) == 0, "the healthy error ratio is above its threshold"
    assert _series_above(faulted, box, faulted_row) > 20, "the faulted error ratio never rises above its threshold"
