"""End to end: SLO burn-rate alerts fire when the SLO math says (tolerance: see e2e/helpers.py),
and reach the right receiver."""

from __future__ import annotations

from e2e.helpers import (
    JOB,
    MODEL,
    assert_on_time,
    first_active,
    predicted_delay,
    rate_change,
    record_timing,
    slo,
    tier,
    wait_delivery,
    wait_firing,
    wait_inhibited,
    warm_up,
)
from mlmon_codegen.core import naming
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import Stack

PAGER, TICKETS = "e2e-pager", "e2e-tickets"


def test_error_burst_pages_and_inhibits_the_tickets(stack: Stack, e2e_model: m.Model) -> None:
    availability = slo(e2e_model, "availability")
    page = tier(availability, "page-slow")
    # A short clean history: the ticket tiers' long windows (2m, 5m) then hold little, so they fire
    # first; the project's 10s group_wait lets the page reach Alertmanager before their first
    # notification, as 30s does in production. 10s keeps that margin widest (page ~4s, tickets ~2s).
    warm_up(stack, 10)
    fault_at = stack.set_faults(JOB, error_rate=1.0)
    expect = predicted_delay(stack, fault_at, page, bad=1.0)

    name = "AvailabilityErrorBudgetBurnPageSlow"
    delivery = wait_delivery(stack, PAGER, name, timeout=expect + 30)
    alert = wait_firing(stack, name, timeout=5, model=MODEL, slo="availability")
    assert alert["labels"]["severity"] == "critical"
    active_at = first_active(stack, name, model=MODEL, slo="availability")
    expect = predicted_delay(stack, fault_at, page, bad=1.0, weight=rate_change(stack, fault_at, active_at))
    assert_on_time(active_at, fault_at, expect, name)
    record_timing("error burst", name, fault_at, expect, active_at, delivery.at)

    # Both ticket tiers fire in Prometheus on time, and Alertmanager holds them back: the page covers them.
    for t in ("ticket-fast", "ticket-slow"):
        ticket = tier(availability, t)
        ticket_name = naming.burn_alert(availability.name, t)
        wait_firing(stack, ticket_name, timeout=30, model=MODEL, slo="availability")
        ticket_at = first_active(stack, ticket_name, model=MODEL, slo="availability")
        expect_ticket = predicted_delay(stack, fault_at, ticket, bad=1.0,
                                        weight=rate_change(stack, fault_at, ticket_at))
        assert_on_time(ticket_at, fault_at, expect_ticket, ticket_name)
        wait_inhibited(stack, ticket_name, by=name, timeout=10)
    assert stack.webhook is not None
    assert not stack.webhook.received(TICKETS), "an inhibited ticket reached the ticket receiver"


def test_latency_fault_fires_the_latency_slo(stack: Stack, e2e_model: m.Model) -> None:
    page = tier(slo(e2e_model, "latency"), "page-slow")
    warm_up(stack)
    fault_at = stack.set_faults(JOB, latency_ms=250)  # every request slower than the 100ms threshold
    # A request is counted when it ends: the first slow ones land latency_ms after the fault.
    expect = predicted_delay(stack, fault_at, page, bad=1.0) + 0.25
    name = "LatencyErrorBudgetBurnPageSlow"
    delivery = wait_delivery(stack, PAGER, name, timeout=expect + 30)
    wait_firing(stack, name, timeout=5, model=MODEL, slo="latency")
    active_at = first_active(stack, name, model=MODEL, slo="latency")
    weight = rate_change(stack, fault_at, active_at)
    expect = predicted_delay(stack, fault_at, page, bad=1.0, weight=weight) + 0.25
    assert_on_time(active_at, fault_at, expect, name)
    record_timing("latency", name, fault_at, expect, active_at, delivery.at)
