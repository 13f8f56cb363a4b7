"""Hypothesis strategies for valid spec folders across the whole schema.

A fleet is one Project document plus 1 to 4 ModelMonitor documents (plain dicts, as a user would
write them). Values reach the edges the schema allows: periods from 1h to 90d, objectives from
90 to 99.999, custom SLIs, 0 to 50 features, 2 to 50 classes, every alert option, several teams
with receivers of every kind, and free text with unicode and YAML-significant characters.

The tier policy rejects some (period, objective, scrape interval) combinations: a tier is
unreachable, or its windows collapse. A valid spec therefore only names tiers that
`plan_tier` accepts, and a combination where none works is not drawn.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from mlmon_codegen.core import durations
from mlmon_codegen.plan.burnrate import POLICY, plan_tier

HOUR_MS, DAY_MS = 3_600_000, 86_400_000

name = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,14}", fullmatch=True)
label_name = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,10}", fullmatch=True)
feature_name = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
metric_name = st.from_regex(r"[a-z_][a-z0-9_]{0,12}_total", fullmatch=True)
# Free text as the schema allows it: unicode, quotes, colons, hashes, YAML indicators; never the
# characters SafeText rejects ("{}\ and control characters) nor '@', which would read as credentials.
free_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"{}\\@\x7f\u2028\u2029\x85'),
    max_size=40)
label_value = free_text.filter(bool)  # an empty label value is an error: Prometheus drops the label


def duration_text(ms: int) -> str:
    return durations.format_ms(ms)


@st.composite
def period(draw) -> tuple[str, int]:
    """Any period from 1h to 90d, written the way people write them."""
    unit = draw(st.sampled_from(["h", "d", "w"]))
    count = draw(st.integers(1, {"h": 72, "d": 90, "w": 12}[unit]))
    text = f"{count}{unit}"
    return text, durations.parse(text)


objective = st.integers(90_000, 99_999).map(lambda n: n / 1000)  # 90.000 .. 99.999


@st.composite
def alert_options(draw, period_ms: int, objective_pct: float, scrape_ms: int) -> dict[str, Any]:
    workable = [p.name for p in POLICY if plan_tier(p, period_ms, objective_pct, scrape_ms)[0] is not None]
    assume(workable)  # no tier can fire: that is an error, tested in tests/bad_specs
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["tiers"] = draw(st.lists(st.sampled_from(workable), min_size=1, max_size=len(workable), unique=True))
    if draw(st.booleans()):
        out["for"] = draw(st.sampled_from(["30s", "1m", "2m", "5m", "10m"]))
    if draw(st.booleans()):
        out["min_events"] = draw(st.integers(1, 100_000))
    return out


@st.composite
def custom_sli(draw) -> dict[str, str]:
    err, total = draw(metric_name), draw(metric_name)
    value = draw(st.from_regex(r"[a-z0-9_.-]{1,10}", fullmatch=True))
    sel = f'{{job="{value}"}}' if draw(st.booleans()) else ""
    if draw(st.booleans()):
        return {"error_ratio_query": f"sum(rate({err}{sel}[{{{{window}}}}])) / sum(rate({total}{sel}[{{{{window}}}}]))"}
    return {"error_query": f"sum(rate({err}{sel}[{{{{ window }}}}]))",
            "total_query": f"sum(rate({total}{sel}[{{{{window}}}}]))"}


@st.composite
def slos(draw, scrape_ms: int, classification: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kinds = draw(st.lists(st.sampled_from(["availability", "latency", "accuracy", "custom", "percentile"]),
                          min_size=0, max_size=5, unique=True))
    for kind in kinds:
        if kind == "accuracy" and not classification:
            continue
        text, ms = draw(period())
        if kind == "percentile":  # the seed article's spelling: only the tiers that can fire
            assume(any(plan_tier(p, ms, 99.0, scrape_ms)[0] for p in POLICY))
            out["latency-pct"] = {"p99_target_ms": draw(st.sampled_from([50, 100, 250, 1000])), "window": text}
            continue
        obj = draw(objective)
        slo: dict[str, Any] = {"objective": obj, "period": text, "alerts": draw(alert_options(ms, obj, scrape_ms))}
        if draw(st.booleans()):
            slo["description"] = draw(free_text)
        key = kind
        if kind == "latency":
            slo["threshold"] = draw(st.sampled_from(["25ms", "100ms", "300ms", "1s", "2500ms"]))
        elif kind == "custom":
            key = draw(name.filter(lambda n: n not in ("availability", "accuracy", "latency", "latency-pct")))
            slo["sli"] = draw(custom_sli())
            if "error_ratio_query" in slo["sli"]:
                slo["alerts"].pop("min_events", None)  # a ratio counts no events: an error (tests/bad_specs)
        elif kind == "accuracy" and draw(st.booleans()):
            slo["min_samples"] = draw(st.integers(1, 10_000))
        out[key] = slo
    return out


@st.composite
def features(draw) -> dict[str, Any]:
    names = draw(st.lists(feature_name, min_size=0, max_size=50, unique=True))
    out = {}
    for n in names:
        if draw(st.booleans()):
            lo = draw(st.integers(-1000, 1000))
            out[n] = {"type": "numeric", "range": [lo, lo + draw(st.integers(1, 1000))],
                      "allow_missing": draw(st.booleans())}
        else:
            out[n] = {"type": "categorical", "allow_missing": draw(st.booleans())}
    return out


# Category names come from training data, not from reviewed text: anything goes, so quotes,
# backslashes and braces must survive the PromQL builder's escaping.
category = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@st.composite
def baseline(draw, model_name: str, feats: dict[str, Any]) -> dict[str, Any]:
    """The file `mlmon baseline` would write for these features (`<spec>.baseline.yaml`)."""
    out: dict[str, Any] = {}
    for fname, f in feats.items():
        if f["type"] == "numeric":
            lo, hi = f["range"]
            inner = draw(st.lists(st.integers(lo + 1, hi - 1), max_size=8, unique=True)) if hi - lo > 1 else []
            edges = [math.nextafter(lo, -math.inf), *sorted(inner), hi]  # the min's edge is just below it
            out[fname] = {"kind": "numeric", "edges": edges, "shares": [1 / (len(edges) + 1)] * (len(edges) + 1),
                          "range": [lo, hi], "min": lo, "max": hi, "mean": (lo + hi) / 2, "std": 1.0}
        else:
            cats = draw(st.lists(category, min_size=1, max_size=5, unique=True))
            out[fname] = {"kind": "categorical", "categories": {c: 1 / len(cats) for c in cats}}
    return {"apiVersion": "mlmon/v1", "kind": "Baseline", "metadata": {"model": model_name}, "features": out}


@st.composite
def model_spec(draw, model_name: str, team: str, project_scrape_ms: int) -> dict[str, Any]:
    scrape: dict[str, Any] = {"targets": [f"{model_name}-{i}:8000" for i in range(draw(st.integers(1, 3)))]}
    scrape_ms = project_scrape_ms
    if draw(st.booleans()):
        scrape_ms = draw(st.sampled_from([5_000, 10_000, 15_000, 30_000, 60_000]))
        scrape["interval"] = duration_text(scrape_ms)
    classification = draw(st.booleans())
    spec: dict[str, Any] = {
        "apiVersion": "mlmon/v1", "kind": "ModelMonitor",
        "metadata": {"name": model_name, "team": team,
                     "labels": draw(st.dictionaries(label_name.filter(lambda n: n not in (
                         "model", "team", "severity", "slo", "tier", "action", "alertname")), label_value, max_size=3)),
                     "description": draw(free_text)},
        "model": {"task": "classification" if classification else "regression"},
        "scrape": scrape,
        "slos": draw(slos(scrape_ms, classification)),
    }
    if classification:
        spec["model"]["classes"] = draw(st.lists(
            st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,10}", fullmatch=True), min_size=2, max_size=50, unique=True))
    if draw(st.booleans()):
        spec["model"]["version"] = draw(st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True))
    if draw(st.booleans()):
        spec["features"] = draw(features())
    if draw(st.booleans()):
        spec["alerting"] = {"model_down": {"for": draw(st.sampled_from(["1m", "5m", "10m"])),
                                           "no_traffic_for": draw(st.sampled_from([None, "15m", "1h"]))},
                            "no_data_for": draw(st.sampled_from(["5m", "10m", "30m"]))}
    if classification and draw(st.booleans()):
        spec["predictions"] = {"skew_share": draw(st.sampled_from([0.5, 0.9, 0.95, 1.0])),
                               "confidence": {"quantile": 0.25, "threshold": draw(st.sampled_from([0.5, 0.6, 0.9]))}}
    if spec.get("features") and draw(st.booleans()):
        spec["quality"] = {"out_of_range_max": draw(st.sampled_from([0.0, 0.01, 0.5])), "missing_max": 0.05}
    if classification and draw(st.booleans()):
        spec["ground_truth"] = {"no_labels_for": draw(st.sampled_from([None, "1h", "6h"]))}
    return spec


RECEIVER_KINDS = {
    "webhook": lambda n: {"url": f"https://hooks.example.com/{n}",
                          "http_config": {"authorization": {"credentials_file": f"/etc/am/{n}-token"}}},
    "slack": lambda n: {"api_url_file": f"/etc/am/{n}-slack", "channel": f"#{n}"},
    "pagerduty": lambda n: {"routing_key_file": f"/etc/am/{n}-pd"},
    "opsgenie": lambda n: {"api_key_file": f"/etc/am/{n}-og"},
    "email": lambda n: {"to": f"{n}@example.com", "from": "am@example.com", "smarthost": "smtp.example.com:587",
                        "auth_username": "am", "auth_password_file": f"/etc/am/{n}-smtp"},
}


@st.composite
def project(draw, teams: list[str]) -> tuple[dict[str, Any], int]:
    scrape_ms = draw(st.sampled_from([5_000, 10_000, 15_000, 30_000, 60_000]))
    doc: dict[str, Any] = {
        "apiVersion": "mlmon/v1", "kind": "Project", "metadata": {"name": draw(name)},
        "prometheus": {"scrape_interval": duration_text(scrape_ms),
                       "evaluation_interval": draw(st.sampled_from(["15s", "30s", "1m"])),
                       "external_labels": draw(st.dictionaries(label_name, label_value, max_size=3))},
    }
    if draw(st.booleans()):
        receivers, routes = [], {}
        for team in teams:
            kinds = draw(st.lists(st.sampled_from(sorted(RECEIVER_KINDS)), min_size=1, max_size=3, unique=True))
            names = [f"{team}-{k}" for k in kinds]
            receivers += [{"name": n, k: [RECEIVER_KINDS[k](n)]} for n, k in zip(names, kinds, strict=True)]
            routes[team] = {"critical": names[0], "warning": names[-1]}
            if draw(st.booleans()):
                routes[team]["tickets_only_during"] = "office"
        office = {"weekdays": ["monday:friday"], "times": [{"start_time": "09:00", "end_time": "17:00"}]}
        doc["alertmanager"] = {"receivers": receivers, "teams": routes, "time_intervals": {"office": [office]}}
    return doc, scrape_ms


@st.composite
def fleet(draw) -> dict[str, dict[str, Any]]:
    """File name → document, for one spec folder."""
    teams = draw(st.lists(name, min_size=1, max_size=4, unique=True))
    models = draw(st.lists(name, min_size=1, max_size=4, unique=True))
    proj, scrape_ms = draw(project(teams))
    files = {"mlmon.yaml": proj}
    for m in models:
        spec = files[f"{m}.yaml"] = draw(model_spec(m, draw(st.sampled_from(teams)), scrape_ms))
        if "features" in spec:
            files[f"{m}.baseline.yaml"] = draw(baseline(m, spec["features"]))
    return files
