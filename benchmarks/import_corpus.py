"""How many published SLO documents `mlmon import` takes: per file, import then generate.

    python benchmarks/import_corpus.py openslo DIR [DIR ...]
    python benchmarks/import_corpus.py sloth DIR

Prints per format the files that import and generate, those refused with a located error (exit
2, the expected answer for what mlmon cannot express), and anything else (a crash: a bug), with
the first line of each refusal so the reasons can be counted. Not part of the test suite: the
documents are other projects' and are not in this repository.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import tempfile
from pathlib import Path

FORMATS = ("openslo", "sloth", "pyrra")


def documents(folder: Path) -> list[Path]:
    # Sloth's generated rule files and Helm values are not SLO specs.
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and "_gen" not in p.parts
                  and ".k8s" not in p.parts)


def mlmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlmon_codegen", *args], capture_output=True, text=True,
                          timeout=120)


def measure(fmt: str, files: list[Path]) -> tuple[int, collections.Counter[str], list[str]]:
    ok, refused, crashed = 0, collections.Counter[str](), []
    for path in files:
        with tempfile.TemporaryDirectory() as tmp:
            specs = Path(tmp) / "specs"
            imported = mlmon("import", fmt, str(path), "-o", str(specs))
            if imported.returncode == 0:
                generated = mlmon("generate", str(specs), "-o", str(Path(tmp) / "out"))
                if generated.returncode == 0:
                    ok += 1
                    continue
                imported = generated
            if imported.returncode == 2:
                first = next((x for x in imported.stderr.splitlines() if x and not x.startswith("mlmon: ")), "")
                refused[first.split(": ", 2)[-1][:90]] += 1
            else:
                crashed.append(f"{path}: exit {imported.returncode}: {imported.stderr.strip()[-300:]}")
    return ok, refused, crashed


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in FORMATS:
        print(__doc__)
        return 2
    files = [f for folder in argv[1:] for f in documents(Path(folder))]
    ok, refused, crashed = measure(argv[0], files)
    print(f"{argv[0]}: {len(files)} files: {ok} import and generate, {sum(refused.values())} refused with a "
          f"located error, {len(crashed)} other")
    for reason, n in refused.most_common():
        print(f"  {n:4d}  {reason}")
    for line in crashed:
        print(f"  BUG  {line}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
