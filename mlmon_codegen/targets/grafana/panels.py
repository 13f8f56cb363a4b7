"""What each model's dashboard shows, row by row, as the plain records of records.py.

Panels read the recording rules the compiler generates wherever one exists, so a dashboard and
the alerts that link to it show the same numbers. Raw PromQL is used only for what no rule
records (traffic, latency quantiles, error breakdown, class shares, confidence). Layout and
Grafana JSON are dashboards.py's job; this module decides content only, and `sections` is the one
place the rows are put together (the ML rows and panels come from ml_panels.py).
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan import burnrate, queries, signals, sli
from mlmon_codegen.plan import panel_keys as keys
from mlmon_codegen.plan.sli import windows
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.grafana import ml_panels
from mlmon_codegen.targets.grafana.records import (
    BURN_UNIT,
    GREEN,
    ORANGE,
    RATE_INTERVAL,
    RED,
    VERSION_VAR,
    Panel,
    Query,
    Section,
    group_var,
    steps_from,
)


def _slo_sel(metric: str, model: m.Model, slo: m.SLO, grouped: bool = True) -> str:
    # A grouped SLO's series are filtered by the dashboard's variable of each group label
    # (grouped=False: a series recorded once per SLO, like the objective, has no group labels).
    groups = [(label, "=~", f"${group_var(label)}") for label in slo.group_by] if grouped else []
    return q.selector(metric, [(naming.MODEL_LABEL, "=", model.name), (naming.SLO_LABEL, "=", slo.name), *groups])


def _legend(slo: m.SLO, text: str = "") -> str:
    """A query's legend, with the group's label values for a grouped SLO (one series per group)."""
    shown = " ".join(f"{label}={{{{{label}}}}}" for label in slo.group_by)
    return f"{text} {shown}".strip() if shown else text


def _burn_rate(model: m.Model, slo: m.SLO, window_ms: int) -> str:
    return queries.over_budget(_slo_sel(naming.slo_error_ratio(window_ms), model, slo),
                               _slo_sel(naming.SLO_OBJECTIVE, model, slo, grouped=False))


def slo_panels(model: m.Model, slo: m.SLO) -> tuple[Panel, ...]:
    objective = round(slo.objective / 100, 12)
    objective_sel = _slo_sel(naming.SLO_OBJECTIVE, model, slo, grouped=False)
    period = q.window(slo.period_ms)
    # A tier fires when both its windows exceed its threshold, so the tier's position is the
    # lesser of the two burn rates over the tier's factor: 100% is the firing line.
    tier_queries = []
    for t in burnrate.tiers(slo):
        short = q.binop(_burn_rate(model, slo, t.short_ms), "/", q.number(t.factor))
        long = q.binop(_burn_rate(model, slo, t.long_ms), "/", q.number(t.factor))
        tier_queries.append(Query(q.lesser(short, long), _legend(slo, f"{t.name} ({t.short}/{t.long})")))
    factors = [(t.factor, RED if t.severity == "critical" else ORANGE)
               for t in sorted(burnrate.tiers(slo), key=lambda t: t.factor)]
    return (
        Panel(f"{slo.name}: objective", "stat", (Query(objective_sel),),
              w=3, h=6,
              unit="percentunit", description=f"The {slo.name} SLO's objective over {period}.",
              key=keys.slo_panel(slo.name, "objective")),
        Panel(f"{slo.name}: SLI over {period}", "stat",
              (Query(q.one_minus(_slo_sel(naming.SLO_PERIOD_ERROR_RATIO, model, slo)), _legend(slo)),), w=3, h=6,
              unit="percentunit", steps=steps_from((None, RED), (objective, GREEN)),
              description="Good events over all events in the period; red below the objective.",
              key=keys.slo_panel(slo.name, keys.SLI)),
        Panel(f"{slo.name}: error budget left", "stat",
              (Query(queries.budget_left(_slo_sel(naming.SLO_PERIOD_ERROR_RATIO, model, slo), objective_sel),
                     _legend(slo)),),
              w=3, h=6, unit="percentunit", steps=steps_from((None, RED), (0.0, ORANGE), (0.25, GREEN)),
              description=f"Share of the {q.number(slo.budget * 100)}% error budget of the period not yet spent.",
              key=keys.slo_panel(slo.name, "budget-left")),
        Panel(f"{slo.name}: burn per tier (100% fires)", "bargauge", tuple(tier_queries), w=6, h=6,
              unit="percentunit", steps=steps_from((None, GREEN), (0.5, ORANGE), (1.0, RED)), min=0.0, max=1.5,
              description="Each tier's burn rate as a share of its threshold (the lesser of its two windows).",
              key=keys.slo_panel(slo.name, keys.BURN_TIERS)),
        Panel(f"{slo.name}: burn rate", "timeseries",
              tuple(Query(_burn_rate(model, slo, w), _legend(slo, q.window(w)))
                    for w in windows(slo)),
              w=9, h=6, unit=BURN_UNIT, steps=steps_from((None, GREEN), *factors), lines=True,
              description="Burn rate per recorded window; the lines are the tiers' factors (1 = budget lasts "
                          "exactly the period).", key=keys.slo_panel(slo.name, "burn-rate")),
    )


def slo_section(model: m.Model) -> Section:
    firing = Panel("Firing alerts", "stat",
                   (Query(q.or_zero(q.agg("count", queries.firing_alerts(model.name)))),), w=24, h=3,
                   steps=steps_from((None, GREEN), (1.0, RED)),
                   description=f"Alerts with model={model.name} firing now.", key="alerts/firing")
    return Section("SLOs", (firing, *(p for slo in model.slos for p in slo_panels(model, slo))), key="slos")


def traffic_section(model: m.Model) -> Section:
    met = model.metrics
    panels = []
    up = queries.targets_up(model)
    if up is not None:
        panels.append(Panel("Targets up", "stat", (Query(q.agg("sum", up)),), w=4, h=8,
                            steps=steps_from((None, RED), (1.0, GREEN)),
                            description=f"Scrape targets of job {sli.scrape_job(model)} up.", key=keys.TARGETS_UP))
    if met.requests is not None:
        panels.append(Panel("Predictions per second", "stat",
                            (Query(queries.predictions_per_second(model, RATE_INTERVAL)),),
                            w=4, h=8, unit="reqps", key=keys.TRAFFIC))
    if met.requests is not None and met.version_label:
        version = ((met.version_label, "=~", f"${VERSION_VAR}"),)
        panels.append(Panel("Predictions per second by version", "timeseries", (Query(
            queries.predictions_per_second(model, RATE_INTERVAL, by=(met.version_label,), extra=version),
            f"{{{{{met.version_label}}}}}"),), w=8, h=8, unit="reqps", key="traffic/predictions-by-version"))
    if signals.predicts(model):
        panels.append(Panel("Predictions per second by class", "timeseries",
                            (Query(queries.predictions_per_class(model, RATE_INTERVAL), f"{{{{{met.class_label}}}}}"),),
                            w=8, h=8, unit="reqps", key="traffic/predictions-by-class"))
    return Section("Traffic", tuple(panels), key="traffic")


# The LLM latency histograms beside `latency`: role, panel title, key.
TOKEN_LATENCIES = (("first_token_latency", "Time to first token p50, p95, p99", "latency/first-token-quantiles"),
                   ("inter_token_latency", "Inter-token latency p50, p95, p99", "latency/inter-token-quantiles"))


def _quantiles(model: m.Model, role: str, title: str, slos: list[m.SLO], w: int, description: str,
               key: str) -> Panel:
    thresholds = sorted({s.threshold_s for s in slos if s.histogram == role and s.threshold_s is not None})
    return Panel(
        title, "timeseries",
        tuple(Query(queries.latency_quantile(model, p, RATE_INTERVAL, role), f"p{round(p * 100)}")
              for p in (0.5, 0.95, 0.99)),
        w=w, h=8, unit="s", steps=steps_from((None, GREEN), *((t, RED) for t in thresholds)),
        lines=True, description=description, key=key)


def latency_section(model: m.Model) -> Section | None:
    met = model.metrics
    tokens = [t for t in TOKEN_LATENCIES if getattr(met, t[0]) is not None]
    if met.latency is None and not tokens:
        return None
    latency_slos = [s for s in model.slos if s.kind == "latency" and s.threshold_s is not None]
    panels = []
    if met.latency is not None:
        panels.append(_quantiles(
            model, "latency", "Latency p50, p95, p99", latency_slos, 16 if latency_slos else 24,
            "Quantiles from the latency histogram; the lines are the latency SLO thresholds.", "latency/quantiles"))
    if latency_slos:
        first = latency_slos[0]
        panels.append(Panel(
            "Requests within the latency threshold", "bargauge",
            tuple(Query(q.one_minus(_slo_sel(naming.slo_error_ratio(windows(s)[0]), model, s)),
                        _legend(s, f"{s.name} (≤ {q.number(s.threshold_s or 0)}s, {q.window(windows(s)[0])})"))
                  for s in latency_slos),
            w=8, h=8, unit="percentunit", min=0.0, max=1.0,
            steps=steps_from((None, RED), (round(first.objective / 100, 12), GREEN)),
            description="Share of requests under each latency SLO's threshold over its shortest window.",
            key="latency/within-thresholds"))
    for role, title, key in tokens:
        panels.append(_quantiles(
            model, role, title, latency_slos, 24 // len(tokens),
            f"Quantiles from the {role} histogram; the lines are the thresholds of the SLOs that read it.", key))
    return Section("Latency", tuple(panels), key="latency")


def errors_section(model: m.Model) -> Section | None:
    """The error ratio as the SLOs measure it: the availability SLO's, else a custom SLO's (its own
    SLI), else the raw counters'. Not regression.slo's: its bad events are predictions off by more
    than its threshold, which the SLO row shows, not errors of the service."""
    met = model.metrics
    measured = next((s for s in model.slos if s.kind == "availability"), None) or next(
        (s for s in model.slos if s.kind == "custom" and s.histogram != "residual_histogram"), None)
    panels = []
    if measured is not None:
        ws = windows(measured)[:2]
        ratio = tuple(Query(_slo_sel(naming.slo_error_ratio(w), model, measured), _legend(measured, q.window(w)))
                      for w in ws)
        panels.append(Panel("Error ratio", "timeseries", ratio, w=12, h=8, unit="percentunit",
                            steps=steps_from((None, GREEN), (measured.budget, RED)), lines=True,
                            description=f"Bad events over all events as the {measured.name} SLO counts them; the "
                                        "line is its error budget.", key="errors/ratio"))
    elif met.errors is not None and met.requests is not None:
        panels.append(Panel("Error ratio", "timeseries", (Query(q.binop(
            queries.errors_per_second(model, RATE_INTERVAL), "/", queries.predictions_per_second(model, RATE_INTERVAL)),
            "error ratio"),), w=12, h=8, unit="percentunit", description="Errors over requests.", key="errors/ratio"))
    if met.errors is not None:
        typed = met.error_type_label
        panels.append(Panel("Errors per second by type" if typed else "Errors per second", "timeseries",
                            (Query(queries.errors_per_second_by_type(model, RATE_INTERVAL),
                                   f"{{{{{typed}}}}}" if typed else "errors"),),
                            w=12, h=8, unit="reqps", key="errors/by-type"))
    return Section("Errors", tuple(panels), key="errors")


def predictions_section(model: m.Model) -> Section | None:
    """Class shares and confidence, when the spec has a `predictions:` section and the metrics."""
    ml, met = model.ml, model.metrics
    panels = []
    if signals.predicts(model):
        share = q.binop(queries.predictions_per_class(model, RATE_INTERVAL), "/",
                        queries.predictions_per_class(model, RATE_INTERVAL, by_class=False),
                        q.group_left(q.ignoring((met.class_label,))))
        # The recorded shares and training priors when the ML rules record them; raw shares otherwise.
        shares = ml_panels.class_share_queries(model) or (Query(share, f"{{{{{met.class_label}}}}}"),)
        panels.append(Panel("Class shares against training priors", "timeseries", shares, w=12, h=8,
                            unit="percentunit",
                            description="Share of predictions per class; `prior` lines are the training label shares.",
                            key="predictions/class-shares"))
    if signals.confidence(model) and ml is not None:
        conf_steps = steps_from((None, RED), (ml.confidence_threshold, GREEN))
        panels.append(Panel("Confidence quantiles", "timeseries",
                            (*(Query(queries.histogram_quantile(model, "confidence", p, RATE_INTERVAL),
                                     f"p{round(p * 100)}")
                               for p in (0.1, 0.25, 0.5, 0.9)), *ml_panels.confidence_queries(model)),
                            w=12, h=8, unit="percentunit", steps=conf_steps, lines=True, min=0.0, max=1.0,
                            key=keys.ml_alert_panel("low_confidence")))
        panels.extend(ml_panels.expected_accuracy_panel(model))
    return Section("Predictions", tuple(panels), key="predictions")


def ground_truth_section(model: m.Model) -> Section | None:
    accuracy = [s for s in model.slos if s.kind == "accuracy"]
    panels = []
    for s in accuracy:
        ws = windows(s)
        panels.append(Panel(
            f"{s.name}: accuracy against its objective", "timeseries",
            tuple(Query(q.one_minus(_slo_sel(naming.slo_error_ratio(w), model, s)), _legend(s, q.window(w)))
                  for w in ws[:2]),
            w=12, h=8, unit="percentunit", steps=steps_from((None, RED), (round(s.objective / 100, 12), GREEN)),
            lines=True, description="Labelled predictions that were right; the line is the objective.",
            key=keys.slo_panel(s.name, "accuracy")))
    panels.extend(ml_panels.ground_truth_panels(model))
    return Section("Ground truth", tuple(panels), key="ground-truth") if panels else None


def sections(model: m.Model) -> list[Section]:
    """The rows in the order a person on call reads them; the ML rows only when the spec has ML rules."""
    out = [slo_section(model), traffic_section(model), latency_section(model), errors_section(model),
           predictions_section(model), ml_panels.drift_section(model), ground_truth_section(model),
           ml_panels.regression_section(model), ml_panels.retraining_section(model)]
    return [s for s in out if s is not None and s.panels]
