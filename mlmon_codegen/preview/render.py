"""`mlmon preview OUT -o DIR`: draw the generated dashboards as static HTML, with live data.

For a reviewer without Grafana. Each panel's queries run against a Prometheus (the HTTP API,
standard library only) after the same variable substitution the checks use; time series
become inline SVG charts, stats and bar gauges numbers and bars coloured by the panel's
thresholds, the fleet table an HTML table. Panels sit where Grafana's gridPos puts them.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlmon_codegen.check.dashboards import panels, substitute, variables
from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import human, percent
from mlmon_codegen.spec import v1

Fetch = Callable[[str, dict[str, str]], dict[str, Any]]

PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0")
COLORS = {"green": "#73BF69", "orange": "#FF9830", "red": "#F2495C", "blue": "#5794F2", "yellow": "#FADE2A"}
COL_PX, ROW_PX = 52, 32  # one Grafana grid unit
# The page's geometry in CSS pixels, fixed (no box sized by its font), so that plot_boxes can say
# where each chart lands in a screenshot: body margin, header, grid gap, panel border and padding,
# panel title (16 px line plus 2 + 6 margin), and the plot's inset inside its SVG.
MARGIN_PX, HEADER_PX, GAP_PX, BORDER_PX, PAD_X_PX, PAD_Y_PX, TITLE_PX = 16, 72, 4, 1, 8, 4, 24
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 64, 8, 8, 22


class PreviewError(Exception):
    pass


def http_fetch(base: str, timeout_s: float = 10.0) -> Fetch:
    """GET <base><path>?<params> from the Prometheus HTTP API; errors become PreviewError."""
    def fetch(path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:  # Prometheus says why in the body (a bad query: 400)
            try:
                return dict(json.load(exc))
            except ValueError:
                raise PreviewError(f"{url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise PreviewError(f"cannot query Prometheus at {base}: {exc} (hint: is it running? `mlmon up` "
                               "prints its Prometheus URL, on a free port: give that to --prometheus)") from exc
    return fetch


@dataclass
class Result:
    """What one panel's queries returned: (legend, [(t, v)]) series, or an error."""

    series: list[tuple[str, dict[str, str], list[tuple[float, float]]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(points for _, _, points in self.series)


def legend(fmt: str, labels: dict[str, str]) -> str:
    if fmt:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda mt: labels.get(mt.group(1), ""), fmt)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}" if shown else "value"


