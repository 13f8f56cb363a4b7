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
from mlmon_codegen.plan.sli import model_matchers
from mlmon_codegen.spec import model as m

Range = int | str  # milliseconds, or a Grafana variable such as "$__rate_interval"


def model_rate(model: m.Model, metric: str, range_: Range, extra: Iterable[q.Matcher] = ()) -> str:
    """Per-second rate of one of the model's counters (its series only)."""
    return q.rate(q.selector(metric, [*model_matchers(model), *extra]), range_)


def targets_up(model: m.Model) -> str:
    return q.selector("up", {"job": naming.job(model.name)})


def predictions_per_second(model: m.Model, range_: Range, by: Iterable[str] = (),
                           extra: Iterable[q.Matcher] = ()) -> str:
    return q.agg("sum", model_rate(model, model.metrics.requests, range_, extra), by=by)


def errors_per_second(model: m.Model, range_: Range, by: Iterable[str] = ()) -> str:
    return q.agg("sum", model_rate(model, model.metrics.errors, range_), by=by)


def errors_per_second_by_type(model: m.Model, range_: Range) -> str:
    return errors_per_second(model, range_, by=("error_type",))


def predictions_per_class(model: m.Model, range_: Range, by_class: bool = True) -> str:
    """Predictions per second by predicted class; summed over the classes with `by_class=False`."""
    return q.agg("sum", model_rate(model, model.metrics.predicted_class, range_),
                 by=("predicted_class",) if by_class else ())


def labelled_predictions(model: m.Model, range_: Range, by: Iterable[str] = ()) -> str:
    """Ground-truth labels arriving per second, e.g. by ("predicted_class", "actual_class")."""
    return q.agg("sum", model_rate(model, model.metrics.ground_truth, range_), by=by)


def histogram_quantile(model: m.Model, histogram: str, quantile: float, range_: Range) -> str:
    """A quantile of one of the model's classic histograms, over every label but `le`."""
    buckets = q.agg("sum", model_rate(model, naming.bucket(histogram), range_), by=(naming.LE_LABEL,))
    return q.call("histogram_quantile", q.number(quantile), buckets)


def latency_quantile(model: m.Model, quantile: float, range_: Range) -> str:
    return histogram_quantile(model, model.metrics.latency, quantile, range_)


def firing_alerts(models: list[str] | str) -> str:
    """ALERTS series of the given model(s) that are firing (not pending)."""
    if isinstance(models, str):
        model_matcher: q.Matcher = (naming.MODEL_LABEL, "=", models)
    else:
        model_matcher = q.one_of(naming.MODEL_LABEL, models)
    return q.selector("ALERTS", [model_matcher, ("alertstate", "=", "firing")])
