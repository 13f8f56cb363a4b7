"""`mlmon init NAME --from-metrics URL_OR_FILE`: a starter spec read off a service's exposition.

A preset (spec/presets.py) is taken when the exposition has every required role of it; else the
roles are recognised by name, type and labels. The draft is then validated as `generate` would
and checked with `mlmon verify`'s needs (plan/needs.py): a role whose selector finds no series is
set to null and what read it dropped, so the spec written verifies against the exposition it came
from. Comments say what was found, what was guessed and what is missing.
"""

from __future__ import annotations

import re
import textwrap
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.plan.needs import needs
from mlmon_codegen.spec import exposition as ex
from mlmon_codegen.spec import presets, v1
from mlmon_codegen.spec.load import load_text
from mlmon_codegen.spec.metrics_validate import ROLE_KIND
from mlmon_codegen.spec.validate import validate_all

MODEL_LABELS = ("model_name", "model")
VERSION_LABELS = ("model_version", "version", "service_version")
CLASS_LABELS = ("predicted_class", "class", "result_class", "class_label", "label")
ACTUAL_LABELS = ("actual_class", "actual", "true_class")
FEATURE_LABELS = ("feature", "feature_name")
STATUS_LABELS = ("status", "status_code", "code", "http_status", "http_response_code", "response_code")
ROUTE_LABELS = ("handler", "endpoint", "path")
REQUIRED = ("requests", "errors", "latency")
_SKIP = ("python_", "process_", "go_")


@dataclass
class Draft:
    preset: str | None = None
    roles: dict[str, Any] = field(default_factory=dict)  # role → name, {name, matchers, counts} or None
    labels: dict[str, str | None] = field(default_factory=dict)
    model_label: str | None = None
    model_value: str | None = None
    latency_buckets: list[float] | None = None
    classes: list[str] = field(default_factory=list)
    features: list[tuple[str, str | None, list[float]]] = field(default_factory=list)  # name, own metric, buckets
    threshold: float | None = None
    found: list[str] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- looking at the exposition


def _families(e: ex.Exposition, kind: str) -> list[ex.Family]:
    return [f for f in e.families if f.type == kind and not f.name.startswith(_SKIP)]


def _counter_name(f: ex.Family) -> str:
    names = sorted({s.name for s in f.samples if not s.name.endswith("_created")})
    return names[0] if names else f.name + "_total"


def _labels(e: ex.Exposition, sample: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for labels in e.series(sample):
        for k, v in labels.items():
            if v and k != "le":
                out.setdefault(k, set()).add(v)
    return out


def _bounds(e: ex.Exposition, histogram: str) -> list[float]:
    """The finite bucket bounds every series of the histogram has."""
    per: dict[tuple[tuple[str, str], ...], set[float]] = {}
    for labels in e.series(histogram + "_bucket"):
        try:
            bound = float(labels.get("le", ""))
        except ValueError:
            continue
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        if bound != float("inf"):
            per.setdefault(key, set()).add(bound)
    sets = list(per.values())
    return sorted(set.intersection(*sets)) if sets else []


def _has(e: ex.Exposition, role: str, name: str) -> bool:
    sample = name + "_bucket" if ROLE_KIND[role] == "histogram" else name
    return sample in e.metric_names()


def _role_name(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) else value


def _preset(e: ex.Exposition) -> presets.Preset | None:
    best: tuple[int, str] | None = None
    for p in presets.PRESETS.values():
        named = {r: _role_name(p.metrics.get(r)) for r in ROLE_KIND if p.metrics.get(r) is not None}
        if not all(_has(e, r, n) for r, n in named.items() if r in REQUIRED and n):
            continue
        score = sum(_has(e, r, n) for r, n in named.items() if n)
        if best is None or score > best[0]:
            best = (score, p.name)
    return presets.PRESETS[best[1]] if best else None


def _first(labels: dict[str, set[str]], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in labels), None)


