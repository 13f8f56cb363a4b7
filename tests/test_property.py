"""Property: for any valid spec folder (tests/strategies.py), everything generated passes the real
promtool and amtool, every rule is unique, no secret leaks into out/, and a second run gives the
same bytes.

Each example is generated and checked in-process (hypothesis shrinks those failures); the trees
are then checked by one batched call per tool, since a promtool call costs far more than the
check itself. The default run draws MLMON_PROPERTY_EXAMPLES (default 150) derandomized examples;
the nightly run sets it higher and draws at random, e.g.
`MLMON_PROPERTY_EXAMPLES=2000 MLMON_PROPERTY_RANDOM=1 .venv/bin/pytest tests/test_property.py`;
MLMON_PROPERTY_UNIT_TESTS=1 also runs `promtool test rules` on every generated unit test.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from pathlib import Path

import yaml
from conftest import ROOT, run_mlmon
from hypothesis import HealthCheck, given, settings
from strategies import fleet

from mlmon_codegen.build import generate as gen
from mlmon_codegen.check import promtool
from mlmon_codegen.check import secrets as secret_scan
from mlmon_codegen.emit.write import render_files, write_tree
from mlmon_codegen.spec.validate import load_and_validate

EXAMPLES = int(os.environ.get("MLMON_PROPERTY_EXAMPLES", "150"))
RANDOM = bool(os.environ.get("MLMON_PROPERTY_RANDOM"))
UNIT_TESTS = bool(os.environ.get("MLMON_PROPERTY_UNIT_TESTS"))
ARGV_CHUNK = 400  # files per tool call: well under any argv limit
# libyaml's parser when PyYAML has it: the same documents, read ~10x faster than pure Python.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _rules(files: dict[str, bytes]) -> list[tuple[str, str, dict]]:
    out = []
    for path, content in files.items():
        if path.startswith("prometheus/rules/"):
            for group in yaml.load(content, Loader=LOADER)["groups"]:
                out.extend((path, group["name"], r) for r in group["rules"])
    return out


def _check_unique(files: dict[str, bytes]) -> None:
    rules = _rules(files)
    groups = Counter(g for g in {(p, g) for p, g, _ in rules})
    assert len(groups) == len({g for _, g in groups}), "a rule group name is used in two files"
    # A rule is its name plus its static labels. Within a file none repeats; across files, a
    # recording rule name may serve many models (its labels come from the query), but an alert
    # carries its model in its labels, so none repeats in the whole fleet.
    per_file = Counter((p, r.get("record") or r.get("alert"), tuple(sorted((r.get("labels") or {}).items())))
                       for p, _, r in rules)
    alerts = Counter((r["alert"], tuple(sorted((r.get("labels") or {}).items()))) for _, _, r in rules if "alert" in r)
    dupes = [k for k, n in (per_file + alerts).items() if n > 1]
    assert not dupes, f"rules defined twice: {dupes[:3]}"


def _batched(tool: str, args: list[str], paths: list[Path]) -> list[promtool.Run]:
    return [promtool.run(tool, *args, *map(str, paths[i:i + ARGV_CHUNK])) for i in range(0, len(paths), ARGV_CHUNK)]


def test_generated_output_passes_the_real_tools(tmp_path: Path):
    trees: list[Path] = []
    numbers = itertools.count()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
    @given(fleet())
    def generate_one(docs: dict[str, dict]) -> None:
        case = tmp_path / f"case{next(numbers):05d}"
        specs = case / "specs"
        specs.mkdir(parents=True)
        for name, doc in docs.items():
            (specs / name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
        result = load_and_validate([specs])  # a valid spec must validate: SpecError fails the test
        targets = tuple(sorted(gen.OPTIONAL_TARGETS))
        files = render_files(gen.render_all(result.fleet, targets))
        assert render_files(gen.render_all(result.fleet, targets)) == files, "a second run differs"
        _check_unique(files)
        # Only the default targets go to promtool/amtool; the optional ones are for other engines.
        write_tree(case / "out", render_files(gen.render_all(result.fleet)))
        assert secret_scan.scan_tree(case / "out") == []
        trees.append(case / "out")

    start = time.monotonic()
    generate_one()
    generated = time.monotonic()
    assert len(trees) >= min(EXAMPLES, 50) // 2, "too few examples were valid"

    configs = [t / "prometheus" / "prometheus.yml" for t in trees]
    rules = sorted(p for t in trees for p in (t / "prometheus" / "rules").glob("*.yml"))
    unit_tests = sorted(p for t in trees for p in (t / "tests").glob("*.test.yml"))
    am_configs = [p for t in trees if (p := t / "alertmanager" / "alertmanager.yml").exists()]
    runs = [
        *_batched("promtool", ["check", "config", "--lint=all", "--lint-fatal"], configs),
        *_batched("promtool", ["check", "rules", "--lint=all", "--lint-fatal"], rules),
        # The generated unit tests simulate days of series: minutes per hundred fleets, so opt-in.
        *(_batched("promtool", ["test", "rules"], unit_tests) if UNIT_TESTS else []),
        *_batched("amtool", ["check-config"], am_configs),
    ]
    print(f"\nproperty: {len(trees)} spec folders generated in {generated - start:.0f}s, checked by "
          f"{len(runs)} tool calls in {time.monotonic() - generated:.0f}s")  # the issue note's figures
    failed = [f"{' '.join(r.command[:3])}:\n{r.output[-3000:]}" for r in runs if not r.ok]
    assert not failed, "\n".join(failed) + f"\n(specs and output are under {tmp_path})"
    assert rules and unit_tests


def test_a_second_cli_run_is_byte_identical(tmp_path: Path):
    """The same through the real CLI and writer, on the example specs (in-process runs above)."""
    for out in ("a", "b"):
        proc = run_mlmon("generate", str(ROOT / "specs"), "-o", str(tmp_path / out))
        assert proc.returncode == 0, proc.stderr

    def read(d: Path) -> dict[str, bytes]:
        return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}

    assert read(tmp_path / "a") == read(tmp_path / "b")
