"""grafana/dashboards/<model>.json and fleet.json, built with grafanalib and returned as data.

Positions come from the order of the rows and panels; ids from their keys (plan/panel_keys.py),
not from positions, so a panel keeps its id, and an alert's `dashboard_url` (`?viewPanel=<id>`,
built from the model alone by plan/alert_text.py) its target, when other panels come or go.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import grafanalib.core as g

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.emit.artifact import Artifact
from mlmon_codegen.plan import grouping, panel_keys, queries
from mlmon_codegen.plan.sli import series
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.grafana import ml_panels
from mlmon_codegen.targets.grafana.panels import sections
from mlmon_codegen.targets.grafana.records import DATASOURCE_VAR, VERSION_VAR, Panel, Query, Section, Step, group_var

SCHEMA_VERSION = 39  # Grafana 10.x/11.x; set explicitly, grafanalib's default (12) is ancient
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VAR}}}"}
GRID_WIDTH = 24
REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
THRESHOLD_COLORS = {"mode": "thresholds"}  # grafanalib leaves a stat's colour null; the steps should decide


@dataclass(frozen=True)
class Placed:
    id: int
    x: int
    y: int
    panel: Panel | None  # None: the row header of `section`
    section: Section


def keys(secs: list[Section]) -> list[str]:
    """Every row's and panel's key, top to bottom."""
    return [k for sec in secs for k in (sec.key, *(p.key for p in sec.panels))]


def layout(secs: list[Section], ids: Mapping[str, int]) -> list[Placed]:
    """Rows top to bottom, panels packed left to right in shelves; each id is ids[key].

    A shelf is as tall as its tallest panel and the next starts below it, so nothing overlaps.
    """
    out: list[Placed] = []
    y = 0
    for sec in secs:
        out.append(Placed(ids[sec.key], 0, y, None, sec))
        y += 1
        x, shelf = 0, 0
        for p in sec.panels:
            if x + p.w > GRID_WIDTH:
                x, y, shelf = 0, y + shelf, 0
            out.append(Placed(ids[p.key], x, y, p, sec))
            x, shelf = x + p.w, max(shelf, p.h)
        y += shelf
    return out


def _check_keys(model: m.Model, all_keys: list[str]) -> None:
    """Keys are unique, and the panels alerts open are exactly those plan/panel_keys.py expects:
    links are built from the model alone, so a disagreement would be a link to a missing panel."""
    seen: set[str] = set()
    for key in all_keys:
        if key in seen:
            raise ValueError(f"dashboard of {model.name}: two panels have the key {key!r}")
        seen.add(key)
    drawn = tuple(sorted(seen & panel_keys.linkable(model)))
    if drawn != panel_keys.alert_panels(model):
        raise ValueError(f"dashboard of {model.name}: draws the alert panels {drawn}, but alert links expect "
                         f"{panel_keys.alert_panels(model)}")


@lru_cache(maxsize=256)
def model_layout(model: m.Model) -> tuple[Placed, ...]:
    secs = sections(model)
    all_keys = keys(secs)
    _check_keys(model, all_keys)
    return tuple(layout(secs, panel_keys.panel_ids(model, all_keys)))


def _steps(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"color": s.color, "value": s.value} for s in steps] or [{"color": "green", "value": None}]


def _targets(queries: tuple[Query, ...], instant: bool = False, table: bool = False) -> list[g.Target]:
    return [g.Target(expr=qu.expr, legendFormat=qu.legend, refId=REF_IDS[i], datasource=DATASOURCE,
                     instant=instant, format=g.TABLE_TARGET_FORMAT if table else g.TIME_SERIES_TARGET_FORMAT)
            for i, qu in enumerate(queries)]


# Room around the threshold lines, as a share of their span (or of the line itself, for one line).
SOFT_MARGIN = 0.1


def soft_range(p: Panel) -> tuple[float, float] | None:
    """An axis range that always shows the panel's threshold lines: Grafana fits the axis to the
    data, so on a healthy model a 100 ms threshold or a 90% objective sits off the chart. Soft
    bounds only widen the axis; data beyond them still shows."""
    values = [s.value for s in p.steps if s.value is not None]
    if not (p.kind == "timeseries" and p.lines and values):
        return None
    lo, hi = min(values), max(values)
    pad = SOFT_MARGIN * ((hi - lo) or abs(hi) or 1.0)
    low = 0.0 if lo - pad < 0 <= lo else lo - pad  # ratios, latencies and burn rates are never negative
    high = min(1.0, hi + pad) if p.unit == "percentunit" and hi <= 1 else hi + pad
    return round(low, 12), round(high, 12)


def _extra(p: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if p.min is not None:
        defaults["min"] = p.min
    if p.max is not None:
        defaults["max"] = p.max
    soft = soft_range(p)
    if soft is not None:
        defaults["custom"] = {"axisSoftMin": soft[0], "axisSoftMax": soft[1]}
    return {"fieldConfig": {"defaults": defaults}} if defaults else {}


def grafana_panel(placed: Placed) -> Any:
    p, pos = placed.panel, None
    if p is None:
        return g.RowPanel(title=placed.section.title, id=placed.id, gridPos=g.GridPos(h=1, w=GRID_WIDTH, x=0,
                                                                                       y=placed.y))
    pos = g.GridPos(h=p.h, w=p.w, x=placed.x, y=placed.y)
    common: dict[str, Any] = {"title": p.title, "id": placed.id, "gridPos": pos, "dataSource": DATASOURCE,
                              "description": p.description, "thresholds": _steps(p.steps),
                              "extraJson": _extra(p) or None}
    if p.kind == "timeseries":
        return g.TimeSeries(targets=_targets(p.queries), unit=p.unit, legendDisplayMode="list",
                            thresholdsStyleMode="line" if p.lines else "off", tooltipMode="multi", **common)
    if p.kind == "stat":
        return g.Stat(targets=_targets(p.queries), format=p.unit, reduceCalc="lastNotNull", noValue="no data",
                      color=THRESHOLD_COLORS,
                      colorMode="value", graphMode="area", **common)
    if p.kind == "bargauge":
        return g.BarGauge(targets=_targets(p.queries, instant=True), format=p.unit,
                          displayMode=g.GAUGE_DISPLAY_MODE_GRADIENT, **common)
    raise ValueError(f"unknown panel kind {p.kind}")


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _to_data(value: Any) -> Any:
    """grafanalib objects → fresh plain dicts and lists: what a json.dumps/json.loads round trip with
    grafanalib's DashboardEncoder gives, in a third of the time (dashboards dominate generation)."""
    kind = type(value)
    if kind is dict:
        return {k if type(k) is str else json.dumps(k): v if type(v) in _LEAVES else _to_data(v)
                for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else _to_data(v) for v in value]
    if kind in _LEAVES:
        return value
    return _to_data(value.to_json_data())  # a grafanalib object (AttributeError on anything else)


