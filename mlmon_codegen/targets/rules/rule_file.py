"""prometheus/rules/<model>.rules.yml: the planned rule records (plan/rules.py) as the file's data."""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.plan.records import Alert, Group, Rule, RulePlan
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m


def rule_data(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, Alert):
        data: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
        if rule.for_ms is not None:
            data["for"] = format_ms(rule.for_ms)
        data["labels"] = rule.labels
        data["annotations"] = rule.annotations
        return data
    return {"record": rule.name, "expr": rule.expr, "labels": rule.labels}


def group_data(group: Group) -> dict[str, Any]:
    data: dict[str, Any] = {"name": group.name}
    if group.interval_ms is not None:
        data["interval"] = format_ms(group.interval_ms)
    data["rules"] = [rule_data(r) for r in group.rules]
    return data


def to_data(plan: RulePlan) -> dict[str, Any]:
    return {"groups": [group_data(g) for g in plan.groups]}


def render(model: m.Model, project: m.Project) -> dict[str, Any]:
    """The rule file of one model, as data."""
    return to_data(plan_rules(model, project))
