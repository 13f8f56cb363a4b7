"""`mlmon check --changed BASE` checks the models a change touches, against a real git repository
or a base tree: the rest is skipped and said so, and anything every model reads checks everything."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon

MODELS = ("fraud_detector", "iris-classifier", "iris-full")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """specs/ and the out/ generated from them, committed."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    _git(tmp_path, "init", "-q")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=tmp_path).returncode == 0
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _check(repo: Path, base: str) -> tuple[int, str, dict]:
    r = invoke_mlmon("check", "out", "--changed", base, "--format", "json", cwd=repo)
    return r.returncode, r.stderr, json.loads(r.stdout)


def _files(report: dict, step: str) -> list[str]:
    """The files a step's promtool command was given, by name."""
    run = next(r for r in report["runs"] if " ".join(r["command"][:3]) == step)
    return sorted(Path(a).name for a in run["command"] if a.endswith(".yml"))


def test_one_changed_spec_checks_that_model_only_and_says_what_it_skipped(repo: Path) -> None:
    _edit(repo / "specs" / "iris-classifier.yaml", "objective: 99.9,", "objective: 99.5,")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    code, err, report = _check(repo, "HEAD")
    assert code == 0, report
    assert "1 of 3 models: iris-classifier; 2 unchanged, skipped" in err
    assert _files(report, "promtool test rules") == ["iris-classifier.test.yml"]
    assert _files(report, "promtool check rules") == ["iris-classifier.rules.yml"]
    # The fleet-wide checks still read everything.
    assert any(r["command"][:2] == ["amtool", "check-config"] for r in report["runs"])


def test_a_wrong_expectation_in_the_changed_model_fails_the_check(repo: Path) -> None:
    tests = repo / "out" / "tests" / "iris-classifier.test.yml"
    _edit(tests, "severity: critical", "severity: warning")
    code, err, report = _check(repo, "HEAD")
    assert code == 1
    assert "1 of 3 models: iris-classifier" in err
    assert not next(r for r in report["runs"] if r["command"][:3] == ["promtool", "test", "rules"])["ok"]


def test_a_new_uncommitted_model_counts_as_changed(repo: Path) -> None:
    spec = (repo / "specs" / "iris-classifier.yaml").read_text().replace("name: iris-classifier", "name: iris-new")
    (repo / "specs" / "iris-new.yaml").write_text(spec)
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    code, err, report = _check(repo, "HEAD")
    assert code == 0, report
    assert "1 of 4 models: iris-new; 3 unchanged, skipped" in err
    assert _files(report, "promtool test rules") == ["iris-new.test.yml"]


def test_a_changed_project_file_checks_everything(repo: Path) -> None:
    _edit(repo / "specs" / "mlmon.yaml", "cluster: demo", "cluster: demo2")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    code, err, report = _check(repo, "HEAD")
    assert code == 0, report
    assert "checking everything: specs/mlmon.yaml changed since git ref HEAD" in err
    assert _files(report, "promtool test rules") == [f"{m}.test.yml" for m in MODELS]


def test_a_base_tree_folder_works_like_a_ref(repo: Path) -> None:
    shutil.copytree(repo / "out", repo / "base-out")
    _edit(repo / "specs" / "iris-full.yaml", "team: ", "team: x")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    code, err, report = _check(repo, "base-out")
    assert code == 0, report
    assert "1 of 3 models: iris-full; 2 unchanged, skipped" in err
    assert _files(report, "promtool test rules") == ["iris-full.test.yml"]


def test_without_a_manifest_everything_is_checked_and_a_bad_ref_is_an_error(repo: Path) -> None:
    (repo / "out" / ".mlmon-manifest.json").unlink()
    code, err, report = _check(repo, "HEAD")
    assert code == 0, report
    assert "checking everything" in err and "no manifest" in err
    r = invoke_mlmon("check", "out", "--changed", "no-such-branch", cwd=repo)
    assert r.returncode == 2
    assert "no commit of the git repository" in r.stderr and "'no-such-branch'" in r.stderr
    assert "Traceback" not in r.stderr


def test_unchanged_dashboards_are_read_for_their_uids_only(repo: Path) -> None:
    # A dashboard per model (`dashboards: per_model`), committed as the base.
    project = repo / "specs" / "mlmon.yaml"
    project.write_text(project.read_text() + "dashboards: per_model\n")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "per-model dashboards")
    _edit(repo / "specs" / "iris-classifier.yaml", "objective: 99.9,", "objective: 99.5,")
    assert invoke_mlmon("generate", "specs", "-o", "out", cwd=repo).returncode == 0
    code, _, report = _check(repo, "HEAD")
    assert code == 0, report
    run = next(r for r in report["runs"] if r["command"] == ["grafana", "dashboards"])
    # The dashboards git sees changed are parsed; the others are read for their uids.
    status = subprocess.run(["git", "status", "--porcelain", "out/grafana/dashboards"], cwd=repo, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    boards = len(list((repo / "out" / "grafana" / "dashboards").glob("*.json")))
    assert status and len(status) < boards
    assert run["note"].startswith(f"{len(status)} dashboards,"), run["note"]
    assert f"({boards - len(status)} unchanged, uids only)" in run["note"], run["note"]
    # A changed dashboard that takes an unchanged one's uid is still caught.
    board = repo / "out" / "grafana" / "dashboards" / "iris-classifier.json"
    board.write_text(board.read_text().replace('"uid": "mlmon-iris-classifier"', '"uid": "mlmon-iris-full"'))
    code, _, report = _check(repo, "HEAD")
    assert code == 1
    run = next(r for r in report["runs"] if r["command"] == ["grafana", "dashboards"])
    assert "is also the uid of" in run["output"], run["output"]
