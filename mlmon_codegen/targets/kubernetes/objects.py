"""`--target kubernetes`: the same monitoring as prometheus-operator objects, as plain data.

One PrometheusRule per model (the rule groups targets/rules/rule_file.py rendered, unchanged), one PodMonitor
or ServiceMonitor per model in place of its scrape job, and a kustomization over them. The
namespace and the labels the operator's selectors match come from the project's `kubernetes:`.
"""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.spec import model as m

MONITORING_V1 = "monitoring.coreos.com/v1"
MONITORING_V1ALPHA1 = "monitoring.coreos.com/v1alpha1"
MANAGED_BY = ("app.kubernetes.io/managed-by", "mlmon")
# The label a static-target model's Service must carry: such specs name no Kubernetes selector.
DEFAULT_SERVICE_LABEL = "app.kubernetes.io/name"


def metadata(name: str, namespace: str, labels: tuple[tuple[str, str], ...], model: str | None = None,
             ) -> dict[str, Any]:
    all_labels = dict([MANAGED_BY, *labels])
    if model is not None:
        all_labels["mlmon.io/model"] = model
    return {"name": name, "namespace": namespace, "labels": dict(sorted(all_labels.items()))}


def prometheus_rule(model: m.Model, project: m.Project, rule_file: dict[str, Any]) -> dict[str, Any]:
    """`rule_file` is the model's rendered rules (targets/rules/rule_file.py), reused rather than rendered again."""
    k = project.kubernetes
    return {
        "apiVersion": MONITORING_V1, "kind": "PrometheusRule",
        "metadata": metadata(naming.k8s_name(model.name), k.namespace, k.rule_labels, model.name),
        "spec": rule_file,
    }


def _endpoint(model: m.Model, project: m.Project, port: str | None) -> dict[str, Any]:
    ep: dict[str, Any] = {}
    if port:
        ep["port"] = port
    ep["path"] = model.scrape.metrics_path
    ep["scheme"] = model.scrape.scheme
    ep["interval"] = format_ms(model.scrape.interval_ms)
    if model.scrape.timeout_ms:
        ep["scrapeTimeout"] = format_ms(model.scrape.timeout_ms)
    # The rules select `up{job="mlmon-<model>"}`, as with the plain target; the operator would
    # otherwise name the job after the Service or the monitor.
    ep["relabelings"] = [{"action": "replace", "targetLabel": "job", "replacement": naming.job(model.name)}]
    return ep


def monitor(model: m.Model, project: m.Project) -> dict[str, Any]:
    """PodMonitor for `role: pod`, ServiceMonitor for `role: endpoints` and for static targets."""
    k = project.kubernetes
    scrape = model.scrape.kubernetes
    if scrape is not None:
        selector = dict(scrape.selector)
        namespaces = list(scrape.namespaces)
        pod = scrape.role == "pod"
        port = scrape.port
    else:
        selector, namespaces, pod, port = {DEFAULT_SERVICE_LABEL: model.name}, [], False, None
    spec: dict[str, Any] = {"selector": {"matchLabels": selector}}
    if namespaces:
        spec["namespaceSelector"] = {"matchNames": namespaces}
    spec["podMetricsEndpoints" if pod else "endpoints"] = [_endpoint(model, project, port)]
    return {
        "apiVersion": MONITORING_V1, "kind": "PodMonitor" if pod else "ServiceMonitor",
        "metadata": metadata(naming.k8s_name(model.name), k.namespace, k.monitor_labels, model.name),
        "spec": spec,
    }


def kustomization(paths: list[str]) -> dict[str, Any]:
    """Over every generated object; paths relative to the kustomization file, sorted."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": sorted(p.removeprefix(naming.K8S_DIR) for p in paths),
    }


def path(obj: dict[str, Any]) -> str:
    return naming.k8s_file(obj["kind"], obj["metadata"]["name"])
