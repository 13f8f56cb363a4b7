"""prometheus/prometheus.yml: global settings, one scrape job per model mlmon scrapes, rule files, alerting."""

from __future__ import annotations

import re
from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.spec import model as m

PATH = naming.PROMETHEUS_CONFIG


def _meta_label(role: str, key: str) -> str:
    """Kubernetes label key → the discovery meta label Prometheus sets for it."""
    return f"__meta_kubernetes_{role}_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def _kubernetes(k8s: m.KubernetesScrape) -> dict[str, Any]:
    sd: dict[str, Any] = {"role": k8s.role}
    if k8s.namespaces:
        sd["namespaces"] = {"names": list(k8s.namespaces)}
    obj = "pod" if k8s.role == "pod" else "service"
    relabel: list[dict[str, Any]] = [
        {"source_labels": [_meta_label(obj, key)], "regex": q.regex_escape(value), "action": "keep"}
        for key, value in k8s.selector
    ]
    if k8s.port:
        port_label = ("__meta_kubernetes_pod_container_port_name" if k8s.role == "pod"
                      else "__meta_kubernetes_endpoint_port_name")
        relabel.append({"source_labels": [port_label], "regex": q.regex_escape(k8s.port), "action": "keep"})
    relabel += [
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    ]
    return {"kubernetes_sd_configs": [sd], "relabel_configs": relabel}


def scrape_job(model: m.Model, project: m.Project) -> dict[str, Any]:
    job: dict[str, Any] = {"job_name": naming.job(model.name)}
    if model.scrape.interval_ms != project.scrape_interval_ms:
        job["scrape_interval"] = format_ms(model.scrape.interval_ms)
    timeout = model.scrape.timeout_ms
    if timeout is None and project.scrape_timeout_ms and project.scrape_timeout_ms > model.scrape.interval_ms:
        timeout = model.scrape.interval_ms  # a global timeout may not exceed a faster job's interval
    if timeout:
        job["scrape_timeout"] = format_ms(timeout)
    job["metrics_path"] = model.scrape.metrics_path
    job["scheme"] = model.scrape.scheme
    if model.scrape.kubernetes:
        job.update(_kubernetes(model.scrape.kubernetes))
    else:
        job["static_configs"] = [{"targets": list(model.scrape.targets)}]
    return job


def render(fleet: m.Fleet) -> dict[str, Any]:
    p = fleet.project
    glob: dict[str, Any] = {
        "scrape_interval": format_ms(p.scrape_interval_ms),
        "evaluation_interval": format_ms(p.evaluation_interval_ms),
    }
    if p.scrape_timeout_ms:
        glob["scrape_timeout"] = format_ms(p.scrape_timeout_ms)
    if p.external_labels:
        glob["external_labels"] = dict(p.external_labels)
    return {
        "global": glob,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(p.alertmanagers)}]}]},
        # Relative to this file, which is how Prometheus resolves rule_files.
        "rule_files": [naming.from_prometheus_config(naming.rules_file(model.name)) for model in fleet.models],
        # A model collected by an existing job (scrape.job, or no scrape section) gets no job here.
        "scrape_configs": [scrape_job(model, p) for model in fleet.models if model.scrape.own_job],
    }
