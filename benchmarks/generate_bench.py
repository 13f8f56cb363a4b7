"""Generation speed: N synthetic model specs → every default artifact, against a libyaml floor.

The floor is the least any generator must do: parse the same spec files with libyaml and dump
the same amount of YAML with libyaml. Prints seconds per model and the ratio to the floor.
Run: .venv/bin/python benchmarks/generate_bench.py [N ...] [--core | --all-targets] [--jobs J]   (default 10 100 1000)
`--jobs` is `mlmon generate --jobs` (default: one worker per CPU); `--core` renders in one process.
`--incremental`: instead, as `mlmon generate` does it, a full render into an empty OUT, then one
spec changed and generated again, then `generate --check` with nothing changed, each beside the full.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mlmon_codegen.build import cache, generate, manifest
from mlmon_codegen.cli.load import findings, with_project
from mlmon_codegen.core import naming
from mlmon_codegen.emit.write import Artifact, render_files, write_tree
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets import prometheus_config
from mlmon_codegen.targets.rules import rule_file as rules
from mlmon_codegen.targets.rules import unit_tests

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: model-{i:04d}, team: team-{team}}}
model: {{task: classification, classes: [a, b, c]}}
scrape: {{targets: ["model-{i:04d}:8000"]}}
slos:
  availability: {{objective: 99.9, period: 30d}}
  latency: {{objective: 99, threshold: 250ms}}
  accuracy: {{objective: 95, period: 7d}}
"""


def _write_specs(folder: Path, n: int) -> None:
    for i in range(n):
        (folder / f"model-{i:04d}.yaml").write_text(SPEC.format(i=i, team=i % 7))


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _best_phases(fn, repeat: int) -> list[float]:
    """The run with the least total time, as its phases' seconds."""
    return min((fn() for _ in range(repeat)), key=sum)


# `--all-targets`: also every optional target (kubernetes, mimir, thanos), as `generate --target` would.
EXTRA_TARGETS: tuple[str, ...] = tuple(sorted(generate.OPTIONAL_TARGETS)) if "--all-targets" in sys.argv else ()
# `--core`: only the core compiler's artifacts (prometheus.yml, rule files, promtool tests).
CORE_ONLY = "--core" in sys.argv
JOBS = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else None


def core_files(fleet: m.Fleet) -> dict[str, bytes]:
    p = fleet.project
    artifacts = [Artifact(prometheus_config.PATH, prometheus_config.render(fleet), "bench")]
    for x in fleet.models:
        rule_file = rules.render(x, p)
        artifacts.append(Artifact(naming.rules_file(x.name), rule_file, x.source))
        artifacts.append(Artifact(naming.unit_test_file(x.name), unit_tests.render(x, p, rule_file), x.source))
    return render_files(artifacts)


