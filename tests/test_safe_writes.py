"""Safe writes: a killed generate leaves the previous out/, runs on one out/ never interleave, the
user's files in out/ are never deleted or replaced silently, symlinks are refused, and
`mlmon check` scans the tree for secrets."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_mlmon

from mlmon_codegen.check import secrets as secret_scan
from mlmon_codegen.spec.secrets import find

# Runs the real CLI with one function wrapped so that it stops at a chosen moment, then sleeps
# until the test kills it: `HOOK` names the function, `AFTER` how many calls pass first.
HOOKED = r"""
import os, sys, time, pathlib
import mlmon_codegen.emit.write as w
hook, after, mark = os.environ["HOOK"], int(os.environ["AFTER"]), os.environ["MARK"]
calls = [0]
def stop():
    calls[0] += 1
    if calls[0] > after:
        open(mark, "w").close()
        time.sleep(60)
if hook == "write":  # after each file of the new tree
    orig = w._write_new
    def write_new(path, data):
        orig(path, data)
        stop()
    w._write_new = write_new
elif hook == "rename":  # the two-rename fallback, stopped between its renames
    w._exchange = lambda a, b: False
    orig_rename = os.rename
    def rename(a, b):
        orig_rename(a, b)
        stop()
    w.os.rename = rename
from mlmon_codegen.cli.main import main
sys.argv = ["mlmon", *sys.argv[1:]]
main()
"""


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def spec_sets(tmp_path_factory) -> dict[str, Path]:
    """Two spec folders whose outputs differ, and the tree each one generates on its own."""
    base = tmp_path_factory.mktemp("specs")
    small, big = base / "small", base / "big"
    small.mkdir()
    shutil.copy(ROOT / "specs" / "iris-classifier.yaml", small)
    shutil.copytree(ROOT / "specs", big)
    iris = (ROOT / "specs" / "iris-classifier.yaml").read_text()
    for i in range(6):  # enough models that writing takes a while, for the random kills
        (big / f"iris-{i}.yaml").write_text(iris.replace("name: iris-classifier", f"name: iris-{i}"))
    for name, folder in (("small", small), ("big", big)):
        proc = run_mlmon("generate", str(folder), "-o", str(base / f"{name}.out"))
        assert proc.returncode == 0, proc.stderr
    return {"small": small, "big": big, "small.out": base / "small.out", "big.out": base / "big.out"}


def _hooked(hook: str, after: int, args: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    mark = tmp / "reached"
    env = {**os.environ, "HOOK": hook, "AFTER": str(after), "MARK": str(mark)}
    proc = subprocess.Popen([sys.executable, "-c", HOOKED, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):  # at most 30 s
        if mark.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert mark.exists(), "the hooked run never reached the hook"
    return proc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_kill_mid_write_leaves_previous_out(spec_sets, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(spec_sets["small.out"], out)
    before = _tree(out)

    _kill(_hooked("write", 5, ["generate", str(spec_sets["big"]), "-o", str(out)], tmp_path))

    assert _tree(out) == before
    assert any(p.name.startswith(".out.new-") for p in tmp_path.iterdir()), "the kill came before writing"
    # The next run clears the half-built tree and writes the new output whole.
    assert run_mlmon("generate", str(spec_sets["big"]), "-o", str(out)).returncode == 0
    assert _tree(out) == _tree(spec_sets["big.out"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out", "reached"]


def test_kill_between_fallback_renames_is_recovered(spec_sets, tmp_path):
    """Without renameat2 the swap is two renames; a kill between them must not lose the old tree."""
    out = tmp_path / "out"
    shutil.copytree(spec_sets["small.out"], out)
    (out / "notes.md").write_text("mine\n")

    _kill(_hooked("rename", 0, ["generate", str(spec_sets["big"]), "-o", str(out)], tmp_path))
    assert not out.exists()  # the window the fallback has: the old tree is aside, not lost

    proc = run_mlmon("generate", str(spec_sets["small"]), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.md").read_text() == "mine\n"  # recovered, so the user's file was carried over
    assert {k: v for k, v in _tree(out).items() if k != "notes.md"} == _tree(spec_sets["small.out"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.old-", ".out.new-"))]


def test_random_kills_leave_old_or_new_tree(spec_sets, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(spec_sets["small.out"], out)
    trees = {"small": _tree(spec_sets["small.out"]), "big": _tree(spec_sets["big.out"])}
    rng = random.Random(8)
    for i in range(8):
        which = "big" if i % 2 == 0 else "small"
        proc = subprocess.Popen([sys.executable, "-m", "mlmon_codegen", "generate", str(spec_sets[which]),
                                 "-o", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.9))
        if proc.poll() is None:
            _kill(proc)
        assert _tree(out) in trees.values(), f"kill {i}: out/ is neither the old nor the new tree"


def test_lock_makes_a_second_run_wait(spec_sets, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(spec_sets["small.out"], out)
    before = _tree(out)
    with open(tmp_path / ".out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running generate holds it
        proc = subprocess.Popen([sys.executable, "-m", "mlmon_codegen", "generate", str(spec_sets["big"]),
                                 "-o", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2)
        assert proc.poll() is None, "generate did not wait for the lock"
        assert _tree(out) == before
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert proc.wait(timeout=60) == 0
    assert _tree(out) == _tree(spec_sets["big.out"])


def test_concurrent_generates_do_not_interleave(spec_sets, tmp_path):
    out = tmp_path / "out"
    trees = [_tree(spec_sets["small.out"]), _tree(spec_sets["big.out"])]
    for _ in range(2):
        procs = [subprocess.Popen([sys.executable, "-m", "mlmon_codegen", "generate", str(spec_sets[w]),
                                   "-o", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for w in ("big", "small", "big")]
        results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
        assert [r[0] for r in results] == [0, 0, 0], results
        assert _tree(out) in trees
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_user_files_are_kept_and_never_replaced(spec_sets, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(spec_sets["big.out"], out)
    (out / "notes.md").write_text("mine\n")
    (out / "prometheus" / "extra").mkdir()
    (out / "prometheus" / "extra" / "local.rules.yml").write_text("groups: []\n")

    # Fewer models: their old generated files go; the user's stay, and the user is told.
    proc = run_mlmon("generate", str(spec_sets["small"]), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "kept" in proc.stderr and "notes.md" in proc.stderr
    assert (out / "notes.md").read_text() == "mine\n"
    assert (out / "prometheus" / "extra" / "local.rules.yml").read_text() == "groups: []\n"
    assert not (out / "prometheus" / "rules" / "iris-3.rules.yml").exists()

    # A hand-written file where mlmon wants to write: refused, untouched.
    mine = out / "prometheus" / "rules" / "iris-3.rules.yml"
    mine.write_text("groups: []  # hand-written\n")
    before = _tree(out)
    proc = run_mlmon("generate", str(spec_sets["big"]), "-o", str(out))
    assert proc.returncode == 2
    assert "refusing to replace" in proc.stderr and "iris-3.rules.yml" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tree(out) == before


def test_symlinked_out_is_refused(spec_sets, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("keep\n")
    (tmp_path / "out").symlink_to(elsewhere)
    proc = run_mlmon("generate", str(spec_sets["small"]), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "symlink" in proc.stderr and "Traceback" not in proc.stderr
    assert _tree(elsewhere) == {"precious": b"keep\n"}


def test_symlink_inside_out_is_refused(spec_sets, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("keep\n")
    out = tmp_path / "out"
    shutil.copytree(spec_sets["small.out"], out)
    (out / "linked").symlink_to(elsewhere)
    before = _tree(out)
    proc = run_mlmon("generate", str(spec_sets["small"]), "-o", str(out))
    assert proc.returncode == 2 and "symlinks (linked)" in proc.stderr
    assert _tree(elsewhere) == {"precious": b"keep\n"}
    assert (out / "linked").is_symlink() and _tree(out) == before


@pytest.mark.parametrize("text,found", [
    ("url: https://admin:hunter2@grafana.internal/d/x", "URL with a password"),
    ("  - targets: ['scraper:s3cret@iris:8000']", "credentials before a host"),
    ("token xoxb-123456789012-abcdefghijkl", "Slack token"),
    ("key: AKIAIOSFODNN7EXAMPLE", "AWS access key"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "bearer token"),
    ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "GitHub token"),
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", "Slack webhook URL"),
])
def test_secret_patterns(text, found):
    assert found in (find(text) or "")


@pytest.mark.parametrize("text", [
    "expr: sum(rate(ml_prediction_errors_total{model_name=\"iris\"}[5m])) > 0",
    "runbook_url: https://runbooks.example.com/mlmon/iris/ModelDown",
    "credentials_file: /etc/alertmanager/secrets/webhook-token",
    "mailto:oncall@example.com",
    "  - iris-api:8000",
])
def test_no_false_alarm(text):
    assert find(text) is None


def test_check_scans_generated_tree_for_secrets(spec_sets, tmp_path):
    out = tmp_path / "out"
    # The generated tree without its promtool unit tests: they take seconds, and only the scan is asked.
    generated = spec_sets["small.out"]
    shutil.copytree(generated, out, ignore=lambda folder, _: ["tests"] if Path(folder) == generated else [])
    assert not (out / "tests").exists() and (out / "prometheus" / "rules").is_dir()
    assert secret_scan.scan_tree(out) == []
    (out / "prometheus" / "leak.yml").write_text("webhook:\n  password: hunter2\n  url: https://u:p@x.example/\n")
    assert secret_scan.scan_tree(out) == ["prometheus/leak.yml:3: looks like a URL with a password",
                                          "prometheus/leak.yml: webhook.password: `password` holds a secret "
                                          "in plain text"]
    proc = run_mlmon("check", str(out))
    assert proc.returncode == 1
    assert "FAIL mlmon scan-secrets" in proc.stdout and "leak.yml:3" in proc.stderr


def test_unchanged_files_are_linked_not_rewritten_and_changed_ones_replaced(tmp_path):
    from mlmon_codegen.emit.write import write_tree

    out = tmp_path / "out"
    write_tree(out, {"a/same.yml": b"same\n", "a/changes.yml": b"one\n", "gone.yml": b"x\n"})
    same_inode = (out / "a/same.yml").stat().st_ino
    changes_inode = (out / "a/changes.yml").stat().st_ino
    write_tree(out, {"a/same.yml": b"same\n", "a/changes.yml": b"two\n"})
    assert (out / "a/same.yml").stat().st_ino == same_inode
    assert (out / "a/changes.yml").stat().st_ino != changes_inode
    assert (out / "a/changes.yml").read_bytes() == b"two\n"
    assert not (out / "gone.yml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.new-", ".out.old-"))]


def test_the_scan_prefilter_covers_every_secret_key_name() -> None:
    """The scan parses only files holding one of SECRET_KEY_WORDS: every key name the spec scanner
    calls a secret must contain one, or a tree could hide one from `mlmon check`."""
    import re

    from mlmon_codegen.spec.secrets import SECRET_KEY

    names = re.search(r"\(\?:(password[^)]*)\)", SECRET_KEY.pattern).group(1).replace("_?", "_").split("|")
    assert len(names) >= 10
    for name in names:
        assert SECRET_KEY.match(name) and SECRET_KEY.match(f"my_{name}".upper()), name
        assert any(word in name.lower() for word in secret_scan.SECRET_KEY_WORDS), name
