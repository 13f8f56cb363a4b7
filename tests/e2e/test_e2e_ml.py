"""End to end, ML signals: shifted inputs drift (PSI) and trigger retraining; wrong labels fed
through /feedback fire the accuracy SLO."""

from __future__ import annotations

import math
import time

import yaml

from e2e.helpers import (
    JOB,
    MODEL,
    SPECS,
    TRAFFIC_RPS,
    assert_on_time,
    first_active,
    predicted_delay,
    rate_change,
    record_timing,
    slo,
    tier,
    wait_delivery,
    wait_firing,
    warm_up,
)
from e2e.slo_math import bin_shares, seconds_to_drift
from mlmon_codegen.plan import series
from mlmon_codegen.plan.drift import ks_coefficient
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m
from mlmon_codegen.stack.harness import IRIS_DATA, Stack
from mlmon_codegen.stack.traffic import iris_rows

SHIFT = 1.0


def drift_predictions(model: m.Model, seen_before: float, weight: float = 1.0) -> dict[str, float]:
    """Per feature: seconds after the shift until its PSI passes psi_warn and its test is significant."""
    assert model.ml is not None
    baseline = yaml.safe_load((SPECS / f"{MODEL}.baseline.yaml").read_text())["features"]
    rows = iris_rows(IRIS_DATA)
    drift = model.ml.drift
    window = drift.window_ms / 1000
    features = {f.name: f for f in model.features}
    out = {}
    for name, base in baseline.items():
        shifted = bin_shares([f[name] + SHIFT for f, _ in rows], base["edges"])
        f = features[name]
        # The KS verdict's critical value for the window's samples (a steady TRAFFIC_RPS) and the baseline's.
        critical = (ks_coefficient(drift.alpha) * math.sqrt(1 / (TRAFFIC_RPS * window) + 1 / f.reference_count)
                    if f.drift_test == "ks" and f.reference_count else None)
        out[name] = seconds_to_drift(base["shares"], shifted, drift.psi_warn, window, seen_before, drift.epsilon,
                                     weight, critical)
    return out


def assert_series_as_estimated(stack: Stack, model: m.Model) -> None:
    """`mlmon stats` (the plan's estimate) against the series Prometheus really records: never more
    than estimated, and exactly as many where a recording fans out over features or classes."""
    est = series.estimate(model, m.DEFAULT_PROJECT)
    got = {r["metric"]["__name__"]: int(r["value"][1]) for r in stack.query(
        f'count by (__name__) ({{__name__=~"mlmon_(slo|ml):.+", model="{MODEL}"}})')}
    fanned = {r.name for r in plan_rules(model, m.DEFAULT_PROJECT).recordings() if r.fanout}
    for name, n in est.by_record:
        assert got.get(name, 0) <= n, (name, got.get(name), n)
        if name in fanned:
            assert got.get(name) == n, (name, got.get(name), n)
    assert fanned and sum(got.values()) >= 0.9 * est.total, (sum(got.values()), est.total)


def test_shifted_inputs_drift_and_trigger_retraining(stack: Stack, e2e_model: m.Model) -> None:
    warm_up(stack)
    fault_at = stack.set_faults(JOB, feature_shift=SHIFT)
    expect = drift_predictions(e2e_model, fault_at - stack.started_at)
    first = min(expect, key=expect.__getitem__)
    wait_firing(stack, "FeatureDrift", timeout=expect[first] + 20, model=MODEL, feature=first)
    first_at = first_active(stack, "FeatureDrift", model=MODEL, feature=first)
    expect = drift_predictions(e2e_model, fault_at - stack.started_at, rate_change(stack, fault_at, first_at))
    assert_on_time(first_at, fault_at, expect[first], f"FeatureDrift {first}")
    # The first notification of it: the ticket, or the page when FeatureDriftSevere fired on the
    # feature too, since it inhibits FeatureDrift for the same model and feature.
    assert stack.webhook is not None
    deadline = time.monotonic() + 30
    while not (got := [*stack.webhook.received("e2e-tickets", "FeatureDrift", "firing"),
                       *stack.webhook.received("e2e-pager", "FeatureDriftSevere", "firing")]):
        assert time.monotonic() < deadline, "neither FeatureDrift nor FeatureDriftSevere was delivered in 30s"
        time.sleep(0.1)
    ticket = min(got, key=lambda d: d.at)
    record_timing("drift", "FeatureDrift", fault_at, expect[first], first_at, ticket.at)

    # Dataset drift (and so retraining) once half the features drifted: the second one to cross.
    second = sorted(expect.values())[len(expect) // 2 - 1]
    retrain = wait_delivery(stack, "e2e-retrain", "RetrainOnSustainedDrift", timeout=second + 30)
    r_alert = wait_firing(stack, "RetrainOnSustainedDrift", timeout=5, model=MODEL)
    active_at = first_active(stack, "RetrainOnSustainedDrift", model=MODEL)
    assert_on_time(active_at, fault_at, second, "RetrainOnSustainedDrift")
    assert r_alert["labels"]["action"] == "retrain"
    record_timing("drift", "RetrainOnSustainedDrift", fault_at, second, active_at, retrain.at)
    # retrain_continue: the info channel sees the request too.
    wait_delivery(stack, "e2e-info", "RetrainOnSustainedDrift", timeout=10)


def test_wrong_labels_fire_the_accuracy_slo(stack: Stack, e2e_model: m.Model) -> None:
    traffic = stack.traffic[JOB]
    warm_up(stack)
    assert_series_as_estimated(stack, e2e_model)
    # The model's own error rate on clean labels, as Prometheus sees it, is the pre-fault baseline.
    accuracy = slo(e2e_model, "accuracy")
    page = tier(accuracy, "page-slow")
    base = stack.query(f'mlmon_slo:error_ratio:rate{page.long}{{model="{MODEL}", slo="accuracy"}}')
    assert base, "no accuracy ratio before the fault: are labels flowing?"
    traffic.wrong_share = 1.0
    fault_at = time.time()
    expect = predicted_delay(stack, fault_at, page, bad=1.0, base=float(base[0]["value"][1]))
    name = "AccuracyErrorBudgetBurnPageSlow"
    delivery = wait_delivery(stack, "e2e-pager", name, timeout=expect + 30)
    wait_firing(stack, name, timeout=5, model=MODEL, slo="accuracy")
    active_at = first_active(stack, name, model=MODEL, slo="accuracy")
    expect = predicted_delay(stack, fault_at, page, bad=1.0, base=float(base[0]["value"][1]),
                             weight=rate_change(stack, fault_at, active_at))
    assert_on_time(active_at, fault_at, expect, name)
    record_timing("accuracy", name, fault_at, expect, active_at, delivery.at)
