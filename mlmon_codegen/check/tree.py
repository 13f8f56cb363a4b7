"""`mlmon check OUT`: run the real promtool (and amtool) over a generated tree."""

from __future__ import annotations

import dataclasses
import glob
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from mlmon_codegen.check import amtool, compat, promtool
from mlmon_codegen.check import dashboards as dashboard_check
from mlmon_codegen.check import rulers as ruler_check
from mlmon_codegen.check import secrets as secret_scan
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.emit import yaml_emit

K8S_MISSING = "field kubernetes_sd_configs not found"
# The API server refuses an object over 1 MiB (etcd's limit). Client-side `kubectl apply`, and GitOps
# tools that use it, also copy the whole object into an annotation capped at 256 KiB: a large
# dashboard ConfigMap or PrometheusRule then applies only server-side.
K8S_OBJECT_MAX = 1_048_576
K8S_CLIENT_SIDE_APPLY_MAX = 262_144


def _without_kubernetes_sd(config: Path, into: Path) -> Path:
    """A copy of the config whose Kubernetes discovery is a static placeholder.

    Debian's Prometheus is built without Kubernetes discovery, so its promtool rejects the
    field outright. Everything else in those jobs (relabelling, paths) still gets
    checked this way; the Kubernetes target validates the discovery block itself.
    """
    data = yaml.safe_load(config.read_text())
    for job in data.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["kubernetes-sd-placeholder:80"]}]
    data["rule_files"] = [str((config.parent / f).resolve()) for f in data.get("rule_files") or []]
    copy = into / "prometheus.yml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def listed_rule_files(config: Path) -> tuple[list[Path], list[str]]:
    """The files the config's `rule_files` globs match, as Prometheus resolves them (relative to the
    config's folder), and the entries that match none: `check config --syntax-only` reads neither."""
    try:
        data = yaml.safe_load(config.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None  # promtool check config says what is wrong with it
    entries = data.get("rule_files") if isinstance(data, dict) else None
    found: set[Path] = set()
    unmatched = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, str):
            continue  # not a path: promtool check config rejects it
        pattern = entry if Path(entry).is_absolute() else str(config.parent / entry)
        matched = [Path(p) for p in glob.glob(pattern) if Path(p).is_file()]
        found.update(matched)
        if not matched:
            unmatched.append(entry)
    return sorted(found), unmatched


def check_config(config: Path) -> Run:
    run = promtool.check_config(config)
    if not run.ok and K8S_MISSING in run.output:
        with tempfile.TemporaryDirectory() as tmp:
            retry = promtool.check_config(_without_kubernetes_sd(config, Path(tmp)))
        note = "(this promtool lacks Kubernetes discovery; checked with kubernetes_sd_configs as static)"
        run = Run(run.command, retry.ok, retry.output, note, warning=True, seconds=retry.seconds)
    _, unmatched = listed_rule_files(config)
    if not unmatched:
        return run
    missing = "\n".join(f"{config}: rule_files entry {e!r} matches no file" for e in unmatched)
    return dataclasses.replace(run, ok=False, output="\n".join(filter(None, [run.output, missing])))


def check_kubernetes_sizes(out: Path) -> list[Run]:
    """Each object under kubernetes/ as the API server stores it (compact JSON): over 1 MiB fails;
    over 256 KiB passes with a note to apply it server-side."""
    files = sorted((out / "kubernetes").rglob("*.yaml"))
    if not files:
        return []
    sizes = {p.relative_to(out).as_posix(): len(json.dumps(yaml.load(p.read_bytes(), Loader=yaml_emit.LOADER),
                                                          separators=(",", ":"), ensure_ascii=False).encode())
             for p in files}
    too_big = [f"{p}: {n:,} bytes, over the API server's {K8S_OBJECT_MAX:,}" for p, n in sizes.items()
               if n > K8S_OBJECT_MAX]
    large = [p for p, n in sizes.items() if K8S_CLIENT_SIDE_APPLY_MAX < n <= K8S_OBJECT_MAX]
    note = (f"({len(files)} objects; {len(large)} over 256 KiB: apply them server-side, e.g. "
            "`kubectl apply --server-side`)" if large else f"({len(files)} objects, each under 256 KiB)")
    hint = "split the model's features across specs, or drop `--target kubernetes` for its dashboard"
    return [Run(["kubernetes", "object", "sizes"], not too_big, "\n".join([*too_big, hint] if too_big else []), note,
                warning=bool(large))]


