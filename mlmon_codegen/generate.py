"""Render every artifact of a fleet: the model in, a list of (path, data) out. No I/O."""

from __future__ import annotations

from collections.abc import Callable

from mlmon_codegen import generate_platforms
from mlmon_codegen import model as m
from mlmon_codegen.plan import naming
from mlmon_codegen.targets import alertmanager, dashboards, prometheus_config, rules, runbooks, unit_tests
from mlmon_codegen.write import Artifact


def _sources(fleet: m.Fleet) -> str:
    return ", ".join(sorted({fleet.project.source, *(x.source for x in fleet.models)} - {"(defaults)"}))


def prometheus(fleet: m.Fleet) -> list[Artifact]:
    p = fleet.project
    out = [Artifact(prometheus_config.PATH, prometheus_config.render(fleet), _sources(fleet))]
    for model in fleet.models:
        out.append(Artifact(naming.rules_file(model.name), rules.render(model, p), model.source))
        out.append(Artifact(naming.unit_test_file(model.name), unit_tests.render(model, p), model.source))
    return out


# Targets written by default, and those selected with --target. Each is a function of the fleet.
DEFAULT_TARGETS: dict[str, Callable[[m.Fleet], list[Artifact]]] = {
    "prometheus": prometheus,
    "dashboards": dashboards.render,
    "alertmanager": alertmanager.artifacts,  # nothing when the project has no `alertmanager:` section
}
OPTIONAL_TARGETS: dict[str, Callable[[m.Fleet], list[Artifact]]] = {
    **generate_platforms.TARGETS,  # kubernetes, mimir, thanos
}


def render_all(fleet: m.Fleet, extra_targets: tuple[str, ...] = ()) -> list[Artifact]:
    artifacts: list[Artifact] = []
    for fn in DEFAULT_TARGETS.values():
        artifacts.extend(fn(fleet))
    # Runbooks document every alert the other targets wrote, so they are read from those artifacts
    # rather than rendered again.
    artifacts.extend(runbooks.render_all(fleet, artifacts))
    for name in extra_targets:
        artifacts.extend(OPTIONAL_TARGETS[name](fleet))
    return artifacts