# Keys grafanalib still writes that Grafana's current dashboard schema dropped (rows before
# panels, spans before gridPos, the old table's styling, Graphite-era target fields): Grafana
# ignores or migrates them, and they only make the JSON larger and its diffs noisier.
LEGACY_DASHBOARD_KEYS = ("rows", "hideControls", "sharedCrosshair", "style", "__inputs", "gnetId")
LEGACY_TIMEPICKER_KEYS = ("time_options", "nowDelay")
LEGACY_PANEL_KEYS = ("span", "height", "minSpan", "error", "editable", "cacheTimeout", "columns", "fontSize",
                     "styles", "scroll", "sort", "transform", "showHeader")
LEGACY_TARGET_KEYS = ("intervalFactor", "step", "metric", "target", "query")


def _plain(dash: g.Dashboard) -> dict[str, Any]:
    data: dict[str, Any] = _to_data(dash)
    for key in LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    for key in LEGACY_TIMEPICKER_KEYS:
        data["timepicker"].pop(key, None)
    for panel in data["panels"]:
        for key in LEGACY_PANEL_KEYS:
            panel.pop(key, None)
        for target in panel.get("targets", ()):
            for key in LEGACY_TARGET_KEYS:
                target.pop(key, None)
        if panel.get("type") == "bargauge":
            _modern_bargauge(panel)
    return data


def _modern_bargauge(panel: dict[str, Any]) -> None:
    """grafanalib writes Grafana 6's `options.fieldOptions`; current Grafana reads fieldConfig."""
    old = panel["options"].pop("fieldOptions")
    defaults = panel["fieldConfig"]["defaults"]
    defaults.setdefault("min", old["defaults"]["min"])
    defaults.setdefault("max", old["defaults"]["max"])
    defaults["unit"] = old["defaults"]["unit"]
    panel["options"].update({"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                             "showUnfilled": True, "valueMode": "color", "namePlacement": "auto",
                             "sizing": "auto", "minVizHeight": 16, "maxVizHeight": 300})


