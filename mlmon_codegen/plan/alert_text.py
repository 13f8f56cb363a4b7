"""Alert labels and annotations per the label contract, shared by the rules and their tests."""

from __future__ import annotations

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.core.text import percent
from mlmon_codegen.plan import grouping, panel_keys, sli
from mlmon_codegen.plan.burnrate import Tier
from mlmon_codegen.plan.records import Alert
from mlmon_codegen.spec import model as m


def base_labels(model: m.Model, severity: str) -> dict[str, str]:
    labels = dict(model.labels)
    labels.update({naming.MODEL_LABEL: model.name, naming.TEAM_LABEL: model.team,
                   naming.SEVERITY_LABEL: severity})
    return labels


def links(project: m.Project, model: m.Model, alert: str) -> dict[str, str]:
    return {
        "runbook_url": naming.runbook_url(project.runbook_base_url, model.name, alert),
        # From the model alone: the dashboard gives the panel showing the alert the same key and id.
        "dashboard_url": naming.dashboard_url(project.grafana_base_url, model.name,
                                              panel_keys.alert_panel_id(model, alert)),
    }


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
    return (f"{model.name}: the {slo.name} SLO is burning its error budget {tier.factor:.3g}x too fast "
            f"({tier.name} tier)")


def burn_description(slo: m.SLO, tier: Tier, value: str = "{{ $value | humanizePercentage }}") -> str:
    """`value` is the Go template in rules; tests pass the rendered value they expect."""
    period = format_ms(slo.period_ms)
    exhaustion = format_ms(max(1000, int(slo.period_ms / tier.factor) // 1000 * 1000))
    return (f"{slo.name} error ratio is {value} over the last {tier.short}, and above "
            f"{percent(tier.threshold)} over {tier.long} too. At {tier.factor:.3g}x burn the whole "
            f"{percent(slo.budget)} error budget of the {period} period would last {exhaustion}; "
            f"this tier fires after {percent(tier.budget_consumed)} of it is gone.")


def no_data_summary(model: m.Model, slo: m.SLO) -> str:
    return f"{model.name}: the {slo.name} SLI has no data while the service is up"


# Where a silent SLI's data goes missing, per SLO kind.
NO_DATA_CHECKS = {
    "availability": "that the service exposes the request and error counters the SLI reads",
    "latency": "that the service exposes the latency histogram the SLI reads and that the threshold is one "
               "of its buckets",
    "accuracy": "that labels arrive: the SLI reads the ground-truth counter the label pipeline feeds",
    "custom": "that the series the SLI's queries read exist",
}


def no_data_description(model: m.Model, slo: m.SLO) -> str:
    return (f"The {slo.name} SLO of {model.name} cannot be evaluated, so its burn-rate alerts are "
            f"silently off. Check {NO_DATA_CHECKS[slo.kind]}.")


def model_down_summary(model: m.Model) -> str:
    return f"{model.name} is down or serves no predictions"


def model_down_description(model: m.Model) -> str:
    job = sli.scrape_job(model)
    text = f"No scrape target of job {job} is up" if job else "The service's series are gone"
    if model.no_traffic_for_ms:
        text += f", or none served a prediction in the last {format_ms(model.no_traffic_for_ms)}"
    return text + "."


def ml_alert(model: m.Model, project: m.Project, key: str, expr: str, severity: str, for_ms: int | None,
             summary: str, description: str, retrain: bool = False) -> Alert:
    """An ML alert record (naming.ML_ALERTS[key]) with the model's prefix, labels and links."""
    name = naming.ml_alert(key, model.alert_prefix)
    labels = base_labels(model, severity)
    if retrain:
        labels[naming.ACTION_LABEL] = naming.RETRAIN_ACTION
    return Alert(name, key, severity, expr, for_ms or None, labels,
                 {"summary": summary, "description": description, **links(project, model, name)})
