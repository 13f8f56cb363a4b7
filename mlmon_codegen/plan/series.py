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
from mlmon_codegen.plan import grouping
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
    # Group labels (SLO group_by) whose value count was guessed (UNLISTED_GROUP_VALUES), sorted.
    assumed_groups: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_record)


def label_cardinality(model: m.Model) -> dict[str, int]:
    given = dict(model.group_values)
    # Group labels first: the built-in fan-out labels keep their meaning should a group share a name.
    groups = {label: given.get(label, grouping.UNLISTED_GROUP_VALUES) for label in grouping.model_group_labels(model)}
    return {**groups, naming.CLASS_LABEL: len(model.classes) or UNLISTED_CLASSES,
            naming.FEATURE_LABEL: max(len(model.features), 1)}


def count(recordings: list[Recording], cardinality: dict[str, int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rule in recordings:
        counts[rule.name] += rule.series * math.prod(cardinality[label] for label in rule.fanout)
    return counts


def estimate(model: m.Model, project: m.Project) -> Estimate:
    recordings = plan_rules(model, project).recordings()
    counts = count(recordings, label_cardinality(model))
    assumed = not model.classes and any(naming.CLASS_LABEL in r.fanout for r in recordings)
    given = dict(model.group_values)
    guessed = tuple(sorted(label for label in grouping.model_group_labels(model) if label not in given))
    return Estimate(model.name, tuple(sorted(counts.items())), assumed, guessed)


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
