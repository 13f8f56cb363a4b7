"""Hostile and broken specs: each gives exit code 2, one located message per problem, no traceback,
and leaves an existing out/ exactly as it was. The corpus and its format: tests/bad_specs/README.md.

Every case runs the CLI in process (conftest.invoke_mlmon: click's runner on the command group
`python -m mlmon_codegen` runs); a few run the real `python -m mlmon_codegen` as well: one per way
a spec can fail (the loader's limits, YAML syntax, validation across files, promtool's parser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon, run_mlmon

from mlmon_codegen.spec.load import MAX_BYTES

CORPUS = Path(__file__).parent / "bad_specs"
CASES = sorted(p.stem for p in CORPUS.glob("*.expected"))
# Through a real interpreter too: the size limit, the alias and nesting limits (where a parser
# would blow the stack or the memory), broken YAML, problems across a folder's files, and a
# custom query only promtool's parser refuses.
SUBPROCESS_CASES = ["alias_bomb", "custom_unparseable", "deep_nesting", "duplicate_model_names", "malformed_yaml",
                    "oversized"]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else b"", p.stat().st_mode,
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _place(case: str, into: Path) -> str:
    """Copy the case next to a fresh out/ and return the argument to pass to the CLI."""
    if case == "oversized":
        filler = "# padding\n" * (MAX_BYTES // 10 + 3)
        (into / "oversized.yaml").write_text(filler[: MAX_BYTES + 24])
        return "oversized.yaml"
    folder = CORPUS / case
    if folder.is_dir():
        shutil.copytree(folder, into / case)
        return case
    shutil.copy(CORPUS / f"{case}.yaml", into / f"{case}.yaml")
    return f"{case}.yaml"


def _matches(expected: str, line: str) -> bool:
    pos = 0
    for part in expected.split(" ... "):
        pos = line.find(part, pos)
        if pos < 0:
            return False
        pos += len(part)
    return True


def test_corpus_is_complete():
    specs = {p.stem for p in CORPUS.glob("*.yaml")} | {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert specs | {"oversized"} == set(CASES), "every bad spec needs its .expected file, and the reverse"
    assert len(CASES) >= 40


def _check_case(case: str, tmp_path: Path, run) -> None:
    out = tmp_path / "out"
    shutil.copytree(ROOT / "out", out)  # a previous, valid generation that must survive
    (out / "notes.md").write_text("a file the user keeps here\n")
    arg = _place(case, tmp_path)
    before, around = _snapshot(out), sorted(p.name for p in tmp_path.iterdir())

    proc = run(arg, tmp_path)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    expected = [line for line in (CORPUS / f"{case}.expected").read_text().splitlines() if line.strip()]
    problems = [line for line in proc.stderr.splitlines() if not line.startswith("mlmon: ")]
    assert len(problems) == len(expected), proc.stderr
    for want, got in zip(expected, problems, strict=True):
        assert _matches(want, got), f"expected {want!r}\n     got {got!r}"
    n = len([line for line in expected if ": warning: " not in line])  # warnings are said, not counted
    assert proc.stderr.splitlines()[-1] == f"mlmon: {n} problem{'s' if n != 1 else ''} found"
    assert _snapshot(out) == before, "out/ changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == around, "something was written beside out/"


@pytest.mark.parametrize("case", CASES)
def test_bad_spec(case: str, tmp_path: Path):
    _check_case(case, tmp_path, lambda arg, cwd: invoke_mlmon("generate", arg, "-o", "out", cwd=cwd))


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_spec_through_the_real_cli(case: str, tmp_path: Path):
    assert case in CASES
    _check_case(case, tmp_path, lambda arg, cwd: run_mlmon("generate", arg, "-o", "out", cwd=cwd))
