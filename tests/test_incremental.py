"""Incremental generation: after any change to the inputs (or to mlmon, or to the manifest), a run
over the previous tree gives exactly the bytes a run into an empty folder gives, and renders only
the models whose inputs changed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, invoke_mlmon

import mlmon_codegen
from mlmon_codegen.build import generate, manifest
from mlmon_codegen.emit.write import INDEX


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    return tmp_path


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the models rendered, in order (the fleets here are too small for workers)."""
    seen: list[str] = []
    real = generate.model_artifacts

    def counting(model: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(model.name)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(generate, "model_artifacts", counting)
    return seen


def _generate(work: Path, out: str = "out") -> str:
    result = invoke_mlmon("generate", "specs", "-o", out, cwd=work)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _same_as_full(work: Path) -> None:
    shutil.rmtree(work / "full", ignore_errors=True)
    _generate(work, "full")
    assert _tree(work / "out") == _tree(work / "full")
    check = invoke_mlmon("generate", "specs", "-o", "out", "--check", cwd=work)
    assert check.returncode == 0, check.stdout + check.stderr


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


CHANGES: dict[str, Callable[[Path], None]] = {
    "one spec": lambda s: _edit(s / "iris-classifier.yaml", "threshold: 100ms", "threshold: 300ms"),
    "a spec deleted": lambda s: (s / "fraud-detector.yaml").unlink(),
    "a spec renamed": lambda s: (s / "fraud-detector.yaml").rename(s / "fraud.yaml"),
    "a baseline": lambda s: _edit(s / "iris-full.baseline.yaml", "- 4.8\n", "- 4.7\n"),
    "the project file": lambda s: _edit(s / "mlmon.yaml", "repeat_interval: 4h", "repeat_interval: 2h"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_incremental_equals_full_after(change: str, work: Path, renders: list[str]) -> None:
    _generate(work)
    before = _tree(work / "out")
    CHANGES[change](work / "specs")
    renders.clear()
    _generate(work)
    assert _tree(work / "out") != before or change == "a spec renamed"
    _same_as_full(work)


def test_one_changed_spec_renders_one_model(work: Path, renders: list[str]) -> None:
    _generate(work)
    assert sorted(renders) == ["fraud_detector", "iris-classifier", "iris-full"]
    renders.clear()
    _generate(work)
    assert renders == [], "nothing changed: nothing rendered"
    CHANGES["one spec"](work / "specs")
    result = invoke_mlmon("generate", "specs", "-o", "out", cwd=work)
    assert renders == ["iris-classifier"]
    assert "0 added" in result.stdout and "0 removed" in result.stdout and " changed," in result.stdout


def test_a_baseline_renders_its_model_only(work: Path, renders: list[str]) -> None:
    _generate(work)
    renders.clear()
    CHANGES["a baseline"](work / "specs")
    _generate(work)
    assert renders == ["iris-full"]


def test_changed_code_with_the_same_version_renders_everything(work: Path, renders: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A development checkout keeps its version string while its output changes."""
    _generate(work)
    monkeypatch.setattr(manifest, "code_digest", lambda: "another-build")
    renders.clear()
    note = _generate(work)
    assert "this is 0.1.0+another-build: rendering every model" in note
    assert len(renders) == 3
    _same_as_full(work)


def test_a_new_mlmon_version_renders_everything(work: Path, renders: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(work)
    monkeypatch.setattr(mlmon_codegen, "__version__", "99.0.0")
    renders.clear()
    note = _generate(work)
    digest = manifest.code_digest()
    assert f"written by mlmon 0.1.0+{digest}, this is 99.0.0+{digest}: rendering every model" in note
    assert len(renders) == 3
    body, _ = manifest.read(work / "out")
    assert body is not None and body["mlmon"] == f"99.0.0+{digest}"
    _same_as_full(work)


@pytest.mark.parametrize(("damage", "said"), [
    ("hand-edited", "checksum does not match"),
    ("truncated", "unreadable or truncated"),
    ("deleted", "no manifest"),
])
def test_a_damaged_manifest_renders_everything(damage: str, said: str, work: Path, renders: list[str]) -> None:
    _generate(work)
    index = work / "out" / INDEX
    text = index.read_text()
    if damage == "hand-edited":
        body, _ = manifest.read(work / "out")
        assert body is not None
        key = body["models"]["iris-classifier"]["key"]
        assert text.count(key) == 1
        index.write_text(text.replace(key, "0" * len(key)))  # as if its inputs had not changed
    elif damage == "truncated":
        index.write_text(text[: len(text) // 2])
    else:
        index.unlink()
    renders.clear()
    note = _generate(work)
    assert said in note and len(note.strip().splitlines()) == 1
    assert len(renders) == 3
    _same_as_full(work)


def test_an_edited_output_file_is_rendered_again(work: Path, renders: list[str]) -> None:
    """A generated file changed by hand (same size, so only its hash tells) is not reused."""
    _generate(work)
    rules = work / "out" / "prometheus" / "rules" / "fraud_detector.rules.yml"
    text = rules.read_text()
    rules.write_text(text.replace("for:", "For:", 1))
    renders.clear()
    _generate(work)
    assert renders == ["fraud_detector"]
    assert rules.read_text() == text
    _same_as_full(work)


def test_check_with_nothing_changed_renders_and_reads_nothing(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(work)
    hashed: list[str | Path] = []
    real = manifest._hash_file

    def counting(path: str | Path) -> str:
        hashed.append(path)
        return real(path)

    def no_render(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rendered")

    monkeypatch.setattr(manifest, "_hash_file", counting)
    monkeypatch.setattr(generate, "files", no_render)
    result = invoke_mlmon("generate", "specs", "-o", "out", "--check", cwd=work)
    assert result.returncode == 0 and "is up to date" in result.stdout
    assert hashed and not [p for p in hashed if "out" in Path(p).parts], "read an output file"


def test_check_still_finds_what_changed(work: Path) -> None:
    _generate(work)
    CHANGES["one spec"](work / "specs")
    result = invoke_mlmon("generate", "specs", "-o", "out", "--check", cwd=work)
    assert result.returncode == 1
    assert "stale: out/prometheus/rules/iris-classifier.rules.yml" in result.stdout