def _templating(model: m.Model | None) -> g.Templating:
    variables = [g.Template(name=DATASOURCE_VAR, label="Data source", query="prometheus", type="datasource",
                            default="Prometheus")]
    if model is not None and model.metrics.version_label and model.metrics.requests:
        variables.append(g.Template(
            name=VERSION_VAR, label="Model version", dataSource=DATASOURCE, type="query",
            query=q.call("label_values", series(model, "requests"), model.metrics.version_label),
            includeAll=True, multi=True,
            allValue=".*", default="$__all", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE))
    # One variable per SLO group label (group_by): the SLO panels show the groups it picks.
    # The values come from the period ratio, which every SLO records once per group.
    for label in grouping.model_group_labels(model) if model is not None else ():
        variables.append(g.Template(
            name=group_var(label), label=f"SLO group: {label}", dataSource=DATASOURCE, type="query",
            query=q.call("label_values", q.selector(naming.SLO_PERIOD_ERROR_RATIO, {naming.MODEL_LABEL: model.name}),
                         label),
            includeAll=True, multi=True, allValue=".*", default="$__all", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE))
    return g.Templating(list=variables)


def _dashboard(title: str, uid: str, panels: list[Any], tags: list[str], description: str,
               model: m.Model | None, links: list[dict[str, Any]]) -> dict[str, Any]:
    dash = g.Dashboard(title=title, uid=uid, panels=panels, tags=tags, description=description,
                       schemaVersion=SCHEMA_VERSION, templating=_templating(model), time=g.Time("now-6h", "now"),
                       timezone="utc", refresh="1m", graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
                       editable=False, links=links)
    return _plain(dash)


def render_model(model: m.Model) -> dict[str, Any]:
    panels = [grafana_panel(p) for p in model_layout(model)]
    fleet_link = {"title": "Fleet overview", "type": "link", "url": f"/d/{naming.FLEET_DASHBOARD_UID}",
                  "icon": "dashboard", "tags": [], "asDropdown": False, "includeVars": False, "keepTime": True,
                  "targetBlank": False, "tooltip": "Every model mlmon monitors"}
    return _dashboard(f"{model.name} (mlmon)", naming.dashboard_uid(model.name), panels,
                      ["mlmon", f"team:{model.team}"], model.description or f"mlmon: {model.name}", model,
                      [fleet_link])


def fleet_queries(models: list[str]) -> list[tuple[str, Query]]:
    """(column name, query) of the fleet table, every one an instant query by `model`. The first
    lists every model with its dashboard uid, from the info series each model's rules record."""
    model_re = [q.one_of(naming.MODEL_LABEL, models)]
    base = q.agg("max", q.selector(naming.MODEL_INFO, model_re), by=(naming.MODEL_LABEL, naming.DASHBOARD_UID_LABEL))
    budget = q.agg("min", queries.budget_left_by_objective(q.selector(naming.SLO_PERIOD_ERROR_RATIO, model_re),
                                                           q.selector(naming.SLO_OBJECTIVE, model_re)),
                   by=(naming.MODEL_LABEL,))
    # 0 for a model with nothing firing, rather than no row.
    firing = q.or_zero_for(q.agg("count", queries.firing_alerts(models), by=(naming.MODEL_LABEL,)),
                           q.agg("max", base, by=(naming.MODEL_LABEL,)))
    # `up` names the job, not the model: the job is the model's name behind naming.JOB_PREFIX.
    up = q.copy_label(q.selector("up", [q.one_of("job", [naming.job(x) for x in models])]), naming.MODEL_LABEL,
                      "job", q.regex_escape(naming.JOB_PREFIX) + "(.+)")
    return [("dashboard", Query(base)), ("scrape targets", Query(q.agg("max", up, by=(naming.MODEL_LABEL,)))),
            ("SLO status", Query(q.binop(budget, ">", "0", "bool"))),
            ("budget left (worst SLO)", Query(budget)), ("firing alerts", Query(firing)),
            ("drifted features", ml_panels.fleet_drift_query(models))]