def _number(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return math.nan


def run_panel(panel: dict[str, Any], values: dict[str, str], fetch: Fetch, start: float, end: float,
              step: float) -> Result:
    result = Result()
    instant = panel.get("type") in ("stat", "bargauge", "table")
    for t in panel.get("targets") or []:
        expr = substitute(t.get("expr", ""), values)
        if instant:
            body = fetch("/api/v1/query", {"query": expr, "time": f"{end:.3f}"})
        else:
            body = fetch("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:g}"})
        if body.get("status") != "success":
            result.errors.append(f"{t.get('refId')}: {body.get('error', 'query failed')}")
            continue
        for s in body["data"]["result"]:
            points = [(float(ts), _number(v)) for ts, v in (s.get("values") or [s["value"]])]
            labels = {**s["metric"], "__ref": str(t.get("refId"))}
            result.series.append((legend(t.get("legendFormat", ""), s["metric"]), labels, points))
    return result


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round axis values (1, 2, 2.5 or 5 times a power of ten) covering lo..hi, as Grafana draws them."""
    raw = (hi - lo) / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    return [round(first + i * step, 12) for i in range(math.ceil((hi - first) / step - 1e-9) + 1)]


def fmt(v: float, unit: str) -> str:
    if math.isnan(v):
        return "NaN"
    if unit == "percentunit":
        return percent(v)
    if unit == "dtdurations":
        return human(v)
    if unit.startswith("suffix:"):
        return f"{v:.4g}{unit.removeprefix('suffix:')}"
    if unit == "s":
        return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.3g} s"
    if unit == "reqps":
        return f"{v:.3g} req/s"
    return f"{v:.4g}"


def color_for(v: float, steps: list[dict[str, Any]]) -> str:
    chosen = "green"
    for s in steps:
        if s.get("value") is None or (not math.isnan(v) and v >= float(s["value"])):
            chosen = s["color"]
    return COLORS.get(chosen, chosen)


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return dict((panel.get("fieldConfig") or {}).get("defaults") or {})


def _steps(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return list((_defaults(panel).get("thresholds") or {}).get("steps") or [])


def svg_timeseries(panel: dict[str, Any], res: Result, width: int, height: int) -> str:
    d = _defaults(panel)
    unit = d.get("unit") or "none"
    pts = [p for _, _, ps in res.series for p in ps if not math.isnan(p[1]) and math.isfinite(p[1])]
    if not pts:
        return ""
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    custom = d.get("custom") or {}
    soft_lo, soft_hi = custom.get("axisSoftMin"), custom.get("axisSoftMax")
    low = min(p[1] for p in pts) if soft_lo is None else min(soft_lo, *(p[1] for p in pts))
    high = max(p[1] for p in pts) if soft_hi is None else max(soft_hi, *(p[1] for p in pts))
    y0 = d["min"] if d.get("min") is not None else min(0.0, low) if soft_lo is None else low
    y1 = d["max"] if d.get("max") is not None else high
    if y1 <= y0:
        y1 = y0 + (abs(y0) or 1.0)
    ticks = nice_ticks(y0, y1)
    y0, y1 = min(y0, ticks[0]), max(y1, ticks[-1])
    left, right, top, bottom = PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM
    w, h = width - left - right, height - top - bottom

    def sx(t: float) -> float:
        return left + (t - x0) / ((x1 - x0) or 1) * w

    def sy(v: float) -> float:
        return top + h - (min(max(v, y0), y1) - y0) / (y1 - y0) * h

    out = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for v in ticks:
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#2c3235"/>'
                   f'<text x="{left - 4}" y="{sy(v) + 4:.1f}" text-anchor="end">{html.escape(fmt(v, unit))}</text>')
    for t, anchor in ((x0, "start"), (x1, "end")):
        label = time.strftime("%H:%M:%S", time.gmtime(t))
        out.append(f'<text x="{sx(t):.1f}" y="{height - 6}" text-anchor="{anchor}">{label}</text>')
    if (d.get("custom") or {}).get("thresholdsStyle", {}).get("mode", "off") != "off":
        for s in _steps(panel):
            if s.get("value") is not None and y0 <= float(s["value"]) <= y1:
                y = sy(float(s["value"]))
                # crispEdges: one pixel row in the threshold's own colour, not two half-blended rows.
                out.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke-dasharray="6 4" '
                           f'shape-rendering="crispEdges" stroke="{COLORS.get(s["color"], s["color"])}"/>')
    for i, (_, _, ps) in enumerate(res.series):
        line = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in ps if math.isfinite(v))
        out.append(f'<polyline fill="none" stroke-width="2" stroke="{PALETTE[i % len(PALETTE)]}" points="{line}"/>')
    out.append("</svg>")
    keys = "".join(f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{html.escape(name)}</span>'
                   for i, (name, _, _) in enumerate(res.series))
    return "".join(out) + f'<div class="legend">{keys}</div>'


def last(points: list[tuple[float, float]]) -> float:
    return next((v for _, v in reversed(points) if not math.isnan(v)), math.nan)


def html_stat(panel: dict[str, Any], res: Result) -> str:
    unit = _defaults(panel).get("unit") or "none"
    cells = []
    for name, _, ps in res.series:
        v = last(ps)
        label = f'<div class="sub">{html.escape(name)}</div>' if len(res.series) > 1 else ""
        cells.append(f'<div class="stat" style="color:{color_for(v, _steps(panel))}">'
                     f'{html.escape(fmt(v, unit))}{label}</div>')
    return "".join(cells)


def html_bargauge(panel: dict[str, Any], res: Result) -> str:
    d = _defaults(panel)
    unit, lo, hi = d.get("unit") or "none", float(d.get("min") or 0), float(d.get("max") or 1)
    rows = []
    for name, _, ps in res.series:
        v = last(ps)
        share = 0.0 if math.isnan(v) else min(max((v - lo) / ((hi - lo) or 1), 0.0), 1.0)
        rows.append(f'<div class="bar"><span class="name">{html.escape(name)}</span><span class="track">'
                    f'<b style="width:{share * 100:.1f}%;background:{color_for(v, _steps(panel))}"></b></span>'
                    f'<span class="val">{html.escape(fmt(v, unit))}</span></div>')
    return "".join(rows)


def html_table(panel: dict[str, Any], res: Result) -> str:
    """Instant results merged into one row per `model` (the fleet table), columns renamed as in Grafana."""
    organize = next((t["options"] for t in panel.get("transformations") or [] if t.get("id") == "organize"), {})
    rename, hidden = organize.get("renameByName") or {}, organize.get("excludeByName") or {}
    units: dict[str, str] = {}
    mappings: dict[str, dict[str, Any]] = {}
    for o in (panel.get("fieldConfig") or {}).get("overrides") or []:
        for prop in o.get("properties") or []:
            if prop.get("id") == "unit":
                units[o["matcher"]["options"]] = prop["value"]
            if prop.get("id") == "mappings":
                mappings[o["matcher"]["options"]] = {k: v for mp in prop["value"] for k, v in mp["options"].items()}
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for _, labels, ps in res.series:
        key = labels.get("model", "")
        row = rows.setdefault(key, {"model": key})
        col = f"Value #{labels['__ref']}"
        if hidden.get(col):
            continue
        name = rename.get(col, col)
        if name not in columns:
            columns.append(name)
        v = last(ps)
        mapped = mappings.get(name, {}).get(f"{v:g}")
        row[name] = mapped["text"] if mapped else fmt(v, units.get(name, "none"))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["model", *columns])
    def cell(row: dict[str, str], col: str) -> str:
        text = html.escape(row.get(col, ""))
        # The model's own preview page, as Grafana's data link opens its dashboard.
        return f'<td><a href="{text}.html">{text}</a></td>' if col == "model" else f"<td>{text}</td>"

    body = "".join("<tr>" + "".join(cell(r, c) for c in ["model", *columns]) + "</tr>" for _, r in sorted(rows.items()))
    return f'<table><tr>{head}</tr>{body}</table>'


def _svg_size(pos: dict[str, int]) -> tuple[int, int]:
    """A time series' SVG in a panel of gridPos `pos` (the legend gets the 20 px below it)."""
    return pos["w"] * COL_PX - 16, pos["h"] * ROW_PX - 60


