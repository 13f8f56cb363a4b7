"""Optional targets for engines beyond one Prometheus: `kubernetes`, `mimir`, `thanos`. No I/O.

Each wraps what the default targets already rendered (rule files, dashboards) for another engine,
so nothing is rendered twice. Like generate.py, each target has a per-model half, given that
model's artifacts, and a fleet-wide half, given the fleet-wide artifacts and every path written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from mlmon_codegen.core import naming
from mlmon_codegen.emit.artifact import Artifact
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets.kubernetes import alertmanager_config as extras
from mlmon_codegen.targets.kubernetes import objects as k8s
from mlmon_codegen.targets.rules import rulers as ruler

Rendered = Mapping[str, Artifact]  # artifacts rendered so far, by path


class Target(NamedTuple):
    model: Callable[[m.Model, m.Project, Rendered], list[Artifact]]
    fleet: Callable[[m.Fleet, Rendered, Sequence[str]], list[Artifact]]


def _rule_file(model: m.Model, rendered: Rendered) -> dict[str, Any]:
    data: dict[str, Any] = rendered[naming.rules_file(model.name)].data
    return data


def _k8s(obj: dict[str, Any], source: str) -> Artifact:
    return Artifact(k8s.path(obj), obj, source)


def kubernetes_model(model: m.Model, project: m.Project, rendered: Rendered) -> list[Artifact]:
    out = [_k8s(k8s.prometheus_rule(model, project, _rule_file(model, rendered)), model.source),
           _k8s(k8s.monitor(model, project), model.source)]
    board = rendered.get(naming.dashboard_file(model.name))  # none with `dashboards: shared`
    return out + ([_k8s(extras.dashboard_configmap(project, board), model.source)] if board else [])


def kubernetes_fleet(fleet: m.Fleet, rendered: Rendered, paths: Sequence[str]) -> list[Artifact]:
    out = [_k8s(obj, fleet.project.source) for obj in extras.alertmanager_configs(fleet)]
    for path in (naming.MODEL_DASHBOARD_FILE, naming.FLEET_DASHBOARD_FILE):  # the shared one and the fleet's
        if path in rendered:
            board = rendered[path]
            out.append(_k8s(extras.dashboard_configmap(fleet.project, board), board.source))
    resources = [p for p in paths if p.startswith(naming.K8S_DIR)] + [a.path for a in out]
    out.append(Artifact(naming.KUSTOMIZATION_FILE, k8s.kustomization(resources), fleet.sources))
    return out


def mimir_model(model: m.Model, project: m.Project, rendered: Rendered) -> list[Artifact]:
    data = ruler.mimir_rules(model, project, _rule_file(model, rendered))
    return [Artifact(naming.mimir_rules_file(model.name), data, model.source)]


def thanos_model(model: m.Model, project: m.Project, rendered: Rendered) -> list[Artifact]:
    data = ruler.thanos_rules(project, _rule_file(model, rendered))
    return [Artifact(naming.thanos_rules_file(model.name), data, model.source)]


def _nothing(fleet: m.Fleet, rendered: Rendered, paths: Sequence[str]) -> list[Artifact]:
    return []


TARGETS: dict[str, Target] = {
    "kubernetes": Target(kubernetes_model, kubernetes_fleet),
    "mimir": Target(mimir_model, _nothing),
    "thanos": Target(thanos_model, _nothing),
}