def _route(labels: dict[str, set[str]]) -> dict[str, str]:
    """The predict route, when the counter also counts other routes (health checks, scrapes)."""
    label = _first(labels, ROUTE_LABELS)
    if label is None or len(labels[label]) < 2:
        return {}
    hits = sorted(v for v in labels[label] if "predict" in v.lower() or "infer" in v.lower())
    if len(hits) == 1:
        return {label: hits[0]}
    return {label: "/predict"} if "/predict" in hits else {}


def _role(name: str, matchers: dict[str, Any] | None = None, counts: str | None = None) -> Any:
    if not matchers and counts is None:
        return name
    out: dict[str, Any] = {"name": name}
    if matchers:
        out["matchers"] = matchers
    if counts:
        out["counts"] = counts
    return out


def _requests(e: ex.Exposition, d: Draft) -> None:
    def score(f: ex.Family) -> tuple[int, str]:
        n = f.name.lower()
        labels = _labels(e, _counter_name(f))
        return (2 * bool(_first(labels, MODEL_LABELS)) + 2 * ("request" in n) + 3 * ("predict" in n)
                + bool(_first(labels, STATUS_LABELS)) + ("success" in n), f.name)

    # Not counts of requests: failures, HTTP status groups, tokens, and time or size sums (µs counters).
    bad = ("error", "fail", "2xx", "4xx", "5xx", "token", "cache", "preempt", "duration", "latency", "time",
           "_us", "second", "byte", "size")
    ok = [f for f in _families(e, "counter") if any(w in f.name.lower() for w in ("request", "predict", "infer"))
          and not any(w in f.name.lower() for w in bad)]
    errs = [f for f in _families(e, "counter") if any(w in f.name.lower() for w in ("error", "fail", "5xx"))]
    req = max(ok, key=lambda f: (score(f)[0], tuple(-ord(c) for c in f.name))) if ok else None
    if req is None:
        d.missing.append("no request counter (a counter named *request*/*prediction*): no availability SLO, "
                         "and ModelDown only from `up`")
        d.roles["requests"] = None
    else:
        name = _counter_name(req)
        labels = _labels(e, name)
        route = _route(labels)
        counts = "successes" if "success" in req.name.lower() else None
        d.roles["requests"] = _role(name, route, counts)
        d.found.append(f"requests: the counter {name}" + (" (successful requests only)" if counts else ""))
        if route:
            d.guessed.append(f"requests, errors and latency are the {next(iter(route.values()))} route's series")
    if errs:
        prefix = _counter_name(req) if req else ""
        err = max(errs, key=lambda f: (len(_common(prefix, f.name)), f.name))
        d.roles["errors"] = _role(_counter_name(err), _route(_labels(e, _counter_name(err))))
        d.found.append(f"errors: the counter {_counter_name(err)}")
        return
    for f in ([req] if req else []) + _families(e, "counter"):
        name = _counter_name(f)
        labels = _labels(e, name)
        status = _first(labels, STATUS_LABELS)
        if status and any(re.fullmatch("5..", v) for v in labels[status]):
            if name == _role_name(d.roles.get("requests")) and isinstance(d.roles["requests"], dict) \
                    and d.roles["requests"].get("counts"):
                continue
            d.roles["errors"] = _role(name, {**_route(labels), status: {"regex": "5.."}})
            d.found.append(f'errors: {name} with {status}=~"5.."')
            return
    d.roles["errors"] = None
    d.missing.append("no error counter (*error*/*fail*, or a status label with 5xx values): no availability SLO")


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _latency(e: ex.Exposition, d: Draft) -> None:
    def score(f: ex.Family) -> int:
        n = f.name.lower()
        return 2 * ("request" in n) + 2 * ("latency" in n) + ("duration" in n) - ("token" in n) - ("queue" in n)

    found = [f for f in _families(e, "histogram") if f.name.endswith("_seconds")
             and any(w in f.name.lower() for w in ("latency", "duration", "time"))
             and not any(w in f.name.lower() for w in ("feature", "confidence", "lag"))]
    if not found:
        others = [f.name for f in _families(e, "histogram") if "latency" in f.name or "duration" in f.name]
        d.roles["latency"] = None
        d.missing.append("no latency histogram in seconds" + (f" ({', '.join(others)} is not in seconds)"
                                                              if others else "") + ": no latency SLO")
        return
    best = max(found, key=lambda f: (score(f), -len(f.name)))
    bounds = [b for b in _bounds(e, best.name) if b > 0 and (b * 1000).is_integer()]
    d.roles["latency"] = _role(best.name, _route(_labels(e, best.name + "_bucket")))
    d.latency_buckets = bounds
    d.found.append(f"latency: the histogram {best.name}, buckets {', '.join(f'{b:g}' for b in bounds)} s")
    if bounds:
        d.threshold = next((b for b in bounds if b >= 0.25), bounds[-1])
        d.guessed.append(f"the latency threshold {d.threshold:g}s (a bucket bound; pick the one you promise)")


