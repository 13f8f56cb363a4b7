"""`mlmon drift --html`: the drift report as one HTML page a person opens, and CI keeps as an artifact.

The page stands alone: inline CSS and SVG, no script and no external asset, so it opens from a
CI artifact, an e-mail or a file share alike. It renders `drift.report`'s records as they are and
recomputes only what they do not carry (the bars, the data summary, missing and out-of-range
shares) from the same tables and the same bins. Same inputs, same bytes: no timestamps, fixed
number formats, and features in a total order.

Fields that a newer `FeatureDrift` may carry (`test`, `statistic`, `p_value`, `critical`,
`significant`) are read with getattr, so the page shows them as soon as the records have them.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass

import numpy as np

from mlmon_codegen.ml import baseline as bl
from mlmon_codegen.ml import data as mldata
from mlmon_codegen.ml import drift as dr
from mlmon_codegen.spec import ml, v1

# Bar colours: a blue/orange pair that stays distinct under the common colour-vision deficiencies.
# tests/test_drift_report.py looks for these exact colours in a screenshot of the page.
REFERENCE_COLOUR = "#3b6fb6"
CURRENT_COLOUR = "#e8743b"
MAX_CATEGORIES = 20  # bars per categorical chart; the rest share one bar, so the chart stays legible
MAX_UNSEEN_NAMED = 5  # unseen categories named in the text

# Chart geometry, in SVG user units (= CSS px at the page's width).
CHART_W, CHART_H = 760, 250
PAD_L, PAD_R, PAD_T, PAD_B = 52, 12, 28, 44
MIN_LABEL_GAP = 44  # px between x-axis labels: a 50-bin chart labels every few boundaries


@dataclass(frozen=True)
class Bars:
    """One chart: a label per bar (bin or category) and the reference and current share of each."""

    labels: list[str]  # numeric: the bin's boundaries; categorical: the category
    reference: list[float]
    current: list[float]
    boundaries: list[str] | None = None  # numeric: len(labels) + 1 axis labels between the bars


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    max: float | None = None
    distinct: int | None = None  # categorical only


@dataclass(frozen=True)
class Section:
    drift: dr.FeatureDrift
    bars: Bars
    reference: Summary
    current: Summary
    missing: tuple[float, float]  # share of rows without a value: reference, current
    out_of_range: tuple[float, float] | None  # share of values outside the range (numeric with a range)
    unseen: tuple[float, list[str]] | None  # categorical: current share in categories the reference lacks


def num(x: float | None, spec: str = ".4g") -> str:
    """One fixed format for every number on the page; + 0.0 turns -0 into 0."""
    return "–" if x is None else format(float(x) + 0.0, spec)


def pct(x: float | None) -> str:
    return "–" if x is None else format(float(x) + 0.0, ".1%")


def _summary(values: np.ndarray) -> Summary:
    q1, med, q3 = (float(v) for v in np.quantile(values, [0.25, 0.5, 0.75]))
    return Summary(int(values.size), float(values.mean()), float(values.std()), float(values.min()), q1, med, q3,
                   float(values.max()))


def _edges(reference: mldata.Table, name: str, spec_f: ml.FeatureSpec, bins: int,
           base: ml.NumericBaseline | None) -> list[float]:
    """The bins `mlmon drift` used: the committed baseline's edges, else made the same way from the reference."""
    if base is not None:
        return list(base.edges)
    return list(bl.numeric_feature(reference, name, spec_f, bins)["edges"])