def _fleet_table(models: list[str], y: int, panel_id: int) -> g.Table:
    cols = fleet_queries(models)
    targets = _targets(tuple(c[1] for c in cols), instant=True, table=True)
    rename = {f"Value #{REF_IDS[i]}": name for i, (name, _) in enumerate(cols)}
    overrides = [
        {"matcher": {"id": "byName", "options": naming.MODEL_LABEL},
         "properties": [{"id": "links", "value": [{"title": "Open the model's dashboard",
                                                    "url": f"/d/${{__data.fields.{naming.DASHBOARD_UID_LABEL}}}"}]}]},
        {"matcher": {"id": "byName", "options": naming.DASHBOARD_UID_LABEL},
         "properties": [{"id": "custom.hidden", "value": True}]},
        {"matcher": {"id": "byName", "options": "SLO status"},
         "properties": [{"id": "mappings", "value": [{"type": "value", "options": {
             "0": {"text": "budget spent", "color": "red", "index": 0},
             "1": {"text": "ok", "color": "green", "index": 1}}}]},
                        {"id": "custom.displayMode", "value": "color-background"}]},
        # A model whose targets are all down says so, rather than showing an empty or stale status.
        {"matcher": {"id": "byName", "options": "scrape targets"},
         "properties": [{"id": "mappings", "value": [{"type": "value", "options": {
             "0": {"text": "down", "color": "red", "index": 0},
             "1": {"text": "up", "color": "green", "index": 1}}}]},
                        {"id": "custom.displayMode", "value": "color-background"}]},
        {"matcher": {"id": "byName", "options": "budget left (worst SLO)"},
         "properties": [{"id": "unit", "value": "percentunit"},
                        {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                            {"color": "red", "value": None}, {"color": "orange", "value": 0.0},
                            {"color": "green", "value": 0.25}]}},
                        {"id": "custom.displayMode", "value": "color-background"}]},
        {"matcher": {"id": "byName", "options": "drifted features"},
         "properties": [{"id": "unit", "value": "percentunit"}]},
    ]
    transformations = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #A": True},
                                       "renameByName": rename, "indexByName": {}}},
    ]
    return g.Table(title="Models", id=panel_id, gridPos=g.GridPos(h=12, w=GRID_WIDTH, x=0, y=y),
                   dataSource=DATASOURCE, targets=targets, overrides=overrides, transformations=transformations,
                   description="Every model with its SLO status, budget, firing alerts; click a name to open "
                               "its dashboard.")


def render_fleet(fleet: m.Fleet) -> dict[str, Any]:
    names = [x.name for x in fleet.models]
    everyone = q.one_of(naming.MODEL_LABEL, names)
    firing = q.selector("ALERTS", [everyone, ("alertstate", "=", "firing")])
    spent = queries.budget_left_by_objective(q.selector(naming.SLO_PERIOD_ERROR_RATIO, [everyone]),
                                             q.selector(naming.SLO_OBJECTIVE, [everyone]))
    stats = [
        ("fleet/model-count", "Models", q.call("vector", q.operand(len(names))), (Step(None, "blue"),), 4),
        ("fleet/firing-alerts", "Firing alerts", q.or_zero(q.agg("count", firing)),
         (Step(None, "green"), Step(1.0, "red")), 10),
        ("fleet/spent-budgets", "SLOs with their budget spent", q.or_zero(q.agg("count", q.compare(spent, "<=", 0))),
         (Step(None, "green"), Step(1.0, "red")), 10),
    ]
    table_key = "fleet/models"
    ids = naming.panel_ids(sorted([table_key, *(s[0] for s in stats)]))
    panels: list[Any] = []
    x = 0
    for key, title, expr, steps, w in stats:
        panels.append(g.Stat(title=title, id=ids[key], gridPos=g.GridPos(h=4, w=w, x=x, y=0), dataSource=DATASOURCE,
                             targets=_targets((Query(expr),)), reduceCalc="lastNotNull", thresholds=_steps(steps),
                             graphMode="none", noValue="no data", color=THRESHOLD_COLORS))
        x += w
    panels.append(_fleet_table(names, 4, ids[table_key]))
    links = [{"title": "Model dashboards", "type": "dashboards", "tags": ["mlmon"], "asDropdown": True,
              "icon": "external link", "includeVars": False, "keepTime": True, "targetBlank": False,
              "tooltip": "", "url": ""}]
    return _dashboard("mlmon fleet overview", naming.FLEET_DASHBOARD_UID, panels, ["mlmon-fleet"],
                      "Every model mlmon monitors, with SLO status, budget, firing alerts and drift.", None, links)


def model_artifact(model: m.Model) -> Artifact:
    return Artifact(naming.dashboard_file(model.name), render_model(model), model.source, "json")


def fleet_artifacts(fleet: m.Fleet) -> list[Artifact]:
    """The fleet overview; none for an empty fleet."""
    if not fleet.models:
        return []
    sources = fleet.sources
    return [Artifact(naming.FLEET_DASHBOARD_FILE, render_fleet(fleet), sources, "json")]