def _ml(e: ex.Exposition, d: Draft) -> None:
    hist = _families(e, "histogram")
    conf = [f for f in hist if "confidence" in f.name.lower()]
    d.roles["confidence"] = conf[0].name if conf else None
    if conf:
        d.found.append(f"confidence: the histogram {conf[0].name}")
    else:
        d.missing.append("no confidence histogram: no LowConfidence")
    counters = _families(e, "counter")
    req = _role_name(d.roles.get("requests"))
    ordered = sorted(counters, key=lambda f: _counter_name(f) != req)
    for f in ordered:
        name = _counter_name(f)
        labels = _labels(e, name)
        label = _first(labels, CLASS_LABELS)
        if label and not _first(labels, ACTUAL_LABELS):
            d.roles["predicted_class"] = name
            d.labels["class"] = label
            d.classes = sorted(labels[label])
            d.found.append(f"predicted classes: {name} by {label} ({', '.join(d.classes)})")
            break
    else:
        d.roles["predicted_class"] = None
        d.missing.append("no counter with a class label: no prediction skew")
    truth = [f for f in counters if _first(_labels(e, _counter_name(f)), ACTUAL_LABELS)
             and _first(_labels(e, _counter_name(f)), CLASS_LABELS)]
    if truth:
        labels = _labels(e, _counter_name(truth[0]))
        d.roles["ground_truth"] = _counter_name(truth[0])
        d.labels["actual_class"] = _first(labels, ACTUAL_LABELS)
        d.labels.setdefault("class", _first(labels, CLASS_LABELS))
        d.found.append(f"ground truth: {_counter_name(truth[0])}")
    else:
        d.roles["ground_truth"] = None
        d.missing.append("no ground truth (a counter with predicted and actual class labels): no accuracy SLO")
    lag = [f for f in hist if "lag" in f.name.lower()]
    d.roles["label_lag"] = lag[0].name if lag and truth else None
    trained = [f for f in _families(e, "gauge") if "trained" in f.name.lower()]
    d.roles["trained_at"] = trained[0].name if trained else None
    if not trained:
        d.missing.append("no training-time gauge: no staleness retraining trigger")
    _features(e, d, hist)