def numeric_section(reference: mldata.Table, current: mldata.Table, spec_f: ml.FeatureSpec, d: ml.DriftSpec,
                    base: ml.NumericBaseline | None, fd: dr.FeatureDrift) -> Section:
    name = fd.feature
    ref, ref_missing = mldata.numeric(reference, name)
    cur, cur_missing = mldata.numeric(current, name)
    edges = _edges(reference, name, spec_f, d.bins, base)
    shares = [mldata.bin_counts(v, edges) / v.size for v in (ref, cur)]
    ticks = ["−∞", *(num(x) for x in edges), "+∞"]
    labels = [f"({lo}, {hi}]" for lo, hi in itertools.pairwise(ticks)]
    oor = None
    if spec_f.range is not None:
        lo, hi = float(spec_f.range[0]), float(spec_f.range[1])
        oor = (float(np.mean((ref < lo) | (ref > hi))), float(np.mean((cur < lo) | (cur > hi))))
    return Section(fd, Bars(labels, [float(x) for x in shares[0]], [float(x) for x in shares[1]], ticks),
                   _summary(ref), _summary(cur), (ref_missing / reference.rows, cur_missing / current.rows),
                   oor, None)


def categorical_section(reference: mldata.Table, current: mldata.Table, fd: dr.FeatureDrift) -> Section:
    name = fd.feature
    ref = [v for v in mldata.column(reference, name) if v is not None]
    cur = [v for v in mldata.column(current, name) if v is not None]
    ref_counts: dict[str, int] = {}
    cur_counts: dict[str, int] = {}
    for values, counts in ((ref, ref_counts), (cur, cur_counts)):
        for v in values:
            counts[v] = counts.get(v, 0) + 1
    # Biggest first by the larger of the two shares, ties by name: a total order, so stable bytes.
    cats = sorted(ref_counts, key=lambda c: (-max(ref_counts[c] / len(ref), cur_counts.get(c, 0) / len(cur)), c))
    shown, rest = cats[:MAX_CATEGORIES], cats[MAX_CATEGORIES:]
    labels = list(shown)
    rshare = [ref_counts[c] / len(ref) for c in shown]
    cshare = [cur_counts.get(c, 0) / len(cur) for c in shown]
    if rest:
        labels.append(f"({len(rest)} more)")
        rshare.append(sum(ref_counts[c] for c in rest) / len(ref))
        cshare.append(sum(cur_counts.get(c, 0) for c in rest) / len(cur))
    unseen_names = sorted(set(cur_counts) - set(ref_counts), key=lambda c: (-cur_counts[c], c))
    unseen_share = sum(cur_counts[c] for c in unseen_names) / len(cur)
    if unseen_names:  # the rules' "(other)" bin: what the reference never saw
        labels.append("(unseen)")
        rshare.append(0.0)
        cshare.append(unseen_share)
    col_ref, col_cur = mldata.column(reference, name), mldata.column(current, name)
    return Section(fd, Bars(labels, rshare, cshare),
                   Summary(len(ref), distinct=len(ref_counts)), Summary(len(cur), distinct=len(cur_counts)),
                   ((len(col_ref) - len(ref)) / reference.rows, (len(col_cur) - len(cur)) / current.rows),
                   None, (unseen_share, unseen_names))


def prediction_section(current: mldata.Table, fd: dr.FeatureDrift, priors: dict[str, float]) -> Section:
    """The predicted classes (`mlmon drift --predictions`) against the class priors, as the rules see
    them: the priors' classes, then one "(unseen)" bar for every class the priors lack."""
    col = mldata.column(current, fd.feature, role="prediction")
    cur = [v for v in col if v is not None]
    classes = sorted(priors)
    cshare = [cur.count(c) / len(cur) for c in classes]
    names = sorted(set(cur) - set(classes), key=lambda c: (-cur.count(c), c))
    unseen = 1 - sum(cshare) if names else 0.0
    extra = ["(unseen)"] if names else []
    bars = Bars([*classes, *extra], [*(priors[c] for c in classes), *(0.0 for _ in extra)],
                [*cshare, *(unseen for _ in extra)])
    return Section(fd, bars, Summary(fd.reference_samples, distinct=len(classes)),
                   Summary(len(cur), distinct=len(set(cur))), (0.0, (len(col) - len(cur)) / current.rows), None,
                   (unseen, names))


def _significant(fd: dr.FeatureDrift) -> bool:
    return bool(getattr(fd, "significant", False))


