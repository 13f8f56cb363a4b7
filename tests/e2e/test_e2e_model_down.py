"""End to end: the service is killed. ModelDown fires, pages, and inhibits the model's other
alerts; after a restart it resolves."""

from __future__ import annotations

import time

from e2e.helpers import JOB, MODEL, first_active, record_timing, wait_delivery, wait_firing, wait_inhibited, warm_up
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import Stack

PAGER = "e2e-pager"
SCRAPE_S, EVAL_S = 1.0, 1.0


def test_killed_service_fires_model_down_and_resolves(stack: Stack, e2e_model: m.Model) -> None:
    warm_up(stack, 5)
    # First an alert for ModelDown to inhibit: errors fire the availability ticket tier, whose 30s
    # short window keeps it active for a while after the service dies.
    stack.set_faults(JOB, error_rate=1.0)
    ticket = "AvailabilityErrorBudgetBurnTicketSlow"
    wait_firing(stack, ticket, timeout=60, model=MODEL, slo="availability")

    killed_at = stack.kill_service(JOB)
    for_s = e2e_model.model_down_for_ms / 1000
    delivery = wait_delivery(stack, PAGER, "ModelDown", timeout=for_s + 30, after=killed_at)
    wait_firing(stack, "ModelDown", timeout=5, model=MODEL)
    # (ModelDown is pending for a moment at start-up, before the first scrape: look after the kill.)
    active_at = first_active(stack, "ModelDown", since=killed_at - 1.0, model=MODEL)
    # up is 0 from the next scrape, and the alert group sees it at its next evaluation.
    assert killed_at - 0.5 <= active_at <= killed_at + SCRAPE_S + EVAL_S + 1.0, (
        f"ModelDown became active {active_at - killed_at:.1f}s after the kill")
    assert delivery.at >= active_at + for_s, "delivered before its `for` elapsed"
    record_timing("service down", "ModelDown", killed_at, 0.0, active_at, delivery.at)
    wait_inhibited(stack, ticket, by="ModelDown", timeout=10)
    assert stack.webhook is not None
    late = [d for d in stack.webhook.received("e2e-tickets") if d.at > delivery.at]
    assert not late, f"a ticket got through while the model was down: {late}"

    restarted_at = time.time()
    stack.start_service(JOB)
    wait_delivery(stack, PAGER, "ModelDown", timeout=30, status="resolved", after=restarted_at)
    assert not [a for a in stack.alerts() if a["labels"]["alertname"] == "ModelDown"]
