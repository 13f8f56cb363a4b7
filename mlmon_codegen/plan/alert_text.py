"""Alert labels and annotations per the label contract, shared by the rules and their tests."""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import burnrate, grouping, panel_keys, sli
from mlmon_codegen.plan.burnrate import Tier
from mlmon_codegen.plan.records import Alert
from mlmon_codegen.spec import model as m

# The alert's value as Alertmanager's texts show it.
VALUE_3F = '{{ $value | printf "%.3f" }}'
VALUE_4G = '{{ $value | printf "%.4g" }}'
VALUE_PCT = "{{ $value | humanizePercentage }}"


def template_value(expr: str, fmt: str = "%.4g") -> str:
    """A Prometheus alert template that prints the query's first value (nothing while it is empty).
    A Go raw string: the builder's selectors hold double quotes and never a backtick."""
    assert "`" not in expr
    return f'{{{{ with query `{expr}` }}}}{{{{ . | first | value | printf "{fmt}" }}}}{{{{ end }}}}'


def per_label(cases: list[tuple[str, str]], label: str) -> str:
    """A template choosing the text of the alert's `label` value; cases are (value, text)."""
    parts = [f'{{{{ {"if" if i == 0 else "else if"} eq $labels.{label} "{value}" }}}}{text}'
             for i, (value, text) in enumerate(cases)]
    return "".join(parts) + "{{ end }}" if parts else ""


def base_labels(model: m.Model, severity: str) -> dict[str, str]:
    labels = dict(model.labels)
    labels.update({naming.MODEL_LABEL: model.name, naming.TEAM_LABEL: model.team,
                   naming.SEVERITY_LABEL: severity})
    return labels


# The runbook template of each alert: a burn-rate alert's follows the kind of its SLO, every other
# family has its own; a family missing here gets the fallback, `alert`.
SLO_ALERT_KINDS = {"availability": "errors", "latency": "latency", "accuracy": "accuracy", "custom": "slo"}
FAMILY_TEMPLATES = {
    "no_data": "no-data", "model_down": "model-down",
    **dict.fromkeys(("feature_drift", "feature_drift_severe", "dataset_drift", "prediction_drift", "out_of_range",
                     "out_of_range_gauges", "missing"), "drift"),
    "prediction_skew": "skew", "low_confidence": "skew", "no_labels": "accuracy",
    "expected_accuracy_drop": "quality", "calibration_gap": "quality",
    "regression_mae": "regression", "regression_rmse": "regression", "regression_mape": "regression",
    **dict.fromkeys(("retrain_drift", "retrain_accuracy", "retrain_stale", "retrain_labels"), "retrain"),
}
FALLBACK_KIND = "alert"
_ML_KEYS = {name: key for key, name in naming.ML_ALERTS.items()}


def template_of(family: str, slo: m.SLO | None = None) -> str:
    """The runbook template (and shared runbook) of an alert family (an Alert's `kind`); a burn
    alert's follows its SLO's kind; a family without one of its own gets the fallback."""
    if family == "burn" and slo is not None:
        return SLO_ALERT_KINDS[slo.kind]
    return FAMILY_TEMPLATES.get(family, FALLBACK_KIND)


def runbook_kind(model: m.Model, alert: str) -> str:
    """template_of for one of the model's alerts known by its name only (links are made before
    the alert's record)."""
    prefix = model.alert_prefix
    if alert == naming.model_down_alert(prefix):
        return template_of("model_down")
    for slo in model.slos:
        if alert == naming.no_data_alert(slo.name, prefix):
            return template_of("no_data")
        if any(alert == naming.burn_alert(slo.name, t.name, prefix) for t in burnrate.alert_tiers(slo)):
            return template_of("burn", slo)
    key = _ML_KEYS.get(alert.removeprefix(prefix)) if alert.startswith(prefix) else None
    return template_of(key or "")


def runbook_url(project: m.Project, model: m.Model, alert: str) -> str:
    if project.shared_runbooks:
        return naming.shared_runbook_url(project.runbook_base_url, runbook_kind(model, alert),
                                         project.runbook_team(model.team))
    return naming.runbook_url(project.runbook_base_url, model.name, alert)


def dashboard_url(project: m.Project, model: m.Model, alert: str) -> str:
    """From the model alone: the dashboard gives the panel showing the alert the same key and id.
    The shared dashboard is opened on the model (and the alert's SLO), as Sloth's links do."""
    if project.shared_dashboards:
        link = panel_keys.shared_alert_link(model, alert)
        panel, slo = link if link is not None else (None, None)
        return naming.shared_dashboard_url(project.grafana_base_url, model.name, panel, slo)
    return naming.dashboard_url(project.grafana_base_url, model.name, panel_keys.alert_panel_id(model, alert))


def links(project: m.Project, model: m.Model, alert: str) -> dict[str, str]:
    return {"runbook_url": runbook_url(project, model, alert), "dashboard_url": dashboard_url(project, model, alert)}


