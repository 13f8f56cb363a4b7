"""Series that each model's recording rules create, estimated before anything is written.

The estimate reads the planned recordings (plan/rules.py), the records the rule file renders, so
it cannot drift from them: each recording is one series per value of the labels it fans out over
(`feature`: the model's features; `class`: its classes). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from mlmon_codegen.core import naming
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.plan.records import Recording
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m

# Classes to assume when a classification spec lists none (a guess, flagged in the output).
UNLISTED_CLASSES = 10


@dataclass(frozen=True)
class Estimate:
    model: str
    by_record: tuple[tuple[str, int], ...]  # recording rule name → series, sorted by name
    assumed_classes: bool  # classes were guessed (UNLISTED_CLASSES), not listed in the spec

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_record)


def label_cardinality(model: m.Model) -> dict[str, int]:
    return {naming.CLASS_LABEL: len(model.classes) or UNLISTED_CLASSES,
            naming.FEATURE_LABEL: max(len(model.features), 1)}


def count(recordings: list[Recording], cardinality: dict[str, int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rule in recordings:
        counts[rule.name] += math.prod(cardinality[label] for label in rule.fanout)
    return counts


def estimate(model: m.Model, project: m.Project) -> Estimate:
    recordings = plan_rules(model, project).recordings()
    counts = count(recordings, label_cardinality(model))
    assumed = not model.classes and any(naming.CLASS_LABEL in r.fanout for r in recordings)
    return Estimate(model.name, tuple(sorted(counts.items())), assumed)


def over_budget(model: m.Model, project: m.Project) -> tuple[Estimate, int] | None:
    """(estimate, budget) when the model's recording rules would exceed the project's budget."""
    budget = project.series_budget_per_model
    if budget is None:
        return None
    est = estimate(model, project)
    return (est, budget) if est.total > budget else None


def budget_problem(model: m.Model, project: m.Project) -> list[Problem]:
    """A located problem at the model's name when it exceeds the budget."""
    found = over_budget(model, project)
    if found is None:
        return []
    est, budget = found
    top = sorted(est.by_record, key=lambda kv: -kv[1])[:3]
    biggest = ", ".join(f"{name} {n}" for name, n in top)
    return [model.site.problem(
        f"its recording rules would create about {est.total} series, over the project budget of {budget} "
        f"per model (largest: {biggest})",
        f"drop features, bins or SLO tiers, or raise budget.series_per_model in {project.source}; "
        "`mlmon stats` shows the breakdown")]
