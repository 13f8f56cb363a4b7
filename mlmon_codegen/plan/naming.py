"""Every generated name in one place: jobs, recording rules, alerts, files, groups, uids.

Recording rules follow Prometheus' level:metric:operations convention. The `mlmon_slo` level
says the series belongs to mlmon's SLO math and carries `model` and `slo` labels.
"""

from __future__ import annotations

import hashlib

from mlmon_codegen.plan.durations import format_ms

# Labels every SLO recording rule carries, and the contract labels every alert carries.
MODEL_LABEL = "model"
SLO_LABEL = "slo"
TEAM_LABEL = "team"
SEVERITY_LABEL = "severity"
TIER_LABEL = "tier"
ACTION_LABEL = "action"
WINDOW_LABEL = "window"


def job(model: str) -> str:
    return f"mlmon-{model}"


def rules_file(model: str) -> str:
    return f"prometheus/rules/{model}.rules.yml"


def unit_test_file(model: str) -> str:
    return f"tests/{model}.test.yml"


def group(model: str, part: str) -> str:
    return f"mlmon-{model}-{part}"


def slo_errors(window_ms: int) -> str:
    return f"mlmon_slo:errors:rate{format_ms(window_ms)}"


def slo_requests(window_ms: int) -> str:
    return f"mlmon_slo:requests:rate{format_ms(window_ms)}"


def slo_error_ratio(window_ms: int) -> str:
    return f"mlmon_slo:error_ratio:rate{format_ms(window_ms)}"


def slo_burn_rate(window_ms: int) -> str:
    return f"mlmon_slo:burn_rate:rate{format_ms(window_ms)}"


SLO_PERIOD_ERROR_RATIO = "mlmon_slo:error_ratio:period"
SLO_BUDGET_REMAINING = "mlmon_slo:error_budget_remaining:period"
SLO_OBJECTIVE = "mlmon_slo:objective:ratio"


def camel(text: str) -> str:
    """'latency-p99' → 'LatencyP99'; alert names are CamelCase by Prometheus convention."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", "-").split("-") if part)


def burn_alert(slo: str, tier: str) -> str:
    return f"{camel(slo)}ErrorBudgetBurn{camel(tier)}"


def no_data_alert(slo: str) -> str:
    return f"{camel(slo)}SLINoData"


MODEL_DOWN_ALERT = "ModelDown"


def dashboard_uid(model: str) -> str:
    """Stable, at most 40 characters; long names keep a readable prefix and a hash suffix."""
    uid = f"mlmon-{model}"
    if len(uid) <= 40:
        return uid
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{uid[:31]}-{digest}"


def dashboard_url(base: str, model: str) -> str:
    return f"{base}/d/{dashboard_uid(model)}/{model}"


def runbook_url(base: str, model: str, alert: str) -> str:
    return f"{base}/{model}/{alert}.md"


def runbook_file(model: str, alert: str) -> str:
    return f"runbooks/{model}/{alert}.md"
