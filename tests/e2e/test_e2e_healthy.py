"""End to end, healthy traffic: no alert fires, every recording rule has data, and every
dashboard panel query returns data."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e2e.conftest import generate
from e2e.helpers import SPECS, warm_up
from mlmon_codegen.check import dashboards as dashboard_check
from mlmon_codegen.core import naming, promql
from mlmon_codegen.plan import panel_keys, signals
from mlmon_codegen.stack.harness import Stack

NEVER_EVALUATED = "0001-01-01T00:00:00Z"
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_MATCHER = re.compile(r'(\w+)(=~|=)"([^"]*)"')
Rule = tuple[str, dict[str, str], str]  # record name, labels, expression


def _with_labels(query: str, labels: dict[str, str]) -> str:
    """A recording's expression with the labels its rule adds (`vector(0.95)` is the objective of
    one model and SLO only with them: queries match it on model and slo)."""
    for name, value in sorted(labels.items()):
        query = promql.set_label(query, name, value)
    return query


def inline_unevaluated(expr: str, pending: list[Rule]) -> str:
    """Put the expressions of recording rules whose group has not run since traffic began in place of the series
    they will record. The 4m period group of a fresh Prometheus has usually not run: its series
    (SLI over the period, budget left) are checked this way, their expressions against live data."""
    def repl(mt: re.Match[str]) -> str:
        matchers = _MATCHER.findall(mt.group(2))
        hits = [(name, labels, q) for name, labels, q in pending if name == mt.group(1) and all(
            re.fullmatch(v, labels.get(k, "")) if op == "=~" else labels.get(k, "") == v for k, op, v in matchers)]
        return "(" + " or ".join(f"({_with_labels(q, labels)})" for _, labels, q in hits) + ")" if hits else mt.group(0)
    for _ in range(3):  # the budget reads the period ratio, recorded in the same group
        expr = _SELECTOR.sub(repl, expr)
    return expr


def ran_on_data(stack: Stack, group: dict[str, Any], since: float) -> bool:
    """Whether the group ran after `since` with data to read: every rule's expression had data at
    the group's last run. A group that last ran before traffic began (the 4m period group runs once
    at start-up), or in its first seconds, before the counters had two samples in a window,
    recorded nothing yet, exactly like one that never ran."""
    stamp = str(group["lastEvaluation"])
    if stamp == NEVER_EVALUATED:
        return False
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    at = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp() + float(f"0.{fraction or 0}")
    return at >= since and all(stack.query(r["query"], at=at) for r in group["rules"])


def test_healthy_traffic_is_quiet_and_everything_has_data(stack: Stack, e2e_out: Path, tmp_path: Path) -> None:
    traffic_from = time.time()
    # Past the longest drift window (20s), so every ML recording has a full window of inputs.
    warm_up(stack, 25)
    elapsed = int(time.time() - stack.started_at) + 1

    # Firing, not pending: until Prometheus' first scrape (its discovery takes up to 5s) `up` is
    # absent, so ModelDown and the no-data alerts are pending for less than their `for`.
    ever = stack.query(f'count_over_time(ALERTS{{alertstate="firing"}}[{elapsed}s])')
    assert ever == [], f"alerts fired under healthy traffic: {[a['metric'] for a in ever]}"
    assert stack.webhook is not None and stack.webhook.deliveries == []

    groups = stack.api("rules", type="record")["groups"]
    ran = {g["name"]: ran_on_data(stack, g, traffic_from) for g in groups}
    pending: list[Rule] = [(r["name"], r.get("labels") or {}, r["query"]) for g in groups
                           if not ran[g["name"]] for r in g["rules"]]
    empty = []
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] in ("ok", "unknown"), f"{rule['name']}: {rule.get('lastError')}"
            if not stack.query(inline_unevaluated(rule["query"], pending)):
                empty.append(f"{group['name']}: {rule['name']} {rule.get('labels', {})}")
            elif ran[group["name"]] and rule["health"] == "ok":
                labels = ", ".join(f'{k}="{v}"' for k, v in sorted((rule.get("labels") or {}).items()))
                if not stack.query(f"{rule['name']}{{{labels}}}"):
                    empty.append(f"{group['name']}: {rule['name']} not recorded")
    assert empty == [], "recording rules without data:\n" + "\n".join(empty)

    no_data = []
    # A dashboard per model (`dashboards: per_model`; the same recordings): every query has data.
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    (specs / "mlmon.yaml").write_text((specs / "mlmon.yaml").read_text() + "dashboards: per_model\n")
    models = generate(specs, tmp_path / "out").models
    # The shared model dashboard on each model: every panel shows data (a panel may draw a
    # threshold the model has none of), but the regression row's for a classifier and the
    # retraining triggers the spec turns off (`max_age: null`, `new_labels: null`).
    shared = json.loads((e2e_out / naming.MODEL_DASHBOARD_FILE).read_text())
    ids = panel_keys.shared_panel_ids()
    row = ""
    for panel in sorted(shared["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        row = panel["title"] if panel["type"] == "row" else row
        if panel["type"] == "row" or row == "Regression quality":
            continue
        for model in models:
            off = {ids[panel_keys.ml_alert_panel(k)] for k in ("retrain_stale", "retrain_labels")
                   if k not in signals.ml_alerts(model)}
            if panel["id"] in off:
                continue
            values = {**dashboard_check.variables(shared), naming.MODEL_VAR: model.name}
            exprs = [inline_unevaluated(dashboard_check.substitute(t["expr"], values), pending)
                     for t in panel["targets"]]
            if not any(stack.query(e) for e in exprs):
                no_data.append(f"model.json on {model.name}: {panel['title']!r}: {exprs}")
    boards = sorted((tmp_path / "out" / "grafana" / "dashboards").glob("*.json"))
    assert boards, "no dashboards generated"
    for path in boards:
        board = json.loads(path.read_text())
        values = dashboard_check.variables(board)
        for panel in dashboard_check.panels(board):
            for target in panel.get("targets") or []:
                if not target.get("expr"):
                    continue
                expr = inline_unevaluated(dashboard_check.substitute(target["expr"], values), pending)
                if not stack.query(expr):
                    no_data.append(f"{path.name}: {panel.get('title')!r}: {expr}")
    assert no_data == [], "dashboard panels without data:\n" + "\n".join(no_data)
