"""Incremental generation: after any change to the inputs (or to mlmon, or to the manifest), a run
over the previous tree gives exactly the bytes a run into an empty folder gives, and renders only
the models whose inputs changed."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, invoke_mlmon

import mlmon_codegen
from mlmon_codegen.build import cache as spec_cache
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
    ("of format 2", "written by mlmon 0.1.0+older, this is 0.1.0+"),  # the indented JSON before one line a model
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
    elif damage == "of format 2":
        index.write_text(json.dumps({"format": 2, "mlmon": "0.1.0+older", "models": {}}, indent=1))
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


# ---------------------------------------------------------------- the cache of validated specs


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spec files generate parsed (the others came from the cache), in order."""
    seen: list[str] = []
    real = spec_cache.load_text

    def counting(path: str, raw: bytes) -> Any:
        seen.append(Path(path).name)
        return real(path, raw)

    monkeypatch.setattr(spec_cache, "load_text", counting)
    return seen


EVERY_FILE = ["fraud-detector.yaml", "iris-classifier.yaml", "iris-full.yaml", "mlmon.yaml"]
STALE: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], object], list[str]]] = {
    # What changed → the files the next run parses: those whose key part changed, and the project file.
    "nothing": (lambda s, mp: None, ["mlmon.yaml"]),
    "the spec's bytes": (lambda s, mp: CHANGES["one spec"](s), ["iris-classifier.yaml", "mlmon.yaml"]),
    "its baseline": (lambda s, mp: CHANGES["a baseline"](s), ["iris-full.yaml", "mlmon.yaml"]),
    "the project file": (lambda s, mp: CHANGES["the project file"](s), EVERY_FILE),
    "mlmon's version": (lambda s, mp: mp.setattr(mlmon_codegen, "__version__", "99.0.0"), EVERY_FILE),
    "mlmon's code": (lambda s, mp: mp.setattr(manifest, "code_digest", lambda: "another-build"), EVERY_FILE),
}


@pytest.mark.parametrize("change", list(STALE))
def test_the_cache_validates_again_only_what_a_change_can_touch(change: str, work: Path, parsed: list[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(work)
    assert sorted(parsed) == EVERY_FILE
    assert spec_cache.cache_file(work / "out").is_file()
    edit, expected = STALE[change]
    edit(work / "specs", monkeypatch)
    parsed.clear()
    _generate(work)
    assert sorted(parsed) == expected
    _same_as_full(work)  # "full" has a cache file of its own, empty before: the run without a cache


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another shape", "an entry of another file",
                                    "writable by others"])
@pytest.mark.parametrize("edit", [True, False])
def test_a_damaged_cache_is_no_cache(damage: str, edit: bool, work: Path, parsed: list[str]) -> None:
    _generate(work)
    file = spec_cache.cache_file(work / "out")
    data = file.read_bytes()
    if damage == "garbage":
        file.write_bytes(b"\x80\x05not a pickle at all")
    elif damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "another shape":
        file.write_bytes(pickle.dumps(["not", "a", "mapping"]))
    elif damage == "writable by others":  # whole, but anyone could have put anything in it
        file.chmod(0o666)
    else:  # the right shape, but each key now holds another file's model
        entries = pickle.loads(data)
        keys = sorted(entries)
        file.write_bytes(pickle.dumps(dict(zip(keys, [entries[k] for k in keys[1:] + keys[:1]], strict=True))))
    if edit:
        CHANGES["one spec"](work / "specs")
    parsed.clear()
    _generate(work)
    assert sorted(parsed) == EVERY_FILE
    _same_as_full(work)
    parsed.clear()
    _generate(work)  # and the cache is whole again
    assert parsed == ["mlmon.yaml"]


WARNED = {  # a spec → the warning it gives
    "a warning": ("apiVersion: mlmon/v1\nkind: ModelMonitor\nmetadata: {name: warned, team: ml-platform}\n"
                  "metrics: {select: {}}\nslos:\n  availability: {objective: 99.9, period: 30d}\n",
                  "specs/warned.yaml:4:11: warning: metrics.select: nothing selects"),
    "the seed form's note": ("slos:\n  seeded:\n    availability: {target: 99.9, window: 30d}\n",
                             "specs/warned.yaml:2:3: warning: metadata.name: note: seed form"),
}


@pytest.mark.parametrize("kind", list(WARNED))
def test_a_spec_with_a_warning_is_validated_every_run(kind: str, work: Path, parsed: list[str]) -> None:
    text, said = WARNED[kind]
    (work / "specs" / "warned.yaml").write_text(text)
    first = _generate(work)
    assert said in first
    parsed.clear()
    assert _generate(work) == first
    assert parsed == ["mlmon.yaml", "warned.yaml"]


@pytest.mark.parametrize("copy", ["a-copy.yaml", "zz-copy.yaml"])  # before and after the cached file
def test_a_name_taken_from_a_cached_spec_is_reported_as_without_the_cache(copy: str, work: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(work)
    shutil.copy(work / "specs" / "iris-classifier.yaml", work / "specs" / copy)
    cached = invoke_mlmon("generate", "specs", "-o", "out", cwd=work)
    monkeypatch.setenv(spec_cache.FOLDER_VARIABLE, str(work / "empty-cache"))
    uncached = invoke_mlmon("generate", "specs", "-o", "out", cwd=work)
    assert cached.returncode == uncached.returncode == 2
    assert "is already defined in" in cached.stderr
    assert cached.stderr == uncached.stderr
    assert not (work / "empty-cache").exists(), "a failed run keeps nothing"


def test_the_project_fingerprint_is_the_same_in_every_process(work: Path) -> None:
    """A fresh `mlmon generate` is a fresh process with its own hash seed: the key of the project
    must not depend on it, or no entry would ever be used again."""
    code = ("from pathlib import Path; from mlmon_codegen.build import cache;"
            "from mlmon_codegen.spec.load import load_file;"
            "print(cache._fingerprint(cache.project_of([load_file(Path('specs/mlmon.yaml'))[0]])))")
    prints = {subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(prints) == 1 and len(prints.pop().strip()) == 64