@dataclass(frozen=True)
class Box:
    """A rectangle in page pixels (a screenshot at device scale 1 of the page scrolled to its top)."""

    left: int
    top: int
    right: int
    bottom: int


def plot_boxes(dashboard: dict[str, Any]) -> dict[str, Box]:
    """Each time series panel's plot area (inside the axes, where series and thresholds are drawn),
    by panel title: from the same constants the page's CSS and svg_timeseries use."""
    boxes = {}
    for p in panels(dashboard):
        if p.get("type") != "timeseries":
            continue
        pos = p["gridPos"]
        width, height = _svg_size(pos)
        svg_left = MARGIN_PX + pos["x"] * (COL_PX + GAP_PX) + BORDER_PX + PAD_X_PX
        svg_top = MARGIN_PX + HEADER_PX + pos["y"] * (ROW_PX + GAP_PX) + BORDER_PX + PAD_Y_PX + TITLE_PX
        boxes[str(p.get("title"))] = Box(svg_left + PLOT_LEFT, svg_top + PLOT_TOP, svg_left + width - PLOT_RIGHT,
                                         svg_top + height - PLOT_BOTTOM)
    return boxes


@dataclass(frozen=True)
class Page:
    html: str
    panels: int
    with_data: int
    empty: list[str]  # titles of panels that returned no data (or an error)


def templated(dashboard: dict[str, Any]) -> bool:
    """The shared model dashboard: it shows one model at a time, the one its `model` variable picks."""
    return any(v.get("name") == naming.MODEL_VAR for v in (dashboard.get("templating") or {}).get("list") or [])


def listed_models(fetch: Fetch) -> list[str]:
    """The models whose rules Prometheus has loaded, from their info series (what Grafana's `model`
    variable lists)."""
    res = fetch("/api/v1/query", {"query": q.agg("group", naming.MODEL_INFO, by=(naming.MODEL_LABEL,))})
    if res.get("status") != "success":
        raise PreviewError(f"cannot list the models: {res.get('error', res)}")
    # Only names a spec may have: a page is written per name, and a label value is anyone's (`../x`).
    return sorted({name for r in res["data"]["result"]
                   if v1.NAME_RE.match(name := str(r["metric"].get(naming.MODEL_LABEL, "")))})