def _features(e: ex.Exposition, d: Draft, hist: list[ex.Family]) -> None:
    for role in ("feature_value", "feature_missing", "feature_category", "feature_min", "feature_max"):
        d.roles[role] = None
    seen: dict[str, tuple[str | None, list[float]]] = {}
    for f in hist:
        labels = _labels(e, f.name + "_bucket")
        label = _first(labels, FEATURE_LABELS)
        if label:
            d.roles["feature_value"], d.labels["feature"] = f.name, label
            for v in sorted(labels[label]):
                seen.setdefault(v, (None, []))
        elif "feature" in f.name.lower() and not labels:
            short = re.sub(r"^.*?feature_", "", f.name) or f.name
            seen.setdefault(short, (f.name, _bounds(e, f.name)))
    for f in _families(e, "gauge"):
        labels = _labels(e, f.name)
        label = _first(labels, FEATURE_LABELS)
        for end in ("min", "max"):
            if label and re.search(rf"(^|_){end}($|_)", f.name):
                d.roles[f"feature_{end}"], d.labels["feature"] = f.name, label
                for v in sorted(labels[label]):
                    seen.setdefault(v, (None, []))
    for f in _families(e, "counter"):
        name = _counter_name(f)
        label = _first(_labels(e, name), FEATURE_LABELS)
        if label and "missing" in name:
            d.roles["feature_missing"], d.labels["feature"] = name, label
        elif label and "category" in name:
            d.roles["feature_category"], d.labels["feature"] = name, label
    d.features = [(n, metric, bounds) for n, (metric, bounds) in sorted(seen.items())]
    if d.features:
        d.found.append(f"features: {', '.join(n for n, _, _ in d.features)}")
    else:
        d.missing.append("no feature histograms or min/max gauges: no drift or range alerts")


def _model(e: ex.Exposition, d: Draft) -> None:
    samples = []
    for role, value in d.roles.items():
        name = _role_name(value)
        if name:
            samples.append(name + "_bucket" if ROLE_KIND[role] == "histogram" else name)
    label_sets = [_labels(e, s) for s in samples]
    for label in MODEL_LABELS:
        if label_sets and all(label in ls for ls in label_sets):
            values = sorted(set.intersection(*(ls[label] for ls in label_sets)))
            if values:
                d.model_label, d.model_value = label, values[0]
                d.found.append(f'the model: {label}="{values[0]}"' +
                               (f" (also seen: {', '.join(values[1:])})" if len(values) > 1 else ""))
                break
    else:
        d.guessed.append("nothing labels the model on every metric: the scrape job selects its series")
    req = _role_name(d.roles.get("requests"))
    version = _first(_labels(e, req), VERSION_LABELS) if req else None
    d.labels["version"] = version


def recognise(e: ex.Exposition) -> Draft:
    d = Draft()
    preset = _preset(e)
    if preset is not None:
        d.preset = preset.name
        d.found.append(f"the preset {preset.name}: {preset.title}" + (f". {preset.notes}" if preset.notes else ""))
        for role in ROLE_KIND:
            name = _role_name(preset.metrics.get(role))
            if name and not _has(e, role, name):
                d.roles[role] = None
                d.missing.append(f"no {name}: metrics.{role} is null")
        cls_label = preset.metrics.get("labels", {}).get("class")
        pred = _role_name(preset.metrics.get("predicted_class"))
        if pred and cls_label and d.roles.get("predicted_class", pred) is not None:
            d.classes = sorted(_labels(e, pred).get(cls_label, ()))
        bounds = preset.metrics.get("latency_buckets")
        lat = _role_name(preset.metrics.get("latency"))
        if lat and d.roles.get("latency", lat) is not None:
            have = _bounds(e, lat)
            usable = [b for b in (bounds or have) if b in have and (b * 1000).is_integer()]
            d.threshold = next((b for b in usable if b >= 0.25), usable[-1]) if usable else None
        for role, what in (("confidence", "no confidence histogram: no LowConfidence"),
                           ("ground_truth", "no ground truth: no accuracy SLO")):
            if not _named(d, role):
                d.missing.append(what)
        label = preset.metrics.get("model_label", v1.Metrics.model_fields["model_label"].default)
        req = _role_name(preset.metrics.get("requests"))
        if label and "select" not in preset.metrics and req:  # the preset selects by a model label
            values = sorted(_labels(e, req).get(label, ()))
            if values:
                d.model_label, d.model_value = label, values[0]
                d.found.append(f'the model: {label}="{values[0]}"' +
                               (f" (also seen: {', '.join(values[1:])})" if len(values) > 1 else ""))
        found = Draft()
        _features(e, found, _families(e, "histogram"))
        d.features = [f for f in found.features if f[1] is not None or _named(d, "feature_min")]
        return d
    _requests(e, d)
    _latency(e, d)
    _ml(e, d)
    _model(e, d)
    return d


