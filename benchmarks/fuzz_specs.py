"""Coverage-guided fuzz of the spec loader and validator, for a fixed time budget.

    .venv/bin/pip install atheris      # optional: without it, hypothesis drives random mutations
    .venv/bin/python benchmarks/fuzz_specs.py 300        # seconds
    .venv/bin/python benchmarks/fuzz_specs.py 300 --structured   # valid specs with junk swapped in

Any exception other than SpecError out of load_text + validate_documents is a bug: bad input must
become a located problem. Each new kind of crash is printed once, with the input that caused it
saved under /tmp/mlmon-fuzz/. The seeds are the example specs and the bad-spec corpus. Prints
executions and the crash kinds found every 20000 inputs and, with atheris, libFuzzer's coverage
figures (`cov:`, final `stat::` lines). Not a test:
it never fails the build.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASH_DIR = Path("/tmp/mlmon-fuzz")
SEEDS = sorted([*ROOT.glob("specs/*.yaml"), *ROOT.glob("tests/bad_specs/*.yaml")])

try:
    import atheris
except ImportError:  # pragma: no cover - atheris is optional
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["mlmon_codegen"]):
        from mlmon_codegen.core.errors import SpecError
        from mlmon_codegen.spec.load import load_text
        from mlmon_codegen.spec.validate import validate_documents
else:
    from mlmon_codegen.core.errors import SpecError
    from mlmon_codegen.spec.load import load_text
    from mlmon_codegen.spec.validate import validate_documents

START = time.monotonic()
stats = {"execs": 0, "loaded": 0, "valid": 0}
crashes: dict[str, int] = {}


def one_input(data: bytes) -> None:
    stats["execs"] += 1
    if stats["execs"] % 20_000 == 0:  # libFuzzer ends the process itself, so report as we go
        report(time.monotonic() - START)
    try:
        doc, _ = load_text("fuzz.yaml", data)
        if doc is None:
            return
        stats["loaded"] += 1
        validate_documents([doc])
        stats["valid"] += 1
    except SpecError:
        return
    except Exception as exc:  # the bug class we hunt
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        kind = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} ({frame.name})"
        if kind not in crashes:
            CRASH_DIR.mkdir(exist_ok=True)
            saved = CRASH_DIR / f"crash-{hashlib.sha1(data).hexdigest()[:12]}.yaml"
            saved.write_bytes(data)
            print(f"\nNEW CRASH: {kind}: {str(exc)[:200]}  input: {saved}", flush=True)
        crashes[kind] = crashes.get(kind, 0) + 1


def report(seconds: float) -> None:
    print(f"\nfuzz: {stats['execs']} inputs in {seconds:.0f}s ({stats['execs'] / max(seconds, 1e-9):.0f}/s), "
          f"{stats['loaded']} parsed as a mapping, {stats['valid']} valid; "
          f"{len(crashes)} crash kinds: {crashes or 'none'}", flush=True)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """The hypothesis-free fallback: byte flips, splices and YAML-significant insertions."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randint(0, len(out))
        if op < 0.3 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif op < 0.6:
            out[pos:pos] = rng.choice([b"{", b"}", b"[", b"]", b": ", b"- ", b"&a ", b"*a", b"!!", b"\n  ", b'"',
                                       b"'", b"0", b"-1", b".nan", b"1e999", b"null", b"~", b"<<: ", b"\t", b"#"])
        elif op < 0.8:
            other = rng.choice(SEEDS).read_bytes()
            start = rng.randint(0, len(other))
            out[pos:pos] = other[start:start + rng.randint(1, 80)]
        else:
            del out[pos:pos + rng.randint(1, 20)]
    return bytes(out)


JUNK = [None, True, 0, -1, 10**30, 1e308, float("nan"), float("inf"), "", "x", "0s", "99.9", "é\u202e",
        [], [None], {}, {"a": 1}, {"objective": 99}, "{{window}}", "a\nb", 2**63]


def structured(budget: float, seed: int) -> None:
    """Structure-aware: valid specs from tests/strategies.py with values swapped for junk at random
    places, so the fuzz reaches the validator's deeper checks, not only the YAML parser."""
    import warnings

    import yaml
    from hypothesis import HealthCheck, Phase, given, settings
    sys.path.insert(0, str(ROOT / "tests"))
    from strategies import fleet

    warnings.simplefilter("ignore")
    rng = random.Random(seed)
    deadline = time.monotonic() + budget

    def paths(node: object, at: tuple = ()) -> list[tuple]:
        out = [at]
        if isinstance(node, dict):
            for k, v in node.items():
                out += paths(v, (*at, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                out += paths(v, (*at, i))
        return out

    class Done(Exception):
        pass

    # Only the generate phase: when the budget ends, Done stops the run without any shrinking.
    @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fleet())
    def run(files: dict) -> None:
        if time.monotonic() > deadline:
            raise Done
        docs = [d for n, d in files.items() if not n.endswith(".baseline.yaml")]
        for _ in range(rng.randint(1, 4)):
            doc = rng.choice(docs)
            where = rng.choice(paths(doc)[1:])
            parent = doc
            for part in where[:-1]:
                parent = parent[part]
            parent[where[-1]] = copy.deepcopy(rng.choice(JUNK))  # shared junk would make cycles
        for d in docs:
            one_input(yaml.safe_dump(d, allow_unicode=True).encode())

    with contextlib.suppress(Done):
        run()


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 60.0
    if "--structured" in sys.argv:
        print(f"structure-aware (hypothesis specs with junk values), {budget:.0f}s", flush=True)
        structured(budget, int(os.environ.get("SEED", "8")))
        report(time.monotonic() - START)
        return
    start = START
    if atheris is not None:
        corpus = Path("/tmp/mlmon-fuzz-corpus")
        corpus.mkdir(exist_ok=True)
        for seed in SEEDS:
            (corpus / seed.name).write_bytes(seed.read_bytes())
        print(f"atheris (libFuzzer), {budget:.0f}s, {len(SEEDS)} seeds", flush=True)
        atheris.Setup([sys.argv[0], f"-max_total_time={int(budget)}", "-max_len=4096", "-rss_limit_mb=2048",
                       "-print_final_stats=1", str(corpus)], one_input)
        atheris.Fuzz()
        return
    rng = random.Random(int(os.environ.get("SEED", "8")))
    seeds = [s.read_bytes() for s in SEEDS]
    print(f"random mutation (atheris not installed), {budget:.0f}s, {len(seeds)} seeds", flush=True)
    while time.monotonic() - start < budget:
        one_input(mutate(rng, rng.choice(seeds)))
    report(time.monotonic() - start)


if __name__ == "__main__":
    main()
