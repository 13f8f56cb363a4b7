"""A model's rules as records: SLO recordings per window and over the period, burn-rate alerts per
tier, SLINoData, ModelDown and the info series; the ML groups come from plan/ml_rules.py.

`plan_rules` is what every target reads (the rule file, unit tests, runbooks, series estimates).
"""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.plan import alert_text, burnrate, eval_groups, ml_rules, timeslices
from mlmon_codegen.plan.records import Alert, Group, Recording, Rule, RulePlan
from mlmon_codegen.plan.sli import exposed, period_base_window, role_rate, scrape_job, series, window_queries, windows
from mlmon_codegen.spec import model as m


def slo_labels(model: m.Model, slo: m.SLO) -> dict[str, str]:
    return {naming.MODEL_LABEL: model.name, naming.SLO_LABEL: slo.name}


def _sel(metric: str, model: m.Model, slo: m.SLO) -> str:
    return q.selector(metric, slo_labels(model, slo))


def _one(metric_or_expr: str, model: m.Model | None = None, slo: m.SLO | None = None,
         group: tuple[str, ...] = ()) -> str:
    """One series per (model, slo, group labels), whatever external or replica labels a ruler's view adds.

    A Thanos or Mimir ruler (or an HA pair writing to one store) sees each recorded series once
    per replica; joining or re-recording them as they are gives duplicate-series errors or
    duplicate alerts. Replicas hold the same value, so `max` picks one without double counting.
    """
    expr = _sel(metric_or_expr, model, slo) if model is not None and slo is not None else metric_or_expr
    # A grouped SLO (group_by) keeps one series per group: its own budget and alerts.
    keep = slo.group_by if slo is not None else group
    return q.agg("max", expr, by=(naming.MODEL_LABEL, naming.SLO_LABEL, *keep))


def window_rules(model: m.Model, slo: m.SLO, only: tuple[int, ...] | None = None) -> list[Recording]:
    """One error ratio per window, straight from the source counters.

    Recording the errors and requests per window too would double the series and the rule
    evaluations for sums no alert reads; the ratio of the two sums is still the ratio of event
    counts, never an average of ratios."""
    labels = slo_labels(model, slo)
    return [Recording(naming.slo_error_ratio(w), window_ratio(model, slo, w), labels, slo.group_by)
            for w in (windows(slo) if only is None else only)]


def window_ratio(model: m.Model, slo: m.SLO, window_ms: int) -> str:
    wq = timeslices.window_ratio(model, slo, window_ms) if slo.timeslice else window_queries(model, slo, window_ms)
    if wq.ratio is not None:
        return wq.ratio
    assert wq.errors is not None and wq.total is not None
    return q.binop(wq.errors, "/", wq.total)


def period_rules(model: m.Model, slo: m.SLO, project: m.Project) -> list[Recording]:
    """The period's error ratio.

    The period ratio divides the counters' increases over the whole period, so it is weighted by
    traffic and needs no per-window errors and requests recorded for it; it sits in the slow
    period group, so the long read happens once every few minutes. A ratio-only custom SLI has
    no counts to weigh by: it keeps the mean of its base window's recorded ratio."""
    labels = slo_labels(model, slo)
    if slo.timeslice:
        ratio = timeslices.bad_share(model, slo, slo.period_ms)
    elif slo.custom and slo.custom.error_ratio_query is not None:
        base = period_base_window(slo, project.evaluation_interval_ms)
        ratio = _one(q.call("avg_over_time", q.rng(_sel(naming.slo_error_ratio(base), model, slo),
                                                    format_ms(slo.period_ms))), group=slo.group_by)
    else:
        ratio = window_ratio(model, slo, slo.period_ms)
    return [Recording(naming.SLO_PERIOD_ERROR_RATIO, ratio, labels, slo.group_by)]