# ---------------------------------------------------------------- the spec


def _named(d: Draft, role: str) -> str | None:
    """The role's metric in the spec: the draft's own, else its preset's."""
    if role in d.roles:
        return _role_name(d.roles[role])
    return _role_name(presets.PRESETS[d.preset].metrics.get(role)) if d.preset else None


def _metrics(d: Draft) -> dict[str, Any]:
    if d.preset is not None:
        value = {"model_value": d.model_value} if d.model_value is not None else {}
        return {"preset": d.preset, **value, **d.roles}
    out: dict[str, Any] = {}
    if d.model_label is not None:
        out["model_label"], out["model_value"] = d.model_label, d.model_value
    else:
        out["select"] = {}
    labels = {k: v for k, v in d.labels.items() if v is not None or k == "version"}
    if labels:
        out["labels"] = labels
    out.update(d.roles)
    if d.latency_buckets and d.roles.get("latency") is not None:
        out["latency_buckets"] = d.latency_buckets
    return out


def _slos(d: Draft, met: dict[str, Any]) -> dict[str, Any]:
    slos: dict[str, Any] = {}
    if _named(d, "requests") and _named(d, "errors"):
        slos["availability"] = {"objective": 99.9, "period": "30d"}
    if d.threshold is not None and _named(d, "latency"):
        slos["latency"] = {"objective": 99, "period": "30d", "threshold": f"{round(d.threshold * 1000)}ms"}
    if _named(d, "ground_truth"):
        slos["accuracy"] = {"objective": 90, "period": "7d", "min_samples": 100}
    return slos


def _scrape(source: str) -> dict[str, Any] | None:
    parts = urllib.parse.urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    out: dict[str, Any] = {"targets": [f"{host}:{port}"]}
    if parts.path and parts.path != "/metrics":
        out["metrics_path"] = parts.path
    if parts.scheme == "https":
        out["scheme"] = "https"
    return out


def spec_data(name: str, team: str, d: Draft, source: str) -> dict[str, Any]:
    met = _metrics(d)
    data: dict[str, Any] = {"apiVersion": "mlmon/v1", "kind": "ModelMonitor",
                            "metadata": {"name": name, "team": team}}
    data["model"] = {"task": "classification", **({"classes": d.classes} if d.classes else {})}
    scrape = _scrape(source)
    if scrape is not None:
        data["scrape"] = scrape
    data["metrics"] = met
    data["slos"] = _slos(d, met)
    if _named(d, "predicted_class") or _named(d, "confidence"):
        data["predictions"] = {"skew_share": 0.95}
    if _named(d, "ground_truth"):
        data["ground_truth"] = {"no_labels_for": "6h"}
    return data


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=100)


def _bullet(text: str) -> list[str]:
    """One comment bullet, wrapped: a preset's notes run to several sentences."""
    return textwrap.wrap(text, 96, initial_indent="#   - ", subsequent_indent="#     ") or ["#   -"]


