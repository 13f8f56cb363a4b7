"""Every selector a model's generated rules and dashboard panels read from its service.

`mlmon verify` checks these against an exposition (spec/exposition.unmet). They are derived from
the model's roles and signals, the same ones the rule and panel builders ask (plan/signals.py),
never by parsing the PromQL they render. Each need carries the model's own matchers, so a model
value or a `select:` the service does not show is caught as well as a missing metric or label.
"""

from __future__ import annotations

from mlmon_codegen.plan import signals
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.exposition import Need
from mlmon_codegen.spec.metrics_validate import ROLE_KIND

PRESENT = ".+"  # `label=~".+"`: the label exists on some series (PromQL treats "" as absent)


def _role(model: m.Model, role: str, field: str, why: str, extra: tuple[m.Matcher, ...] = (),
          le: tuple[float, ...] = (), kind: str | None = None) -> Need | None:
    """The need of one role's series, or None when the spec says the service lacks the role."""
    metric = getattr(model.metrics, role, None)
    if metric is None:
        return None
    return Need(metric, (*model.metrics.matchers(role), *extra), kind or ROLE_KIND.get(role, "counter"),
                field, why, tuple(le))


def _slo_needs(model: m.Model, slo: m.SLO) -> list[Need | None]:
    met = model.metrics
    why = f"{slo.kind} SLO {slo.name}"
    if slo.kind == "availability":
        return [_role(model, "requests", "metrics.requests", why), _role(model, "errors", "metrics.errors", why)]
    if slo.kind == "latency":
        role = getattr(slo, "histogram", None) or "latency"
        le = (slo.threshold_s,) if slo.threshold_s is not None else ()
        return [_role(model, role, f"slos.{slo.name}.threshold", why, le=le, kind="histogram")]
    if slo.kind == "accuracy":
        present = ((met.class_label, "=~", PRESENT), (met.actual_class_label, "=~", PRESENT))
        return [_role(model, "ground_truth", f"slos.{slo.name}", why, present)]
    return []  # custom: the user's PromQL, which promtool checks


def _feature_needs(model: m.Model) -> list[Need | None]:
    met = model.metrics
    out: list[Need | None] = []
    for f in signals.binned(model):
        field, why = f"features.{f.name}", f"feature {f.name}"
        if f.kind == "numeric" and f.metric is not None:
            out.append(Need(f.metric, tuple(met.matchers()), "histogram", field, why, tuple(f.edges)))
        elif f.kind == "numeric":
            out.append(_role(model, "feature_value", field, why, ((met.feature_label, "=", f.name),), f.edges))
        else:
            out.append(_role(model, "feature_category", field, why, ((met.feature_label, "=", f.name),)))
        if signals.missing(model):
            out.append(_role(model, "feature_missing", field, f"missing values of {f.name}",
                             ((met.feature_label, "=", f.name),)))
    for f in signals.gauged(model):
        field, why = f"features.{f.name}", f"range of feature {f.name}"
        for role in ("feature_min", "feature_max"):
            out.append(_role(model, role, field, why, ((met.feature_label, "=", f.name),)))
    return out


def _prediction_needs(model: m.Model) -> list[Need | None]:
    met, ml = model.metrics, model.ml
    out: list[Need | None] = []
    if signals.predicts(model):
        out.append(_role(model, "predicted_class", "metrics.predicted_class", "predicted classes",
                         ((met.class_label, "=~", PRESENT),)))
        listed = list(model.classes)
        priors = [c for c, _ in ml.class_priors] if ml is not None else []
        for c in [*listed, *(p for p in priors if p not in listed)]:
            field = "model.classes" if c in listed else "baseline"
            out.append(_role(model, "predicted_class", field, f"class {c}", ((met.class_label, "=", c),)))
    if signals.confidence(model) and ml is not None:
        out.append(_role(model, "confidence", "metrics.confidence", "LowConfidence",
                         le=(ml.confidence_floor,)))
    return out


def _label_needs(model: m.Model) -> list[Need | None]:
    met, ml = model.metrics, model.ml
    out: list[Need | None] = []
    if signals.has_labels(model):
        present = ((met.class_label, "=~", PRESENT), (met.actual_class_label, "=~", PRESENT))
        out.append(_role(model, "ground_truth", "metrics.ground_truth", "per-class quality", present))
        out.append(_role(model, "label_lag", "metrics.label_lag", "label lag"))
    keys = signals.ml_alerts(model)
    if "retrain_accuracy" in keys or "retrain_labels" in keys:
        out.append(_role(model, "ground_truth", "metrics.ground_truth", "retraining"))
    if ml is not None and ("retrain_stale" in keys or "retrain_labels" in keys):
        out.append(_role(model, "trained_at", "metrics.trained_at", "retraining"))
    return out


def needs(model: m.Model) -> list[Need]:
    """The model's needs in a stable order (SLOs, ModelDown, features, predictions, labels); a
    selector asked for twice is kept once, under the first field that asks for it."""
    found: list[Need | None] = []
    for slo in model.slos:
        found += _slo_needs(model, slo)
    found += [_role(model, "requests", "metrics.requests", "ModelDown"),
              _role(model, "errors", "metrics.errors", "ModelDown")]
    found += _feature_needs(model)
    found += _prediction_needs(model)
    found += _label_needs(model)
    out: list[Need] = []
    seen: set[tuple[object, ...]] = set()
    for need in found:
        if need is None:
            continue
        key = (need.metric, need.matchers, need.kind, need.le)
        if key not in seen:
            seen.add(key)
            out.append(need)
    return out