def render_page(dashboard: dict[str, Any], fetch: Fetch, range_ms: int = 3_600_000, end: float | None = None,
                rate_interval: str = "1m", chosen: dict[str, str] | None = None) -> Page:
    """`chosen`: variables set as a link's `var-NAME=value` would (the model of the shared dashboard)."""
    end = time.time() if end is None else end
    start = end - range_ms / 1000
    step = max(1.0, range_ms / 1000 / 200)
    values = {**variables(dashboard), "__rate_interval": rate_interval, "__range": format_ms(range_ms),
              "__interval": f"{step:g}s", **(chosen or {})}
    blocks, n, with_data, empty = [], 0, 0, []
    for p in sorted(panels(dashboard), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        pos = p["gridPos"]
        style = f"grid-column:{pos['x'] + 1}/span {pos['w']};grid-row:{pos['y'] + 1}/span {pos['h']}"
        title = html.escape(str(p.get("title", "")))
        if p.get("type") == "row":
            blocks.append(f'<div class="row" style="{style}">{title}</div>')
            continue
        n += 1
        res = run_panel(p, values, fetch, start, end, step)
        width, height = _svg_size(pos)
        kind = p.get("type")
        if kind == "timeseries":
            body = svg_timeseries(p, res, width, height)
        elif kind == "stat":
            body = html_stat(p, res)
        elif kind == "bargauge":
            body = html_bargauge(p, res)
        else:
            body = html_table(p, res)
        if res.has_data:
            with_data += 1
        else:
            empty.append(str(p.get("title")))
            body = '<div class="nodata">No data</div>'
        errs = "".join(f'<div class="err">{html.escape(e)}</div>' for e in res.errors)
        blocks.append(f'<div class="panel" id="panel-{p.get("id")}" style="{style}"><h3>{title}</h3>{body}{errs}</div>')
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(end))
    title = str(dashboard.get("title", "")) + (f" ({values[naming.MODEL_VAR]})" if chosen else "")
    doc = PAGE.format(title=html.escape(title), uid=html.escape(str(dashboard.get("uid"))),
                      stamp=stamp, range=format_ms(range_ms), blocks="\n".join(blocks), col=COL_PX, row=ROW_PX,
                      margin=MARGIN_PX, header=HEADER_PX, gap=GAP_PX, border=BORDER_PX, pad_x=PAD_X_PX,
                      pad_y=PAD_Y_PX)
    return Page(doc, n, with_data, empty)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ background:#111217; color:#ccccdc; font:13px sans-serif; margin:{margin}px; }}
.grid {{ display:grid; grid-template-columns:repeat(24,{col}px); grid-auto-rows:{row}px; gap:{gap}px; }}
.panel {{ background:#181b1f; border:{border}px solid #2c3235; border-radius:3px; padding:{pad_y}px {pad_x}px;
  overflow:hidden; }}
.row {{ font-size:16px; font-weight:bold; align-self:end; border-bottom:1px solid #2c3235; }}
h3 {{ font-size:13px; margin:2px 0 6px; height:16px; line-height:16px; overflow:hidden; white-space:nowrap; }}
header {{ height:{header}px; overflow:hidden; }} header h1 {{ margin:0; font-size:24px; line-height:32px; }}
header p {{ margin:4px 0; }} svg {{ display:block; }}
svg text {{ fill:#8e8e8e; font-size:10px; }}
.legend span {{ margin-right:10px; font-size:11px; }} .legend i {{ display:inline-block; width:10px; height:3px;
  margin-right:4px; vertical-align:middle; }}
.stat {{ font-size:30px; font-weight:bold; display:inline-block; margin-right:16px; }}
.sub {{ font-size:11px; font-weight:normal; color:#8e8e8e; }}
.bar {{ display:flex; align-items:center; margin:4px 0; }} .name {{ width:40%; font-size:11px; }}
.track {{ flex:1; background:#22252b; height:14px; }} .track b {{ display:block; height:14px; }}
.val {{ width:70px; text-align:right; }}
.nodata {{ color:#8e8e8e; }} .err {{ color:#F2495C; font-size:11px; }}
a {{ color:#6e9fff; }}
table {{ border-collapse:collapse; width:100%; }} td, th {{ border-bottom:1px solid #2c3235; padding:4px;
  text-align:left; }}
</style></head><body>
<header><h1>{title}</h1><p>uid {uid}; data from the last {range} up to {stamp}; drawn by <code>mlmon preview</code>.</p>
</header>
<div class="grid">
{blocks}
</div></body></html>
"""


def load_dashboards(out: Path) -> dict[str, dict[str, Any]]:
    folder = out / naming.DASHBOARDS_DIR
    files = sorted(folder.glob("*.json"))
    if not files:
        raise PreviewError(f"{folder}: no dashboards (run `mlmon generate` first)")
    try:
        return {f.stem: json.loads(f.read_text()) for f in files}
    except (OSError, ValueError) as exc:
        raise PreviewError(f"{folder}: {exc}") from exc