def sections(rep: dr.Report, reference: mldata.Table, current: mldata.Table, spec: v1.ModelMonitor,
             base: ml.Baseline | None) -> list[Section]:
    """One section per feature, worst first: drifted, then significant, then by PSI, then by name."""
    d = spec.drift or ml.DriftSpec()
    out = []
    for fd in rep.features:
        spec_f = spec.features[fd.feature]
        if fd.kind == "numeric":
            b = base.features.get(fd.feature) if base else None
            out.append(numeric_section(reference, current, spec_f, d,
                                       b if isinstance(b, ml.NumericBaseline) else None, fd))
        else:
            out.append(categorical_section(reference, current, fd))
    return sorted(out, key=lambda s: (not s.drift.drifted, not _significant(s.drift), -s.drift.psi, s.drift.feature))


def _test(fd: dr.FeatureDrift) -> tuple[str | None, float | None, float | None, float | None, bool | None]:
    """The significance test the verdict used (ml/drift.py), with its statistic and critical value."""
    return fd.test, fd.statistic, fd.p_value, fd.critical, fd.significant


def _nice_top(x: float) -> float:
    """The y-axis top: the largest share rounded up to a multiple of 5%, at least 5%."""
    return max(0.05, math.ceil(x * 20 - 1e-9) / 20)


def e(text: str) -> str:
    return html.escape(text, quote=True)


