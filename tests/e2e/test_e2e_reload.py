"""End to end: Prometheus reloaded (`/-/reload`) with a regenerated config loads the new rules
and loses nothing: samples, recordings and the state of a firing alert carry over."""

from __future__ import annotations

import time
from pathlib import Path

from e2e.helpers import JOB, MODEL, firing, slo, tier, wait_firing, warm_up
from mlmon_codegen.core import promql as q
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import Stack, wait_until

PAGE = "AvailabilityErrorBudgetBurnPageSlow"


def rule_query(stack: Stack, name: str) -> str:
    rules = [r for g in stack.api("rules", type="alert")["groups"] for r in g["rules"] if r["name"] == name]
    assert len(rules) == 1, f"{name}: {len(rules)} rules loaded"
    return str(rules[0]["query"])


def test_reload_loads_new_rules_and_keeps_everything(stack: Stack, e2e_model: m.Model, e2e_specs_v2: Path,
                                                     e2e_out_v2: Path) -> None:
    (model_v2,) = load_and_validate([e2e_specs_v2]).fleet.models
    old = q.number(tier(slo(e2e_model, "availability"), "page-slow").threshold)
    new = q.number(tier(slo(model_v2, "availability"), "page-slow").threshold)
    assert old != new
    assert f"> {old})" in rule_query(stack, PAGE)

    warm_up(stack, 10)
    stack.set_faults(JOB, error_rate=1.0)
    before = wait_firing(stack, PAGE, timeout=30, model=MODEL, slo="availability")
    reload_at = time.time()
    stack.reload(e2e_out_v2)
    wait_until("the regenerated rules", lambda: f"> {new})" in rule_query(stack, PAGE), timeout=15)
    time.sleep(5)  # a few scrapes and evaluations after the reload

    # The firing alert kept its state: same activeAt, still firing, not re-raised.
    after = firing(stack, PAGE, model=MODEL, slo="availability")
    assert after is not None and after["activeAt"] == before["activeAt"]
    # Every rule of the new file is healthy.
    bad = [(r["name"], r.get("lastError")) for g in stack.api("rules")["groups"] for r in g["rules"]
           if r["health"] == "err"]
    assert bad == []
    # No gap: one scrape a second and one recording a second, from 5s before the reload to now.
    span = int(time.time() - (reload_at - 5))
    for expr in (f'up{{job="{JOB}"}}', f'mlmon_slo:error_ratio:rate5s{{model="{MODEL}", slo="availability"}}'):
        (series,) = stack.query(f"{expr}[{span}s]")
        times = [round(float(t) - reload_at, 1) for t, _ in series["values"]]
        assert len(times) >= span - 1, f"{expr}: samples missing around the reload (at {times})"
    assert stack.query(f'up{{job="{JOB}"}}', at=reload_at - 5), "data from before the reload is gone"