def _tier_options(slo: m.SLO, tier: Tier) -> m.TierOptions:
    return dict(slo.tier_options).get(tier.name, m.TierOptions())


def slo_alert_labels(model: m.Model, slo: m.SLO, severity: str) -> dict[str, str]:
    """An SLO alert's labels: the model's, the SLO's own (`alerts.labels`), then the contract's;
    validation keeps the spec's labels off the contract's names, so none overrides another."""
    return {**base_labels(model, severity), **dict(slo.alert_labels), naming.SLO_LABEL: slo.name}


def burn_labels(model: m.Model, slo: m.SLO, tier: Tier) -> dict[str, str]:
    return {**slo_alert_labels(model, slo, tier.severity), **dict(_tier_options(slo, tier).labels),
            naming.SLO_LABEL: slo.name, naming.TIER_LABEL: tier.name}


def _slo_annotations(slo: m.SLO) -> dict[str, str]:
    """What the spec adds to an SLO's alerts: its description, then its own annotations (which
    may replace any annotation mlmon writes, the description included)."""
    described = {"slo_description": slo.description} if slo.description else {}
    return {**described, **dict(slo.alert_annotations)}


def burn_annotations(project: m.Project, model: m.Model, slo: m.SLO, tier: Tier,
                     value: str = "{{ $value | humanizePercentage }}") -> dict[str, str]:
    name = naming.burn_alert(slo.name, tier.name, model.alert_prefix)
    return {"summary": burn_summary(model, slo, tier) + grouping.in_group(slo),
            "description": burn_description(slo, tier, value),
            **links(project, model, name), **_slo_annotations(slo), **dict(_tier_options(slo, tier).annotations)}


def no_data_annotations(project: m.Project, model: m.Model, slo: m.SLO) -> dict[str, str]:
    name = naming.no_data_alert(slo.name, model.alert_prefix)
    return {"summary": no_data_summary(model, slo), "description": no_data_description(model, slo),
            **links(project, model, name), **_slo_annotations(slo)}


def burn_summary(model: m.Model, slo: m.SLO, tier: Tier) -> str:
    return f"{model.name} {slo.name}: error budget burning {tier.factor:.3g}x too fast ({tier.name})"


def burn_description(slo: m.SLO, tier: Tier, value: str = "{{ $value | humanizePercentage }}") -> str:
    """`value` is the Go template in rules; tests pass the rendered value they expect. Short on
    purpose: it is in every alert of a fleet's rule files. The share of the budget each tier lets
    burn is in `mlmon explain` and the runbook."""
    period = format_ms(slo.period_ms)
    exhaustion = format_ms(max(1000, int(slo.period_ms / tier.factor) // 1000 * 1000))
    return (f"Error ratio {value} over {tier.short}, above {percent(tier.threshold)} over {tier.long} too; "
            f"at {tier.factor:.3g}x the {percent(slo.budget)} budget of {period} lasts {exhaustion}.")


def no_data_summary(model: m.Model, slo: m.SLO) -> str:
    return f"{model.name} {slo.name}: the SLI has no data while the service is up"


# Where a silent SLI's data goes missing, per SLO kind.
NO_DATA_CHECKS = {
    "availability": "that the service exposes the request and error counters the SLI reads",
    "latency": "that the service exposes the latency histogram the SLI reads and that the threshold is one "
               "of its buckets",
    "accuracy": "that labels arrive: the SLI reads the ground-truth counter the label pipeline feeds",
    "custom": "that the series the SLI's queries read exist",
}


def no_data_description(model: m.Model, slo: m.SLO) -> str:
    return f"Its burn-rate alerts are off until it has. Check {NO_DATA_CHECKS[slo.kind]}."


def model_down_summary(model: m.Model) -> str:
    return f"{model.name} is down or serves no predictions"


def model_down_description(model: m.Model) -> str:
    job = sli.scrape_job(model)
    text = f"No scrape target of job {job} is up" if job else "The service's series are gone"
    if model.no_traffic_for_ms:
        text += f", or none served a prediction in the last {format_ms(model.no_traffic_for_ms)}"
    return text + "."


def ml_alert(model: m.Model, project: m.Project, key: str, expr: str, severity: str, for_ms: int | None,
             summary: str, description: str, retrain: bool = False, extra: dict[str, str] | None = None) -> Alert:
    """An ML alert record (naming.ML_ALERTS[key]) with the model's prefix, labels and links; `extra`
    annotations carry the alert's model-specific numbers (its test, critical values, thresholds)."""
    name = naming.ml_alert(key, model.alert_prefix)
    labels = base_labels(model, severity)
    if retrain:
        labels[naming.ACTION_LABEL] = naming.RETRAIN_ACTION
    return Alert(name, key, severity, expr, for_ms or None, labels,
                 {"summary": summary, "description": description, **(extra or {}), **links(project, model, name)})