ENGINES = ("promtool", "amtool")


def engine_versions() -> dict[str, str]:
    """The version of each engine tool on PATH, by tool; a missing tool is left out."""
    found = {tool: promtool.version(tool) for tool in ENGINES}
    return {tool: v for tool, v in found.items() if v is not None}


def versions_line(versions: dict[str, str]) -> str:
    return ", ".join(f"{tool} {v}" for tool, v in versions.items())


Step = tuple[str, Callable[[], list[Run]]]  # the name a progress line shows, and the step itself


def _within(out: Path, paths: list[Path], only: frozenset[str] | None) -> list[Path]:
    if only is None:
        return paths
    root = out.resolve()
    return [p for p in paths if p.resolve().is_relative_to(root) and p.resolve().relative_to(root).as_posix() in only]


def steps(out: Path, only: frozenset[str] | None = None) -> list[Step]:
    """Every check that applies to the tree but the secret scan, in report order; none depends on another.
    `only`: the files (relative to OUT) the per-model checks read; None for all. The fleet-wide
    checks read every model and always run whole; unchanged dashboards are read for their uids."""
    found: list[Step] = []
    config = out / "prometheus" / "prometheus.yml"
    if config.exists():
        found.append(("promtool check config", lambda: [check_config(config)]))
    # Every rule file of the folder, and any other the config lists (check config no longer reads them).
    listed = listed_rule_files(config)[0] if config.exists() else []
    rule_files = _within(out, sorted({*(out / "prometheus" / "rules").glob("*.yml"), *listed}), only)
    if rule_files:
        found.append(("promtool check rules", lambda: [promtool.check_rules(rule_files)]))
        found.append((compat.STEP, lambda: compat.check_files(rule_files, out)))
    test_files = _within(out, sorted((out / "tests").glob("*.test.yml")), only)
    if test_files:
        found.append(("promtool test rules", lambda: [promtool.test_rules(test_files)]))
    folder = out / "grafana" / "dashboards"
    chosen = None if only is None else {Path(p).name for p in only if (out / p).parent == folder}
    found.append(("grafana dashboards", lambda: dashboard_check.check_folder(folder, chosen)))
    # check-config and every case of tests/alertmanager-routes.yml
    found.append(("amtool", lambda: amtool.check_tree(out)))
    # rules inside kubernetes/, mimir/, thanos/ (--target)
    found.append(("promtool check rules (rulers)", lambda: ruler_check.check_tree(out)))
    found.append(("kubernetes object sizes", lambda: check_kubernetes_sizes(out)))
    return found


def _timed(step: Step, on_start: Callable[[str], None] | None) -> list[Run]:
    name, fn = step
    if on_start:
        on_start(name)
    start = time.perf_counter()
    runs = fn()
    seconds = time.perf_counter() - start
    # A Run its tool timed keeps that time; the step's wall time goes to the rest.
    return [r if r.seconds is not None else dataclasses.replace(r, seconds=seconds) for r in runs]


def check_tree(out: Path, on_start: Callable[[str], None] | None = None,
               only: frozenset[str] | None = None) -> list[Run]:
    """Every step of `mlmon check`, run side by side (each waits mostly on promtool or amtool, whose
    processes promtool.run bounds to the CPU count) and reported in a fixed order whatever finished
    first. on_start(name) is called as each step begins; `only` as for `steps`."""
    todo = [*steps(out, only), ("mlmon scan-secrets", lambda: [secret_scan.run(out, only)])]
    # The scan is pure Python: beside the others it uses the CPU time promtool leaves idle.
    results = promtool.in_parallel(lambda s: _timed(s, on_start), todo)
    runs = [r for step_runs in results[:-1] for r in step_runs]
    # A generated tree must hold no secrets, whatever the specs said; a folder with nothing else
    # to check is no generated tree, and "nothing to check" is its report.
    return [*runs, *results[-1]] if runs else []
