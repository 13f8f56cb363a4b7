"""What planning finds wrong with a validated fleet: alert tiers that cannot work, models over the
series budget. Each problem is located where the spec wrote the value (the model's sites)."""

from __future__ import annotations

from mlmon_codegen.core.errors import Problem
from mlmon_codegen.plan import burnrate, series, timeslices
from mlmon_codegen.spec import model as m

TIER_HINT = "lengthen the period, lower the objective or drop the tier"


def problems(fleet: m.Fleet, check_budget: bool = True) -> list[Problem]:
    found: list[Problem] = []
    for model in fleet.models:
        tiers = [slo.site.problem(reason, TIER_HINT) for slo in model.slos for reason in burnrate.tier_problems(slo)]
        tiers += [slo.timeslice.site.problem(reason, hint) for slo in model.slos if slo.timeslice
                  for reason, hint in timeslices.problems(slo)]
        found += tiers
        # A model with broken tiers would be estimated on the tiers that work: say nothing more of it.
        if check_budget and not tiers:
            found += series.budget_problem(model, fleet.project)
    return found
