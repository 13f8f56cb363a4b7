"""Diagnostic queries over a model's raw metrics, written once for every place that shows them.

Runbooks and dashboards both show errors by type, latency quantiles, predictions per class,
labelled predictions and scrape targets; they differ only in the range (`5m` in a runbook, to
paste into Prometheus; Grafana's `$__rate_interval` on a dashboard), so the range is a parameter.
Every function returns PromQL text from core/promql.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan.sli import requests_total, role_rate, scrape_job
from mlmon_codegen.spec import model as m

Range = int | str  # milliseconds, or a Grafana variable such as "$__rate_interval"


def model_rate(model: m.Model, role: str, range_: Range, extra: Iterable[q.Matcher] = ()) -> str:
    """Per-second rate of one of the model's counters (its series of that role only)."""
    return role_rate(model, role, range_, list(extra))


def targets_up(model: m.Model) -> str | None:
    """The model's scrape targets, None when no job is known (an unnamed job collects them)."""
    job = scrape_job(model)
    return q.selector("up", {"job": job}) if job else None


def predictions_per_second(model: m.Model, range_: Range, by: Iterable[str] = (),
                           extra: Iterable[q.Matcher] = ()) -> str:
    """Requests per second, failed ones included."""
    return requests_total(model, range_, tuple(by), list(extra))


def errors_per_second(model: m.Model, range_: Range, by: Iterable[str] = ()) -> str:
    return q.agg("sum", model_rate(model, "errors", range_), by=by)


def errors_per_second_by_type(model: m.Model, range_: Range) -> str:
    label = model.metrics.error_type_label
    return errors_per_second(model, range_, by=(label,) if label else ())


def predictions_per_class(model: m.Model, range_: Range, by_class: bool = True) -> str:
    """Predictions per second by predicted class; summed over the classes with `by_class=False`."""
    return q.agg("sum", model_rate(model, "predicted_class", range_),
                 by=(model.metrics.class_label,) if by_class else ())


def labelled_predictions(model: m.Model, range_: Range, by: Iterable[str] = ()) -> str:
    """Ground-truth labels arriving per second, e.g. by (class label, actual class label)."""
    return q.agg("sum", model_rate(model, "ground_truth", range_), by=by)


def histogram_quantile(model: m.Model, role: str, quantile: float, range_: Range) -> str:
    """A quantile of one of the model's classic histograms, over every label but `le`."""
    buckets = q.agg("sum", role_rate(model, role, range_, suffix=naming.BUCKET_SUFFIX), by=(naming.LE_LABEL,))
    return q.call("histogram_quantile", q.number(quantile), buckets)


def latency_quantile(model: m.Model, quantile: float, range_: Range, role: str = "latency") -> str:
    """A quantile of a latency histogram: `latency`, or `first_token_latency`/`inter_token_latency`."""
    return histogram_quantile(model, role, quantile, range_)


def firing_alerts(models: list[str] | str) -> str:
    """ALERTS series of the given model(s) that are firing (not pending)."""
    if isinstance(models, str):
        model_matcher: q.Matcher = (naming.MODEL_LABEL, "=", models)
    else:
        model_matcher = q.one_of(naming.MODEL_LABEL, models)
    return q.selector("ALERTS", [model_matcher, ("alertstate", "=", "firing")])


def over_budget(ratio: str, objective: str) -> str:
    """An SLO's error ratio over its budget (1 - objective), matched on model and SLO: a window's
    burn rate, or the share of the period's budget spent. The objective is recorded once per SLO,
    without group labels, so a grouped SLO's ratios match it many to one."""
    slo = (naming.MODEL_LABEL, naming.SLO_LABEL)
    # max: a store that holds every ruler replica's copy of the objective would make the join many-to-many.
    return q.binop(ratio, "/", q.one_minus(q.agg("max", objective, by=slo)), q.group_left(q.on(slo)))


def budget_left(period_ratio: str, objective: str) -> str:
    """The share of the period's error budget not yet spent (below 0: overspent)."""
    return q.one_minus(over_budget(period_ratio, objective))


def job_targets_up(model: q.Matcher) -> str:
    """`up` of the scrape job the info series of the model(s) names (`scrape_job`): a job of
    mlmon's or the one `scrape.job` gave, read without knowing which."""
    jobs = q.copy_label(q.agg("max", q.selector(naming.MODEL_INFO, [model]), by=(naming.SCRAPE_JOB_LABEL,)), "job",
                        naming.SCRAPE_JOB_LABEL)
    return q.binop("up", "*", jobs, q.group_left(q.on(("job",))))