def chart(name: str, bars: Bars) -> str:
    """Reference and current shares side by side per bin or category, as an inline SVG."""
    n = len(bars.labels)
    plot_w, plot_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    slot = plot_w / n
    bar_w = slot * 0.4
    top = _nice_top(max([*bars.reference, *bars.current, 0.0]))
    base_y = PAD_T + plot_h

    def y(share: float) -> float:
        return base_y - share / top * plot_h

    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{CHART_H}" '
           f'viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="{e(name)}: reference and current shares">']
    for share in (0.0, top / 2, top):
        gy = f"{y(share):.1f}"
        out.append(f'<line x1="{PAD_L}" y1="{gy}" x2="{CHART_W - PAD_R}" y2="{gy}" class="grid"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{gy}" class="ylab">{pct(share)}</text>')
    for i, label in enumerate(bars.labels):
        x0 = PAD_L + i * slot + slot * 0.1
        for j, (who, share, colour) in enumerate((("reference", bars.reference[i], REFERENCE_COLOUR),
                                                  ("current", bars.current[i], CURRENT_COLOUR))):
            h = base_y - y(share)
            if h <= 0:
                continue
            out.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{y(share):.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{colour}"><title>{e(label)}: {who} {pct(share)}</title></rect>')
    step = max(1, math.ceil(MIN_LABEL_GAP / slot))
    if bars.boundaries is not None:  # numeric: the edge values between the bins
        for i, tick in enumerate(bars.boundaries):
            if i % step == 0 or i == n:
                out.append(f'<text x="{PAD_L + i * slot:.1f}" y="{base_y + 16}" class="xlab">{e(tick)}</text>')
    else:  # categorical: the category under its bars, shortened; the full name is in the bars' tooltips
        for i, label in enumerate(bars.labels):
            if i % step == 0:
                short = label if len(label) <= 12 else label[:11] + "…"
                out.append(f'<text x="{PAD_L + (i + 0.5) * slot:.1f}" y="{base_y + 16}" class="xlab">'
                           f'{e(short)}</text>')
    out.append(f'<line x1="{PAD_L}" y1="{base_y}" x2="{CHART_W - PAD_R}" y2="{base_y}" class="axis"/>')
    lx = CHART_W - PAD_R - 190
    for k, (who, colour) in enumerate((("reference", REFERENCE_COLOUR), ("current", CURRENT_COLOUR))):
        out.append(f'<rect x="{lx + k * 95}" y="8" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{lx + k * 95 + 14}" y="17" class="legend">{who}</text>')
    out.append("</svg>")
    return "".join(out)


def _row(cells: list[str], head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _summary_table(kind: str, ref: Summary, cur: Summary) -> str:
    rows = [_row(["", "reference", "current"], head=True), _row(["count", str(ref.count), str(cur.count)])]
    if kind == "numeric":
        for label, attr in (("mean", "mean"), ("std", "std"), ("min", "min"), ("25%", "q1"), ("median", "median"),
                            ("75%", "q3"), ("max", "max")):
            rows.append(_row([label, num(getattr(ref, attr)), num(getattr(cur, attr))]))
    else:
        rows.append(_row(["distinct", str(ref.distinct), str(cur.distinct)]))
    return '<table class="summary">' + "".join(rows) + "</table>"


def _anchor(name: str) -> str:
    return "f-" + e(name)


def _section(s: Section, d: ml.DriftSpec) -> str:
    fd = s.drift
    test, statistic, p_value, critical, significant = _test(fd)
    verdict = '<span class="bad">drifted</span>' if fd.drifted else '<span class="ok">no drift</span>'
    metrics = [
        ("test", e(test) if test else "–"),
        ("statistic", num(statistic)),
        ("p-value", num(p_value, ".3g")),
        ("critical value", num(critical)),
        ("significant", "–" if significant is None else ("yes" if significant else "no")),
        ("PSI", f"{num(fd.psi)} <small>(warn {num(d.psi_warn)}, page {num(d.psi_page)})</small>"),
        ("KS", num(fd.ks_statistic)),
        ("KS p-value", num(fd.ks_pvalue, ".3g")),
        ("binned KS", num(fd.binned_ks)),
        ("Wasserstein", num(fd.wasserstein)),
        ("missing", f"{pct(s.missing[0])} → {pct(s.missing[1])}"),
    ]
    if s.out_of_range is not None:
        metrics.append(("out of range", f"{pct(s.out_of_range[0])} → {pct(s.out_of_range[1])}"))
    if s.unseen is not None:
        share, names = s.unseen
        named = ", ".join(f"<code>{e(c)}</code>" for c in names[:MAX_UNSEEN_NAMED])
        more = f" and {len(names) - MAX_UNSEEN_NAMED} more" if len(names) > MAX_UNSEEN_NAMED else ""
        metrics.append(("unseen categories", pct(share) + (f": {named}{more}" if names else "")))
    table = '<table class="metrics">' + "".join(_row([k, v]) for k, v in metrics) + "</table>"
    what = {"numeric": "bin of the baseline (drawn equal width; the axis gives their edges)",
            "prediction": "predicted class, against the training class priors"}.get(fd.kind, "category")
    return (f'<section id="{_anchor(fd.feature)}"><h2>{e(fd.feature)} <small>{e(fd.kind)}, {fd.samples} current '
            f"values</small> {verdict}</h2>"
            f'<div class="row"><figure>{chart(fd.feature, s.bars)}<figcaption>Share of values per {what}: '
            f"reference vs current.</figcaption></figure>{table}</div>"
            f"{_summary_table(fd.kind, s.reference, s.current)}</section>")


STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2530;background:#fff;margin:24px;
max-width:1140px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:0 0 8px}h2 small{font-weight:normal;color:#5a6472}
.verdict{padding:14px 18px;border-radius:6px;margin:12px 0 18px;font-size:16px}
.verdict.bad{background:#fde2e1;border:2px solid #c62828}.verdict.ok{background:#e3f4e5;border:2px solid #2e7d32}
.verdict b{font-size:20px}.meter{position:relative;height:12px;background:#fff;border:1px solid #8a94a3;
margin-top:8px;max-width:600px}.meter .fill{height:100%}.meter .mark{position:absolute;top:-4px;bottom:-4px;
width:2px;background:#1d2530}.bad .fill{background:#c62828}.ok .fill{background:#2e7d32}
span.bad{color:#fff;background:#c62828;padding:1px 8px;border-radius:10px;font-size:13px}
span.ok{color:#fff;background:#2e7d32;padding:1px 8px;border-radius:10px;font-size:13px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d5dae1;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f1f3f6}
section{border-top:1px solid #d5dae1;padding:14px 0}.row{display:flex;gap:18px;align-items:flex-start;
flex-wrap:wrap}figure{margin:0}figcaption{color:#5a6472;font-size:12px}
.chart .grid{stroke:#e3e7ec}.chart .axis{stroke:#5a6472}.chart text{font-size:11px;fill:#3a4350}
.chart .ylab{text-anchor:end;dominant-baseline:middle}.chart .xlab{text-anchor:middle}
.sources td{text-align:left}code{font-size:12px}
"""


def render(rep: dr.Report, reference: mldata.Table, current: mldata.Table, spec: v1.ModelMonitor,
           base: ml.Baseline | None, spec_path: str, baseline_file: str | None) -> str:
    d = spec.drift or ml.DriftSpec()
    parts = sections(rep, reference, current, spec, base)
    drifted = sum(fd.drifted for fd in rep.features)
    total = len(rep.features)
    cls = "bad" if rep.drifted else "ok"
    word = "Dataset drifted" if rep.drifted else "No dataset drift"
    cmp = "≥" if rep.drifted else "<"
    title = f"Drift report: {spec.metadata.name}"
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body>")
    verdict = (f'<h1>{e(title)}</h1><div class="verdict {cls}"><b>{word}</b>: {drifted} of {total} features '
               f"drifted, a share of {pct(rep.drifted_share)} {cmp} the threshold {pct(rep.threshold)} "
               f"(<code>drift.drifted_share</code>)."
               f'<div class="meter"><div class="fill" style="width:{min(rep.drifted_share, 1) * 100:.1f}%"></div>'
               f'<div class="mark" style="left:{min(rep.threshold, 1) * 100:.1f}%"></div></div></div>')
    overview = [_row(["feature", "kind", "verdict", "PSI", "test", "p-value", "missing", "out of range / unseen"],
                     head=True)]
    for s in parts:
        test, _, p_value, _, _ = _test(s.drift)
        odd = s.out_of_range[1] if s.out_of_range is not None else (s.unseen[0] if s.unseen is not None else None)
        overview.append(_row([f'<a href="#{_anchor(s.drift.feature)}">{e(s.drift.feature)}</a>', e(s.drift.kind),
                              "drifted" if s.drift.drifted else "no drift", num(s.drift.psi), e(test or "–"),
                              num(p_value, ".3g"), pct(s.missing[1]), pct(odd)]))
    bins = (f"baseline <code>{e(baseline_file)}</code>" if baseline_file
            else "no baseline file: bins made from the reference data")
    sources = ('<table class="sources">'
               + _row(["reference", f"<code>{e(reference.path)}</code>, {reference.rows} rows"])
               + _row(["current", f"<code>{e(current.path)}</code>, {current.rows} rows"])
               + _row(["spec", f"<code>{e(spec_path)}</code>; {bins}"])
               + _row(["thresholds", f"psi_warn {num(d.psi_warn)}, psi_page {num(d.psi_page)}, drifted_share "
                                     f"{pct(d.drifted_share)}"])
               + "</table>")
    if rep.prediction is not None and base is not None:  # the priors it was judged on are the baseline's
        parts.append(prediction_section(current, rep.prediction, base.label))
        s = parts[-1]
        overview.append(_row([f'<a href="#{_anchor(s.drift.feature)}">{e(s.drift.feature)}</a>', "predicted classes",
                              "drifted" if s.drift.drifted else "no drift", num(s.drift.psi), e(s.drift.test),
                              num(s.drift.p_value, ".3g"), pct(s.missing[1]), pct(s.unseen[0] if s.unseen else None)]))
    body = "".join(_section(s, d) for s in parts)
    return (head + verdict + '<table class="overview">' + "".join(overview) + "</table>" + sources + body
            + "</body></html>\n")

