"""Checks over generated Grafana dashboards: structure, and every panel query parsed by promtool.

Structure: unique panel ids below 2**31, no overlapping gridPos, every panel has a type and (rows aside)
targets, uids unique across dashboards. Queries: Grafana's variables are substituted first,
then all expressions go to promtool in one batch, the parser Prometheus itself uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlmon_codegen.check import promtool
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.core import naming

# What Grafana puts in place of its built-in variables; any clean duration parses the same way.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
            "__range_ms": "3600000", "__interval_ms": "60000"}
_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


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


def check_dashboards(dashboards: dict[str, dict[str, Any]], parse: set[str] | None = None) -> list[str]:
    """Every problem found in a set of dashboards (name → JSON data); empty when all is well.
    `parse`: the dashboards whose queries go to promtool (None: all); uids are compared across all."""
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
    problems = check_dashboards(dashboards, only)
    checked = [k for k in dashboards if only is None or k in only]
    n = sum(len(expressions(k, dashboards[k])) for k in checked)
    summary = f"{len(checked)} dashboards, {n} queries" + (f" ({len(files) - len(checked)} unchanged, uids only)"
                                                           if len(checked) < len(files) else "")
    return [Run(["grafana", "dashboards"], not problems, "\n".join(problems), summary)]
