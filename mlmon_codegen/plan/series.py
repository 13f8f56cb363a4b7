"""Series that each model's recording rules create, estimated before anything is written.

The estimate reads the rules exactly as they will be generated (targets/rules.py), so it cannot
drift from them: each recording rule makes one series per combination of the labels its outermost
aggregation keeps. Feature labels multiply by the model's features, class labels by its classes,
and every window and bin is its own rule. Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from mlmon_codegen.core import naming
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.rules import rule_file as rules

# Classes to assume when a classification spec lists none (a guess, flagged in the output).
UNLISTED_CLASSES = 10
AGGREGATION = re.compile(r"^(sum|min|max|avg|group|count|stddev|stdvar|topk|bottomk|quantile|count_values)\s*"
                         r"(?:(by|without)\s*\(([^()]*)\))?\s*\(")
CLASS_LABELS = ("predicted_class", "actual_class", "class")


@dataclass(frozen=True)
class Estimate:
    model: str
    by_record: tuple[tuple[str, int], ...]  # recording rule name → series, sorted by name
    assumed_classes: bool  # classes were guessed (UNLISTED_CLASSES), not listed in the spec

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_record)


def label_cardinality(model: m.Model, unlisted_classes: int = UNLISTED_CLASSES) -> dict[str, int]:
    classes = len(model.classes) or unlisted_classes
    card = {label: classes for label in CLASS_LABELS}
    card[naming.FEATURE_LABEL] = max(len(model.features), 1)
    return card


def _matching_paren(text: str, start: int) -> int:
    depth = 0
    quoted = False
    for i in range(start, len(text)):
        c = text[i]
        if c == '"' and text[i - 1] != "\\":
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def _top_level_groups(expr: str) -> list[str]:
    groups, i = [], 0
    while i < len(expr):
        if expr[i] == '"':
            i = expr.index('"', i + 1) + 1 if '"' in expr[i + 1:] else len(expr)
            continue
        if expr[i] == "(":
            end = _matching_paren(expr, i)
            groups.append(expr[i + 1:end])
            i = end + 1
            continue
        i += 1
    return groups


def expr_series(expr: str, card: dict[str, int]) -> int:
    """Series an expression returns per model: by-labels multiply, everything else keeps the most
    of its operands (binary operators match one-to-one in generated rules)."""
    expr = expr.strip()
    agg = AGGREGATION.match(expr)
    if agg:
        mode, labels = agg.group(2), agg.group(3)
        if mode == "by":
            return math.prod(card.get(label.strip(), 1) for label in labels.split(",") if label.strip())
        if mode is None:
            return 1
        inner = expr[agg.end() - 1:]
        return expr_series(inner[1:_matching_paren(inner, 0)], card)
    groups = _top_level_groups(expr)
    return max((expr_series(g, card) for g in groups), default=1)


def _count(recordings: list[dict[str, str]], card: dict[str, int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rule in recordings:
        counts[rule["record"]] += expr_series(rule["expr"], card)
    return counts


def estimate(model: m.Model, project: m.Project) -> Estimate:
    recordings = [r for g in rules.render(model, project)["groups"] for r in g["rules"] if "record" in r]
    counts = _count(recordings, label_cardinality(model))
    # The class count is a guess only if some rule keeps a class label and the spec lists none.
    assumed = not model.classes and counts != _count(recordings, label_cardinality(model, 1))
    return Estimate(model.name, tuple(sorted(counts.items())), assumed)


def over_budget(model: m.Model, project: m.Project) -> tuple[Estimate, int] | None:
    """(estimate, budget) when the model's recording rules would exceed the project's budget."""
    budget = project.series_budget_per_model
    if budget is None:
        return None
    est = estimate(model, project)
    return (est, budget) if est.total > budget else None


def budget_problem(doc: object, model: m.Model, project: m.Project) -> list[Problem]:
    """A located problem at the model's name when it exceeds the budget (doc: spec.load.Document)."""
    found = over_budget(model, project)
    if found is None:
        return []
    est, budget = found
    top = sorted(est.by_record, key=lambda kv: -kv[1])[:3]
    biggest = ", ".join(f"{name} {n}" for name, n in top)
    return [doc.problem(  # type: ignore[attr-defined]
        ("metadata", "name"),
        f"its recording rules would create about {est.total} series, over the project budget of {budget} "
        f"per model (largest: {biggest})",
        f"drop features, bins or SLO tiers, or raise budget.series_per_model in {project.source}; "
        "`mlmon stats` shows the breakdown")]
