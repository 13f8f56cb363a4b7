"""Render every artifact of a fleet and serialise it. No file I/O.

Most artifacts belong to one model and need only that model and the project: its rule file, unit
tests, dashboard and runbooks, and the optional targets' wrappers of them (`model_artifacts`).
The rest span the fleet: prometheus.yml, the fleet dashboard, Alertmanager, the kustomization
(`fleet_artifacts`). `files` renders and serialises model by model, spread over worker processes
for large fleets, so a thousand models' data is never held at once.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence

from mlmon_codegen import generate_platforms
from mlmon_codegen import model as m
from mlmon_codegen.plan import naming
from mlmon_codegen.targets import alertmanager, dashboards, prometheus_config, rules, runbooks, unit_tests
from mlmon_codegen.write import Artifact, WriteError, render_files

# Selected with --target; the default targets (Prometheus, dashboards, runbooks, Alertmanager) always run.
OPTIONAL_TARGETS = generate_platforms.TARGETS
# Below this many models per worker, starting the workers costs more than it saves.
MODELS_PER_WORKER = 25


def model_artifacts(model: m.Model, project: m.Project, targets: Sequence[str] = ()) -> list[Artifact]:
    rule_file = rules.render(model, project)
    out = [Artifact(naming.rules_file(model.name), rule_file, model.source),
           Artifact(naming.unit_test_file(model.name), unit_tests.render(model, project, rule_file), model.source),
           dashboards.model_artifact(model)]
    # Runbooks document each alert exactly as the rule file writes it, so they read that file.
    out += runbooks.render_model(model, project, rule_file)
    rendered = {a.path: a for a in out}
    for name in targets:
        out += OPTIONAL_TARGETS[name].model(model, project, rendered)
    return out


def fleet_artifacts(fleet: m.Fleet, targets: Sequence[str] = (), model_paths: Iterable[str] = ()) -> list[Artifact]:
    """`model_paths`: every per-model path, for the artifacts that list them (the kustomization)."""
    out = [Artifact(prometheus_config.PATH, prometheus_config.render(fleet), generate_platforms.fleet_sources(fleet)),
           *dashboards.fleet_artifacts(fleet),
           *alertmanager.artifacts(fleet)]  # nothing when the project has no `alertmanager:` section
    rendered = {a.path: a for a in out}
    paths = sorted([*model_paths, *rendered])
    for name in targets:
        out += OPTIONAL_TARGETS[name].fleet(fleet, rendered, paths)
    return out


def render_all(fleet: m.Fleet, targets: Sequence[str] = ()) -> list[Artifact]:
    """Every artifact as data, for callers that inspect it; `files` is the fast path to bytes."""
    per_model = [a for x in fleet.models for a in model_artifacts(x, fleet.project, targets)]
    return per_model + fleet_artifacts(fleet, targets, [a.path for a in per_model])


# The fleet a forked worker renders from: inherited from the parent, never pickled.
_WORKER_FLEET: tuple[m.Fleet, Sequence[str]] | None = None


def _worker_init(fleet: m.Fleet, targets: Sequence[str]) -> None:
    global _WORKER_FLEET
    _WORKER_FLEET = (fleet, targets)
    gc.freeze()  # the inherited spec objects are long-lived: keep collections off them (and their pages)
    # Each model's data is dropped once serialised, and holds no cycles: collect a tenth as often
    # (7% of a worker's time went to collections).
    gc.set_threshold(100_000, 50, 100)


def _model_files(index: int) -> dict[str, bytes]:
    assert _WORKER_FLEET is not None
    fleet, targets = _WORKER_FLEET
    return render_files(model_artifacts(fleet.models[index], fleet.project, targets))


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def files_by_model(fleet: m.Fleet, targets: Sequence[str] = (), jobs: int | None = None,
                   ) -> Iterator[dict[str, bytes]]:
    """Every artifact serialised, one model's files at a time, in fleet order, then the fleet-wide
    ones. A consumer (the writer) works while the workers render the next models."""
    jobs = min(jobs or default_jobs(), len(fleet.models) // MODELS_PER_WORKER)
    paths: list[str] = []
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")  # workers inherit the validated fleet
        with ctx.Pool(jobs, _worker_init, (fleet, targets)) as pool:
            for chunk in pool.imap(_model_files, range(len(fleet.models)), chunksize=8):
                paths.extend(chunk)
                yield chunk
    else:
        for x in fleet.models:
            chunk = render_files(model_artifacts(x, fleet.project, targets))
            paths.extend(chunk)
            yield chunk
    yield render_files(fleet_artifacts(fleet, targets, paths))


def files(fleet: m.Fleet, targets: Sequence[str] = (), jobs: int | None = None) -> dict[str, bytes]:
    """Every artifact serialised, path → bytes, sorted by path. The same bytes for any `jobs`."""
    out: dict[str, bytes] = {}
    for chunk in files_by_model(fleet, targets, jobs):
        for path, content in chunk.items():
            if path in out:
                raise WriteError(f"two artifacts claim {path}")
            out[path] = content
    return dict(sorted(out.items()))
