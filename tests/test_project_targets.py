"""`targets:` in the project file, and `generate --check` agreeing with `generate` about files
mlmon does not own."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon, run_mlmon

from mlmon_codegen.core import naming
from mlmon_codegen.emit.write import INDEX, MANIFEST
from mlmon_codegen.targets import platforms


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """The example specs, their project file asking for kubernetes and mimir."""
    folder = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", folder)
    project = folder / "mlmon.yaml"
    project.write_text(project.read_text() + "targets: [mimir, kubernetes]\n")
    return folder


def test_the_spec_layer_names_exactly_the_targets_that_render() -> None:
    assert sorted(naming.OPTIONAL_TARGETS) == sorted(platforms.TARGETS)


def test_targets_from_the_project_file_are_generated_and_checked(specs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plain = tmp_path / "plain"
    assert invoke_mlmon("generate", str(specs), "-o", str(out)).returncode == 0
    flags = invoke_mlmon("generate", str(ROOT / "specs"), "-o", str(plain), "--target", "kubernetes",
                         "--target", "mimir")
    assert flags.returncode == 0, flags.stderr
    # Exactly what the same targets on the command line give, apart from the spec folder's name
    # in the headers (the copy lives elsewhere) and the incremental manifest (the inputs differ).
    ours = {p: b.replace(str(specs).encode(), b"SPECS") for p, b in _tree(out).items() if p != INDEX}
    assert ours == {p: b.replace(str(ROOT / "specs").encode(), b"SPECS") for p, b in _tree(plain).items()
                    if p != INDEX}
    assert any(p.startswith(naming.K8S_DIR) for p in ours) and any(p.startswith("mimir/") for p in ours)
    assert not any(p.startswith("thanos/") for p in ours)
    check = invoke_mlmon("generate", str(specs), "-o", str(out), "--check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_command_line_target_adds_to_the_project_files_and_the_hint_fixes_the_tree(specs: Path,
                                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke_mlmon("generate", str(specs), "-o", str(out)).returncode == 0
    stale = invoke_mlmon("generate", str(specs), "-o", str(out), "--check", "--target", "thanos")
    assert stale.returncode == 1
    assert re.search(r"missing: .*/thanos/", stale.stdout)
    [command] = re.findall(r"out of date: run `([^`]*)`", stale.stderr)
    argv = shlex.split(command)
    assert argv[:2] == ["mlmon", "generate"]
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--target"] == ["kubernetes", "mimir", "thanos"]
    assert invoke_mlmon(*argv[1:]).returncode == 0  # the suggested command, run as given
    again = invoke_mlmon("generate", str(specs), "-o", str(out), "--check", "--target", "thanos")
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_unknown_target_is_a_located_error_with_a_suggestion(specs: Path, tmp_path: Path) -> None:
    project = specs / "mlmon.yaml"
    text = project.read_text().replace("targets: [mimir, kubernetes]", "targets: [kubernetes, thanoss]")
    project.write_text(text)
    line = text.splitlines().index("targets: [kubernetes, thanoss]") + 1
    column = "targets: [kubernetes, thanoss]".index("thanoss") + 1
    for args in (("generate", str(specs), "-o", str(tmp_path / "out")),
                 ("generate", str(specs), "-o", str(tmp_path / "out"), "--check")):
        result = run_mlmon(*args)  # a real process: exit code 2 and no traceback
        assert result.returncode == 2, result.stderr
        assert f"{project}:{line}:{column}: targets[1]: unknown target 'thanoss'" in result.stderr
        assert "did you mean 'thanos'?" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_check_keeps_what_generate_keeps(example_out: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(example_out, out)
    notes = out / "NOTES.md"
    notes.write_text("# our notes on the alerts\n")
    check = invoke_mlmon("generate", "specs", "-o", str(out), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"kept {notes}: not mlmon's" in check.stderr
    assert "extra" not in check.stdout
    written = invoke_mlmon("generate", "specs", "-o", str(out))
    assert written.returncode == 0 and f"kept {notes}: not written by mlmon" in written.stderr
    assert notes.read_text() == "# our notes on the alerts\n"
    # A file the last generate wrote (its manifest says so) and would now delete stays extra.
    leftover = out / "prometheus" / "rules" / "retired.rules.yml"
    leftover.write_text("# Generated by mlmon from specs/retired.yaml\n")
    manifest = out / MANIFEST
    manifest.write_text(manifest.read_text() + "prometheus/rules/retired.rules.yml\n")
    stale = invoke_mlmon("generate", "specs", "-o", str(out), "--check")
    assert stale.returncode == 1
    assert f"extra: {leftover}" in stale.stdout and f"extra: {notes}" not in stale.stdout
    assert invoke_mlmon("generate", "specs", "-o", str(out)).returncode == 0
    assert not leftover.exists() and notes.exists()
    assert invoke_mlmon("generate", "specs", "-o", str(out), "--check").returncode == 0
