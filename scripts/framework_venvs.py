"""Create the serving frameworks' own venvs for tests/test_real_frameworks.py (`make frameworks`).

BentoML and MLServer each get a venv under `.frameworks/` with pinned versions: their dependency
trees conflict with each other and with the project venv, so neither goes into `.venv`. A venv
whose stamp file holds the same pins is left alone (idempotent); a changed pin list rebuilds it.

    python3 scripts/framework_venvs.py [--root .frameworks] [NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What tests/test_real_frameworks.py serves, nothing more (CI time is tight).
# uvloop<0.22: MLServer 1.7.1's parallel workers fail to start with uvloop 0.22.
PINS: dict[str, list[str]] = {
    "bentoml": ["bentoml==1.4.40"],
    "mlserver": ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"],
}
STAMP = ".pins"


def venv_python(root: Path, name: str) -> Path:
    return root / name / "bin" / "python"


def ensure(root: Path, name: str, python: str) -> float | None:
    """Build the venv `root/name` unless its stamp matches PINS[name]. Seconds taken, None if kept."""
    venv = root / name
    stamp = venv / STAMP
    wanted = "\n".join(PINS[name]) + "\n"
    if stamp.is_file() and stamp.read_text() == wanted and venv_python(root, name).is_file():
        return None
    start = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv_python(root, name)), "-m", "pip", "install", "-q", "--no-compile",
                          *PINS[name]], stderr=subprocess.PIPE, text=True)
    # This machine's pip config lists index folders that lack most projects: one warning each.
    sys.stderr.writelines(line for line in pip.stderr.splitlines(keepends=True) if "is ignored:" not in line)
    if pip.returncode != 0:
        raise SystemExit(f"frameworks: installing {' '.join(PINS[name])} into {venv} failed")
    stamp.write_text(wanted)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"which venvs (default: all of {', '.join(PINS)})")
    parser.add_argument("--root", type=Path, default=ROOT / ".frameworks")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venvs are made from")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(PINS))
    if unknown:
        parser.error(f"unknown framework(s) {', '.join(unknown)}; known: {', '.join(PINS)}")
    args.root.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(PINS):
        took = ensure(args.root, name, args.python)
        state = "up to date" if took is None else f"installed in {took:.0f} s"
        print(f"frameworks: {name} ({' '.join(PINS[name])}) {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
