"""Render every artifact of a fleet and serialise it; `write_fleet` hands the bytes to write.py.

Most artifacts belong to one model and need only that model and the project: its rule file, unit
tests, dashboard and runbooks, and the optional targets' wrappers of them (`model_artifacts`).
The rest span the fleet: prometheus.yml, the fleet dashboard, Alertmanager, the kustomization
(`fleet_artifacts`). `files` and `write_fleet` render and serialise model by model, spread over forked
worker processes for large fleets, so a thousand models' data is never held at once.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mlmon_codegen.build import manifest
from mlmon_codegen.core import naming, processes
from mlmon_codegen.emit.write import Artifact, claim, new_tree, render_files
from mlmon_codegen.plan import shapes
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import alertmanager, prometheus_config, runbooks
from mlmon_codegen.targets import platforms as generate_platforms
from mlmon_codegen.targets.grafana import dashboards, shared
from mlmon_codegen.targets.rules import rule_file as rules
from mlmon_codegen.targets.rules import unit_tests

# Selected with --target; the default targets (Prometheus, dashboards, runbooks, Alertmanager) always run.
OPTIONAL_TARGETS = generate_platforms.TARGETS
# Below this many models per worker, starting the workers costs more than it saves.
MODELS_PER_WORKER = 25
T = TypeVar("T")


def model_artifacts(model: m.Model, project: m.Project, targets: Sequence[str] = (),
                    tested_with: str | None = None) -> list[Artifact]:
    """`tested_with`: the model of the same shape whose unit tests cover every tier (plan/shapes.py);
    None or the model itself for a full set of tests."""
    plan = plan_rules(model, project)
    tests = unit_tests.render(model, project, plan, tested_with)
    out = [Artifact(naming.rules_file(model.name), rules.to_data(plan), model.source),
           Artifact(naming.unit_test_file(model.name), tests, model.source),
           *([] if project.shared_dashboards else [dashboards.model_artifact(model)])]
    out += runbooks.render_model(model, project, plan)
    rendered = {a.path: a for a in out}
    for name in targets:
        out += OPTIONAL_TARGETS[name].model(model, project, rendered)
    return out


def fleet_artifacts(fleet: m.Fleet, targets: Sequence[str] = (), model_paths: Iterable[str] = ()) -> list[Artifact]:
    """`model_paths`: every per-model path, for the artifacts that list them (the kustomization)."""
    out = [Artifact(prometheus_config.PATH, prometheus_config.render(fleet), fleet.sources),
           *dashboards.fleet_artifacts(fleet),
           *([shared.artifact(fleet)] if fleet.project.shared_dashboards and fleet.models else []),
           *runbooks.shared_artifacts(fleet),
           *alertmanager.artifacts(fleet)]  # nothing when the project has no `alertmanager:` section
    rendered = {a.path: a for a in out}
    paths = sorted([*model_paths, *rendered])
    for name in targets:
        out += OPTIONAL_TARGETS[name].fleet(fleet, rendered, paths)
    return out


def render_all(fleet: m.Fleet, targets: Sequence[str] = ()) -> list[Artifact]:
    """Every artifact as data, for callers that inspect it; `files` is the fast path to bytes."""
    reps = shapes.tested_with(fleet)
    per_model = [a for x in fleet.models for a in model_artifacts(x, fleet.project, targets, reps[x.name])]
    return per_model + fleet_artifacts(fleet, targets, [a.path for a in per_model])


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# What a forked worker runs per model: inherited from the parent with the fleet, never pickled.
_WORKER_TASK: Callable[[int], Any] | None = None


def _worker_init(task: Callable[[int], Any]) -> None:
    global _WORKER_TASK
    _WORKER_TASK = task
    processes.die_with_parent()  # a killed generate must not leave workers writing into its new tree
    gc.freeze()  # the inherited spec objects are long-lived: keep collections off them (and their pages)
    # Each model's data is dropped once serialised, and holds no cycles: collect a tenth as often
    # (7% of a worker's time went to collections).
    gc.set_threshold(100_000, 50, 100)


def _run_task(index: int) -> Any:
    assert _WORKER_TASK is not None
    return _WORKER_TASK(index)


def _per_model(fleet: m.Fleet, task: Callable[[int], T], jobs: int | None,
               indices: Sequence[int] | None = None) -> Iterator[T]:
    """task(i) for every model index (or those given), in order: in forked workers when there are
    enough. Only the results travel between processes, so a task should return little (paths,
    not data)."""
    todo = range(len(fleet.models)) if indices is None else indices
    jobs = min(jobs or default_jobs(), len(todo) // MODELS_PER_WORKER)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(jobs, _worker_init, (task,)) as pool:
            yield from pool.imap(_run_task, todo, chunksize=8)
    else:
        yield from map(task, todo)


def _model_files(fleet: m.Fleet, targets: Sequence[str], index: int) -> dict[str, bytes]:
    model = fleet.models[index]
    return render_files(model_artifacts(model, fleet.project, targets, shapes.tested_with(fleet)[model.name]))


def files(fleet: m.Fleet, targets: Sequence[str] = (), jobs: int | None = None) -> dict[str, bytes]:
    """Every artifact serialised, path → bytes, sorted by path. The same bytes for any `jobs`."""
    out: dict[str, bytes] = {}
    claimed: set[str] = set()
    for chunk in _per_model(fleet, functools.partial(_model_files, fleet, targets), jobs):
        claim(claimed, chunk)
        out.update(chunk)
    fleet_files = render_files(fleet_artifacts(fleet, targets, list(out)))
    claim(claimed, fleet_files)
    return dict(sorted({**out, **fleet_files}.items()))


def write_fleet(fleet: m.Fleet, out: Path, targets: Sequence[str] = (), jobs: int | None = None,
                ) -> tuple[list[str], list[str]]:
    """Render into OUT: each model's files are written where they are rendered (a worker, for a
    large fleet), into a new tree that replaces OUT only once complete. The same bytes as `files`.
    Returns (paths written, files in OUT mlmon did not write and kept)."""
    with new_tree(out) as tree:
        def task(i: int) -> list[str]:
            return tree.put(_model_files(fleet, targets, i))

        paths: list[str] = []
        for chunk in _per_model(fleet, task, jobs):
            tree.claim(chunk)
            paths.extend(chunk)
        tree.claim(tree.put(render_files(fleet_artifacts(fleet, targets, paths))))
    return tree.written, tree.kept


@dataclass(frozen=True)
class Report:
    """What `write_incremental` did. Counts are of files; `rendered` of models."""

    written: list[str]
    kept: list[str]
    added: int
    changed: int
    removed: int
    unchanged: int
    rendered: int
    note: str | None  # why every model was rendered, when a manifest was there but unusable


def write_incremental(fleet: m.Fleet, out: Path, targets: Sequence[str], inputs: Mapping[str, str],
                      jobs: int | None = None) -> Report:
    """`write_fleet`, rendering only the models whose inputs changed since OUT's manifest was
    written (build/manifest.py): the others' files are linked from the previous tree unread. The
    same bytes as `write_fleet`, and the new manifest is swapped in with the tree."""
    k = manifest.keys(fleet, targets, inputs)
    with new_tree(out) as tree:
        body, why = manifest.read(out)  # under OUT's lock, which new_tree holds
        note = f"{why}: rendering every model" if why else None
        old = manifest.recorded(body) if body is not None else {}
        stats = manifest.load_stats(out, body["checksum"]) if body is not None else {}
        keys_then = {**{n: e["key"] for n, e in body["models"].items()}, manifest.FLEET: body["fleet"]["key"]} \
            if body is not None else {}

        seen: dict[str, list[int]] = {}  # the stats of the files carried over, for the next run's cache

        def reusable(name: str, key: str) -> bool:
            return keys_then.get(name) == key and manifest.holds(out, old[name], stats, seen)

        produced: dict[str, manifest.Files] = {}
        status: dict[str, str] = {}
        todo: list[int] = []
        for i, x in enumerate(fleet.models):
            if reusable(x.name, k.models[x.name]):
                tree.link_old(old[x.name])
                tree.claim(old[x.name])
                produced[x.name] = old[x.name]
            else:
                todo.append(i)

        def task(i: int) -> tuple[str, dict[str, tuple[str, int, str]]]:
            return fleet.models[i].name, tree.put_files(_model_files(fleet, targets, i))

        for name, put in _per_model(fleet, task, jobs, todo):
            tree.claim(put)
            produced[name] = {p: [size, sha] for p, (_, size, sha) in put.items()}
            status.update((p, st) for p, (st, _, _) in put.items())
        if reusable(manifest.FLEET, k.fleet):
            tree.link_old(old[manifest.FLEET])
            tree.claim(old[manifest.FLEET])
            produced[manifest.FLEET] = old[manifest.FLEET]
        else:
            model_paths = [p for x in fleet.models for p in produced[x.name]]
            put = tree.put_files(render_files(fleet_artifacts(fleet, targets, model_paths)))
            tree.claim(put)
            produced[manifest.FLEET] = {p: [size, sha] for p, (_, size, sha) in put.items()}
            status.update((p, st) for p, (st, _, _) in put.items())
        tree.index, checksum = manifest.dump(targets, fleet.project.targets, fleet.project.templates_dir, inputs,
                                             k, produced)
        paths = [p for files_ in produced.values() for p in files_]
        linked = {p: seen[p] for name, files_ in produced.items() if files_ is old.get(name)
                  for p in files_ if p in seen}
        tree.after_swap = functools.partial(manifest.save_stats, out, checksum, paths, linked)
    counts = {st: sum(1 for v in status.values() if v == st) for st in ("added", "changed", "unchanged")}
    return Report(tree.written, tree.kept, counts["added"], counts["changed"], len(tree.removed),
                  len(tree.written) - counts["added"] - counts["changed"], len(todo), note)