def render(name: str, d: Draft, data: dict[str, Any], source: str, dropped: list[str]) -> str:
    lines = [f"# mlmon spec for `{name}`, written by `mlmon init --from-metrics` from {source}.",
             "# Check it against the service, then generate:",
             f"#   mlmon verify --metrics {source} {name}.yaml", "#", "# Found:"]
    lines += [line for x in d.found for line in _bullet(x)] or ["#   - nothing mlmon recognises"]
    if d.guessed:
        lines += ["# Guessed (check these):"] + [f"#   - {x}" for x in d.guessed]
    if d.missing or dropped:
        lines += ["# Not found:"] + [f"#   - {x}" for x in [*d.missing, *dropped]]
    head = {k: data[k] for k in ("apiVersion", "kind", "metadata", "model") if k in data}
    lines.append(_dump(head).rstrip())
    if "scrape" in data:
        lines += ["# Where Prometheus scrapes the service (from the URL given).", _dump({"scrape": data["scrape"]})
                  .rstrip()]
    else:
        lines += ["# Where Prometheus scrapes the service: fill in (the exposition came from a file).",
                  "# scrape:", '#   targets: ["HOST:PORT"]', "#   # or: job: the-existing-scrape-job"]
    lines += ["# The service's metric names; a null role is one it does not expose, and nothing reads it.",
              _dump({"metrics": data["metrics"]}).rstrip()]
    lines += ["# SLOs fitting the metrics found; objectives are starting points.",
              _dump({"slos": data["slos"]}).rstrip() if data["slos"] else "slos: {}"]
    for key in ("predictions", "ground_truth"):
        if key in data:
            lines.append(_dump({key: data[key]}).rstrip())
    if d.features:
        lines += ["# Features need a training baseline. Uncomment, then write one with",
                  f"#   mlmon baseline --data TRAINING.csv --spec {name}.yaml",
                  "# features:"]
        for fname, metric, bounds in d.features:
            extra = []
            if metric:
                extra.append(f"metric: {metric}")
                if bounds:
                    extra.append(f"buckets: [{', '.join(f'{b:g}' for b in bounds)}]")
            lines.append(f"#   {fname}: {{type: numeric{''.join(', ' + x for x in extra)}}}")
    return "\n".join(lines) + "\n"


def _unmet(text: str, path: str, e: ex.Exposition) -> tuple[list[ex.Miss], list[str]]:
    """The needs of the drafted spec its exposition cannot meet, and validation's errors."""
    from mlmon_codegen.cli.verify import as_scraped

    doc, problems = load_text(path, text.encode())
    if doc is None:
        return [], [str(p) for p in problems]
    result, problems = validate_all([doc])
    if problems or not result.fleet.models:
        return [], [str(p) for p in problems]
    labels = {k for f in e.families for s in f.samples for k, _ in s.labels}
    misses = [miss for need in needs(result.fleet.models[0])
              if (miss := ex.unmet(e, as_scraped(need, labels))) is not None]
    return misses, []


def draft(name: str, team: str, e: ex.Exposition, source: str, path: str) -> str:
    """The spec text: recognised, then pruned until every selector it reads finds a series."""
    d = recognise(e)
    dropped: list[str] = []
    for _ in range(8):
        data = spec_data(name, team, d, source)
        text = render(name, d, data, source, dropped)
        misses, errors = _unmet(text, path, e)
        if errors:
            raise SpecError([Problem(path, 0, 0, "", f"mlmon drafted a spec it cannot validate: {errors[0]}",
                                        "please report this with the exposition")])
        if not misses:
            return text
        for miss in misses:
            f = miss.need.field
            if f.startswith("metrics."):
                role = f.split(".", 1)[1]
                if d.roles.get(role, "") is not None:
                    d.roles[role] = None
                    dropped.append(f"{f} set to null: {miss.reason}")
            elif f.startswith("slos.") and f.endswith(".threshold"):
                if d.threshold is not None:
                    d.threshold = None
                    dropped.append(f"no latency SLO: {miss.reason}")
            elif f.startswith("slos."):
                d.roles["ground_truth"] = None
                dropped.append(f"no accuracy SLO: {miss.reason}")
            elif f == "model.classes":
                d.classes = [c for c in d.classes if (d.labels.get("class") or "", "=", c) not in miss.need.matchers]
    raise SpecError([Problem(path, 0, 0, "", "mlmon drafted a spec it cannot verify against the exposition",
                                "please report this with the exposition")])
