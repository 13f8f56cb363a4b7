"""Optional targets for engines beyond one Prometheus: `kubernetes`, `mimir`, `thanos`. No I/O."""

from __future__ import annotations

from collections.abc import Callable

from mlmon_codegen import model as m
from mlmon_codegen.plan import naming
from mlmon_codegen.targets import dashboards
from mlmon_codegen.targets import kubernetes as k8s
from mlmon_codegen.targets import kubernetes_extras as extras
from mlmon_codegen.targets import mimir as ruler
from mlmon_codegen.write import Artifact


def _sources(fleet: m.Fleet) -> str:
    return ", ".join(sorted({fleet.project.source, *(x.source for x in fleet.models)} - {"(defaults)"}))


def kubernetes(fleet: m.Fleet) -> list[Artifact]:
    by_model = {naming.k8s_name(x.name): x.source for x in fleet.models}
    out = [Artifact(k8s.path(obj), obj, by_model.get(obj["metadata"]["name"], _sources(fleet)))
           for obj in k8s.objects(fleet)]
    out += [Artifact(k8s.path(obj), obj, fleet.project.source) for obj in extras.alertmanager_configs(fleet)]
    boards = dashboards.render(fleet)
    out += [Artifact(k8s.path(obj), obj, board.source)
            for obj, board in zip(extras.dashboard_configmaps(fleet, boards), boards, strict=True)]
    out.append(Artifact(naming.KUSTOMIZATION_FILE, k8s.kustomization([a.path for a in out]), _sources(fleet)))
    return out


def mimir(fleet: m.Fleet) -> list[Artifact]:
    return [Artifact(naming.mimir_rules_file(x.name), ruler.mimir_rules(x, fleet.project), x.source)
            for x in fleet.models]


def thanos(fleet: m.Fleet) -> list[Artifact]:
    return [Artifact(naming.thanos_rules_file(x.name), ruler.thanos_rules(x, fleet.project), x.source)
            for x in fleet.models]


TARGETS: dict[str, Callable[[m.Fleet], list[Artifact]]] = {
    "kubernetes": kubernetes, "mimir": mimir, "thanos": thanos,
}
