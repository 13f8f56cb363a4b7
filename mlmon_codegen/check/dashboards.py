"""Checks over generated Grafana dashboards: structure, every panel query parsed by promtool, and
the recorded series a model's own dashboard reads recorded by its rule file.

Structure: unique panel ids below 2**31, no overlapping gridPos, every panel has a type and (rows aside)
targets, uids unique across dashboards. Queries: Grafana's variables are substituted first,
then all expressions go to promtool in one batch, the parser Prometheus itself uses. A panel
whose recorded series no rule records would stay empty forever; the shared and fleet dashboards
read whatever some model records, so only a model's own dashboard is held to its rule file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlmon_codegen.check import promtool, rule_files
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.core import naming

# What Grafana puts in place of its built-in variables; any clean duration parses the same way.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
            "__range_ms": "3600000", "__interval_ms": "60000"}
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
# A recorded series a query names; not a family the shared dashboard matches (`__name__=~"mlmon_ml:x:.+"`).
RECORDED = re.compile(r"\b(mlmon(?:_slo|_ml)?:[a-zA-Z0-9_:]+)(?![a-zA-Z0-9_:.])")


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """A value for each template variable: its `All` value when it has one, else its default."""
    values = dict(BUILTINS)
    for var in (dashboard.get("templating") or {}).get("list") or []:
        current = (var.get("current") or {}).get("value")
        value = var.get("allValue") if var.get("includeAll") else current
        values[var["name"]] = str(value if value not in (None, "$__all") else ".*")
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    def repl(mt: re.Match[str]) -> str:
        name = mt.group(1) or mt.group(2) or mt.group(3)
        return values.get(name, mt.group(0))
    return _VAR.sub(repl, expr)


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for p in dashboard.get("panels") or []:
        yield p
        yield from p.get("panels") or []


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def structure_problems(name: str, dashboard: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    seen: dict[int, str] = {}
    placed: list[tuple[str, dict[str, int]]] = []
    for p in panels(dashboard):
        title = f"{name}: panel {p.get('id')} {p.get('title', '')!r}"
        if not p.get("type"):
            problems.append(f"{title}: no type")
        pid = p.get("id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            problems.append(f"{title}: no numeric id")
        elif not 0 < pid < naming.PANEL_ID_LIMIT:
            problems.append(f"{title}: id outside 1..{naming.PANEL_ID_LIMIT - 1}")
        elif pid in seen:
            problems.append(f"{title}: id also used by {seen[pid]!r}")
        else:
            seen[pid] = str(p.get("title", ""))
        if p.get("type") != "row" and not [t for t in p.get("targets") or [] if t.get("expr")]:
            problems.append(f"{title}: no query targets")
        pos = p.get("gridPos")
        if not pos or any(not isinstance(pos.get(k), int) for k in "xywh"):
            problems.append(f"{title}: no gridPos")
            continue
        if pos["x"] < 0 or pos["x"] + pos["w"] > 24 or pos["w"] < 1 or pos["h"] < 1:
            problems.append(f"{title}: gridPos {pos} outside the 24-column grid")
        for other, opos in placed:
            if _overlap(pos, opos):
                problems.append(f"{title}: overlaps {other}")
        placed.append((title, pos))
    return problems


def expressions(name: str, dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expression with variables substituted) for every panel target."""
    values = variables(dashboard)
    out = []
    for p in panels(dashboard):
        for t in p.get("targets") or []:
            if t.get("expr"):
                out.append((f"{name}: panel {p.get('id')} {p.get('title', '')!r} target {t.get('refId')}",
                            substitute(t["expr"], values)))
    return out


def unrecorded_problems(name: str, dashboard: dict[str, Any], rule_file: str, records: set[str]) -> list[str]:
    """Queries of a model's own dashboard that read a recorded series its rule file (whose
    recordings are `records`) does not record: panels that can never show data."""
    return [f"{where}: reads {series}, which {rule_file} does not record (regenerate the tree; a dashboard "
            f"written by hand must read what the rules record)"
            for where, expr in expressions(name, dashboard) for series in sorted(set(RECORDED.findall(expr)) - records)]


def check_dashboards(dashboards: dict[str, dict[str, Any]], parse: set[str] | None = None,
                     records: Mapping[str, tuple[str, set[str]]] | None = None) -> list[str]:
    """Every problem found in a set of dashboards (name → JSON data); empty when all is well.
    `parse`: the dashboards whose queries go to promtool (None: all); uids are compared across all.
    `records`: per model dashboard, its rule file and the series that file records."""
    problems: list[str] = []
    uids: dict[str, str] = {}
    exprs: list[tuple[str, str]] = []
    for name, dash in sorted(dashboards.items()):
        uid = dash.get("uid")
        if not uid or len(uid) > 40:
            problems.append(f"{name}: uid {uid!r} must be 1 to 40 characters")
        elif uid in uids:
            problems.append(f"{name}: uid {uid!r} is also the uid of {uids[uid]}")
        else:
            uids[uid] = name
        if parse is not None and name not in parse:
            continue
        problems.extend(structure_problems(name, dash))
        exprs.extend(expressions(name, dash))
        if records is not None and name in records:
            problems.extend(unrecorded_problems(name, dash, *records[name]))
    errors = promtool.parse_errors([e for _, e in exprs])
    problems.extend(f"{where}: promtool cannot parse {expr!r}: {err}"
                    for (where, expr), err in zip(exprs, errors, strict=True) if err)
    return problems


def check_folder(folder: Path, only: set[str] | None = None) -> list[Run]:
    """`mlmon check` over OUT/grafana/dashboards; no run when there is no such folder. `only`: the
    file names to check whole (`check --changed`); the others are read for their uids alone."""
    files = sorted(folder.glob("*.json"))
    if not files:
        return []
    dashboards = {}
    for f in files:
        try:
            dashboards[f.name] = json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            return [Run(["grafana", "dashboards"], False, f"{f}: not readable JSON: {exc}", f.name)]
    checked = [k for k in dashboards if only is None or k in only]
    problems = check_dashboards(dashboards, only, _model_records(folder, checked))
    n = sum(len(expressions(k, dashboards[k])) for k in checked)
    summary = f"{len(checked)} dashboards, {n} queries" + (f" ({len(files) - len(checked)} unchanged, uids only)"
                                                           if len(checked) < len(files) else "")
    return [Run(["grafana", "dashboards"], not problems, "\n".join(problems), summary)]


def _model_records(folder: Path, names: list[str]) -> dict[str, tuple[str, set[str]]]:
    """The rule file and recorded series of each model dashboard in `names`; none when the tree
    has no rule folder (a folder of dashboards alone is checked without), nor for a rule file
    that is not YAML (the rule steps report it). A model dashboard without its rule file reads
    series nothing records: an empty set."""
    out = folder.parents[1]
    if not (out / naming.RULES_DIR).is_dir():
        return {}
    shared = {Path(naming.MODEL_DASHBOARD_FILE).name, Path(naming.FLEET_DASHBOARD_FILE).name}
    found = {}
    for name in (n for n in names if n not in shared):
        rule_file = naming.rules_file(name.removesuffix(".json"))
        path = out / rule_file
        rules = rule_files.rules(path) if path.is_file() else []
        if rules is not None:
            found[name] = (rule_file, {r["record"] for r in rules if "record" in r})
    return found