def constant_rules(model: m.Model, slo: m.SLO) -> list[Recording]:
    """The objective and each tier's burn-rate factor, which dashboards divide and draw by.

    They ride in the slow period group: no alert reads them (the alerts compare with literal
    thresholds), and evaluated with the alerts they were one in seven of a fleet's rule evaluations. A
    reloaded rule file keeps each group's evaluation phase (it is hashed from the group's name and
    file), so the series never gap; only a new model's file waits up to one period interval for
    them, while its windows have no data yet either."""
    labels = slo_labels(model, slo)
    # Every tier's factor from one rule, each labelled with its tier: Prometheus' cost is per rule
    # evaluation, and these are evaluated every interval for every SLO of a fleet.
    factors = q.any_of(*(q.set_label(q.call("vector", q.number(t.factor)), naming.TIER_LABEL, t.name)
                         for t in burnrate.tiers(slo)))
    return [
        Recording(naming.SLO_OBJECTIVE, q.call("vector", q.number(round(slo.objective / 100, 12))), labels),
        Recording(naming.SLO_BURN_THRESHOLD, factors, labels, series=len(burnrate.tiers(slo))),
    ]


def burn_alerts(model: m.Model, slo: m.SLO, project: m.Project) -> list[Alert]:
    alerts = []
    for tier in burnrate.alert_tiers(slo):
        expr = q.binop(q.compare(_one(naming.slo_error_ratio(tier.short_ms), model, slo), ">", tier.threshold), "and",
                       q.compare(_one(naming.slo_error_ratio(tier.long_ms), model, slo), ">", tier.threshold))
        if slo.min_events:
            # From the counters: recording the events per window would double the SLO's series.
            total = window_queries(model, slo, tier.long_ms).total
            assert total is not None, "validation allows min_events only with a total"
            events = q.times(q.paren(total), tier.long_ms // 1000)
            # The sums carry only the group labels; the ratios also model and slo.
            expr = q.set_op(q.paren(expr), "and", q.compare(events, ">=", slo.min_events),
                            on_labels=slo.group_by)
        alerts.append(Alert(
            naming.burn_alert(slo.name, tier.name, model.alert_prefix), "burn", tier.severity, expr,
            tier.for_ms, alert_text.burn_labels(model, slo, tier),
            alert_text.burn_annotations(project, model, slo, tier), slo=slo.name, tier=tier.name))
    return alerts


def up_selector(model: m.Model) -> str | None:
    job = scrape_job(model)
    return q.selector("up", {"job": job}) if job else None


def _presence(model: m.Model) -> str:
    """The model's own series, for a service no known job scrapes: present while it is scraped."""
    role = exposed(model, "requests", "errors", "latency")[0]
    return series(model, role, suffix=naming.COUNT_SUFFIX if role == "latency" else "")


def no_data_alert(model: m.Model, slo: m.SLO, project: m.Project) -> Alert | None:
    """None when the model's `alerting.no_data` or the SLO's `alerts.no_data` turns it off; a
    recordings-only SLO keeps it, since its recordings can go silent just the same.

    A grouped SLO fires per group: a group whose longest window still has data (it reported
    within that window) and whose shortest has none, with the group's labels, while the others
    keep reporting; once no group has any data left, one alert for the whole SLO."""
    if not (model.no_data_enabled and slo.no_data_enabled):
        return None
    ws = windows(slo)
    name = naming.no_data_alert(slo.name, model.alert_prefix)
    up = up_selector(model)
    service_up = (q.binop(q.agg("max", up), "==", "1") if up else q.compare(q.agg("count", _presence(model)), ">", 0))
    missing = q.call("absent", _sel(naming.slo_error_ratio(ws[0]), model, slo))
    if slo.group_by:
        recent = _one(naming.slo_error_ratio(ws[-1]), model, slo)
        silent = q.set_op(recent, "unless", _one(naming.slo_error_ratio(ws[0]), model, slo))
        missing = q.paren(q.any_of(silent, q.set_op(missing, "unless", recent, on_labels=())))
    return Alert(
        name, "no_data", "warning", q.set_op(missing, "and", service_up, on_labels=()), model.no_data_for_ms,
        alert_text.slo_alert_labels(model, slo, "warning"), alert_text.no_data_annotations(project, model, slo),
        slo=slo.name)


def model_down_alert(model: m.Model, project: m.Project) -> Alert | None:
    if not model.model_down_enabled:
        return None
    up = up_selector(model)
    parts = [q.compare(q.agg("max", up), "==", 0), q.call("absent", up)] if up else []
    traffic = exposed(model, "requests", "errors")
    if not up and traffic:
        # max(): absent() copies the selector's equality matchers onto the alert as labels.
        parts.append(q.agg("max", q.call("absent", series(model, traffic[0]))))
    if model.no_traffic_for_ms and traffic:
        # Traffic is requests or errors: a service whose counter counts successes only and that
        # answers nothing but errors is up and failing (its SLOs page), not down.
        rates = [q.agg("sum", role_rate(model, role, model.no_traffic_for_ms)) for role in traffic]
        total = rates[0] if len(rates) == 1 else q.binop(rates[0], "+", q.or_zero(rates[1]))
        parts.append(q.compare(total, "==", 0))
    if not parts:
        return None
    name = naming.model_down_alert(model.alert_prefix)
    return Alert(
        name, "model_down", "critical", q.any_of(*parts), model.model_down_for_ms,
        alert_text.base_labels(model, "critical"),
        {"summary": alert_text.model_down_summary(model), "description": alert_text.model_down_description(model),
         **alert_text.links(project, model, name)})


def window_rules_by_interval(model: m.Model, project: m.Project) -> dict[int, list[Rule]]:
    """The window recordings by the evaluation interval fitted to the windows they read
    (plan/eval_groups.py)."""
    by_interval: dict[int, list[Rule]] = {}
    for slo in model.slos:
        for w in windows(slo):
            interval = eval_groups.interval_for(w, project.evaluation_interval_ms)
            by_interval.setdefault(interval, []).extend(window_rules(model, slo, (w,)))
    return by_interval


def info_rule(model: m.Model, project: m.Project) -> Recording:
    """The model's info series: its team, the dashboard that shows it, and the job whose `up` its
    ModelDown reads (none when it reads the model's own series)."""
    uid = naming.MODEL_DASHBOARD_UID if project.shared_dashboards else naming.dashboard_uid(model.name)
    job = scrape_job(model)
    return Recording(naming.MODEL_INFO, q.call("vector", "1"),
                     {naming.MODEL_LABEL: model.name, naming.TEAM_LABEL: model.team,
                      naming.DASHBOARD_UID_LABEL: uid, **({naming.SCRAPE_JOB_LABEL: job} if job else {})})


def plan_rules(model: m.Model, project: m.Project) -> RulePlan:
    """Every rule of the model's rule file, in file order: one group per evaluation interval.

    Prometheus pays a fixed cost per group and evaluation (its own timer, metrics and commit),
    so rules that share an interval share a group: three groups for most models, where one per
    purpose made five to twelve. Within a group rules run in file order, so each recording comes
    before what reads it; the base interval's group (the alerts) comes last, so promtool, which
    runs groups in file order, evaluates every slower recording of a tick before the alerts
    that read it, as a real Prometheus would have them from its previous evaluation."""
    base = project.evaluation_interval_ms
    by_interval = window_rules_by_interval(model, project)  # empty without SLOs
    down = model_down_alert(model, project)
    alerts: list[Rule] = [down] if down else []
    if model.slos:
        period = eval_groups.period_interval(base)
        by_interval.setdefault(period, []).extend(r for slo in model.slos for r in period_rules(model, slo, project))
        by_interval[period].extend(r for slo in model.slos for r in constant_rules(model, slo))
        # Only dashboards read the info series, so it rides with the constants, as they do.
        by_interval[period].append(info_rule(model, project))
    else:
        # A model without SLOs may have no slower group: the global one, which every model has.
        alerts.insert(0, info_rule(model, project))
    for slo in model.slos:
        alerts.extend(burn_alerts(model, slo, project))
        no_data = no_data_alert(model, slo, project)
        alerts.extend([no_data] if no_data else [])
    by_interval.setdefault(base, []).extend(alerts)
    for g in ml_rules.groups(model, project):  # none without ML sections
        by_interval.setdefault(g.interval_ms or base, []).extend(g.rules)
    # Slices keep groups of their own, first: their interval is the slice, which the windows
    # reading them do not share.
    groups = timeslices.groups(model)
    groups.extend(Group(naming.rule_group(model.name, interval), tuple(rules), interval)
                  for interval, rules in sorted(by_interval.items()) if interval != base)
    groups.append(Group(naming.rule_group(model.name, None), tuple(by_interval[base])))
    return RulePlan(model.name, tuple(groups))