def bench(n: int) -> tuple[list[float], float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        _write_specs(specs, n)
        out = Path(tmp) / "out"

        def full() -> list[float]:
            """As `mlmon generate`: load, then render and write at once (the first run writes a
            fresh tree, later ones regenerate over it)."""
            start = time.perf_counter()
            result = load_and_validate([specs])
            loaded = time.perf_counter()
            if CORE_ONLY:
                write_tree(out, core_files(result.fleet))
            else:
                generate.write_fleet(result.fleet, out, EXTRA_TARGETS, JOBS)
            return [loaded - start, time.perf_counter() - loaded]

        repeat = 3 if n <= 100 else 1
        phases = _best_phases(full, repeat)
        total_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        payload = [yaml.load(p.read_text(), Loader=yaml.CSafeLoader) for p in sorted(specs.glob("*.yaml"))]
        # The floor dumps as many bytes of YAML as mlmon wrote, from similar rule-shaped data.
        rule = {"record": "x" * 30, "expr": "sum(rate(m{a=\"b\"}[5m]))" * 4, "labels": {"model": "m", "slo": "s"}}
        unit = len(yaml.dump(rule, Dumper=yaml.CSafeDumper))
        # Distinct objects: a repeated object would be dumped as a YAML alias, far fewer bytes.
        blob = {"rules": [{**rule, "labels": dict(rule["labels"])} for _ in range(max(1, total_bytes // unit))]}

        def floor() -> None:
            for p in sorted(specs.glob("*.yaml")):
                yaml.load(p.read_text(), Loader=yaml.CSafeLoader)
            yaml.dump(blob, Dumper=yaml.CSafeDumper, sort_keys=False, width=10_000)

        floor_s = _best(floor, repeat)
        assert payload
        return phases, floor_s, total_bytes


def _cli_generate(specs: Path, out: Path) -> generate.Report:
    """What `mlmon generate SPECS -o OUT` runs, without starting a process."""
    result = findings([str(specs)], cache=cache.cache_file(out)).result
    assert result is not None
    paths = with_project([str(specs)])
    inputs = manifest.input_hashes(paths, result.fleet.project.templates_dir)
    return generate.write_incremental(result.fleet, out, EXTRA_TARGETS, inputs, JOBS)


def incremental(n: int) -> tuple[float, float, float, int]:
    """Seconds of (a full render into an empty OUT, the run after one spec changed, an unchanged
    --check) and the models the second run rendered."""
    with tempfile.TemporaryDirectory() as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "out"
        specs.mkdir()
        _write_specs(specs, n)
        os.environ[cache.FOLDER_VARIABLE] = str(Path(tmp) / "cache")  # the cache of validated specs, not ~/.cache
        start = time.perf_counter()
        _cli_generate(specs, out)
        full_s = time.perf_counter() - start
        # Not model-0000: the first model of a shape carries the shape's tier tests (plan/shapes.py),
        # so changing it rewrites every other model's test file that points to it.
        changed = specs / f"model-{n // 2:04d}.yaml"
        changed.write_text(changed.read_text().replace("threshold: 250ms", "threshold: 300ms"))
        start = time.perf_counter()
        report = _cli_generate(specs, out)
        one_s = time.perf_counter() - start
        start = time.perf_counter()
        fresh, _, _ = manifest.up_to_date(out, with_project([str(specs)]), EXTRA_TARGETS)
        check_s = time.perf_counter() - start
        assert fresh, "--check after generate must be up to date"
        return full_s, one_s, check_s, report.rendered


# Issue 17's goals at 1000 models: a full generate under 5 s, one changed spec and an unchanged
# --check under 1 s each; the full run's goal is scaled to N (5 ms a model).
GOAL_FULL_S_PER_MODEL, GOAL_ONE_S, GOAL_CHECK_S = 5 / 1000, 1.0, 1.0


def main_incremental(sizes: list[int]) -> None:
    print(f"{'models':>7} {'full s':>8} {'goal s':>7} | {'one spec changed s':>19} {'goal s':>7} {'x full':>7} "
          f"{'rendered':>9} | {'--check unchanged s':>20} {'goal s':>7} {'x full':>7}")
    for n in sizes:
        full_s, one_s, check_s, rendered = incremental(n)
        print(f"{n:>7} {full_s:>8.2f} {GOAL_FULL_S_PER_MODEL * n:>7.2f} | {one_s:>19.3f} {GOAL_ONE_S:>7.2f} "
              f"{full_s / one_s:>7.1f} {rendered:>9} | {check_s:>20.3f} {GOAL_CHECK_S:>7.2f} {full_s / check_s:>7.1f}")


def main() -> None:
    args = sys.argv[1:]
    if "--incremental" in args:
        main_incremental([int(a) for a in args if not a.startswith("--")] or [200, 1000])
        return
    if "--jobs" in args:
        del args[args.index("--jobs"):args.index("--jobs") + 2]
    sizes = [int(a) for a in args if not a.startswith("--")] or [10, 100, 1000]
    if EXTRA_TARGETS:
        print(f"with --target {' --target '.join(EXTRA_TARGETS)}")
    # load: parse and validate the specs; render+write: every artifact rendered and written into OUT
    # (overlapped). Writing depends on the disk: on a busy ext4 with discard, creating files varies 3x.
    print(f"{'models':>7} {'seconds':>9} {'ms/model':>9} {'load s':>7} {'render+write s':>15} "
          f"{'floor s':>9} {'x floor':>8} {'MB out':>8}")
    for n in sizes:
        (load_s, render_s), floor_s, size = bench(n)
        full_s = load_s + render_s
        print(f"{n:>7} {full_s:>9.3f} {1000 * full_s / n:>9.2f} {load_s:>7.2f} {render_s:>15.2f} "
              f"{floor_s:>9.3f} {full_s / floor_s:>8.2f} {size / 1e6:>8.2f}")


if __name__ == "__main__":
    main()
