#!/usr/bin/env python3
"""Install today's engines (Debian testing's prometheus, promtool, prometheus-alertmanager: the LTS
releases 3.5 and 0.33) into a folder of the project's own, beside the machine's own (bookworm's
2.42 and 0.25), so the tests run against both generations.

Nothing is installed system-wide: `apt-get download` with a private apt state fetches the .deb
files and `dpkg-deb -x` unpacks them. The archive is the one the machine's own apt configuration
already uses for its Debian release (its URI and signing key), with the suite set to `testing`:
no host name is written here. Standard library only; run with the system python3 as root.

    python3 scripts/newer_engines.py [DEST]     # DEST defaults to .engines/newer
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ("prometheus", "promtool", "prometheus-alertmanager")
BINARIES = ("prometheus", "promtool", "prometheus-alertmanager", "amtool")
SUITE = "testing"
APT_DIRS = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("newer_engines: /etc/os-release names no VERSION_CODENAME")


def _stanzas(text: str) -> list[dict[str, str]]:
    """deb822 stanzas (`Types:`, `URIs:`, ...), comments dropped."""
    out, current = [], {}
    for raw in text.splitlines() + [""]:
        if raw.lstrip().startswith("#"):  # a comment line, not a stanza break
            continue
        line = raw.rstrip()
        if not line.strip():
            if current:
                out.append(current)
            current = {}
        elif ":" in line and not line[0].isspace():
            key, value = line.split(":", 1)
            current[key.strip().lower()] = value.strip()
    return out


def debian_source(release: str) -> tuple[str, str | None]:
    """(archive URI, signing keyring) of the machine's entry for `release` itself, with `main`."""
    files = [p for d in APT_DIRS if d.exists() for p in ([d] if d.is_file() else sorted(d.glob("*")))]
    for path in files:
        if path.suffix == ".sources":
            for st in _stanzas(path.read_text()):
                if ("deb" in st.get("types", "").split() and release in st.get("suites", "").split()
                        and "main" in st.get("components", "").split()):
                    return st["uris"].split()[0], st.get("signed-by")
        elif path.name == "sources.list" or path.suffix == ".list":
            for line in path.read_text().splitlines():
                m = re.match(r"^deb\s+(\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
                if m and m.group(3) == release and "main" in m.group(4).split():
                    opts = m.group(1) or ""
                    key = re.search(r"signed-by=(\S+?)[\s\]]", opts)
                    return m.group(2), key.group(1) if key else None
    raise SystemExit(f"newer_engines: no apt source for {release} main in /etc/apt; cannot derive the {SUITE} archive")


def main() -> None:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ".engines/newer").resolve()
    if all((dest / "usr" / "bin" / b).is_file() for b in BINARIES):
        return
    uri, key = debian_source(codename())
    state = dest.parent / "apt-state"
    shutil.rmtree(state, ignore_errors=True)
    for sub in ("parts", "lists/partial", "cache/archives/partial", "debs"):
        (state / sub).mkdir(parents=True)
    stanza = f"Types: deb\nURIs: {uri}\nSuites: {SUITE}\nComponents: main\n"
    (state / "parts" / f"{SUITE}.sources").write_text(stanza + (f"Signed-By: {key}\n" if key else ""))
    opts = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", f"Dir::Etc::SourceParts={state / 'parts'}",
            "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-qq"]
    subprocess.run(["apt-get", *opts, "update"], check=True)
    subprocess.run(["apt-get", *opts, "download", *PACKAGES], check=True, cwd=state / "debs")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for deb in sorted((state / "debs").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    shutil.rmtree(state)
    for b in BINARIES:
        version = subprocess.run([str(dest / "usr" / "bin" / b), "--version"], capture_output=True, text=True)
        print((version.stdout or version.stderr).splitlines()[0])


if __name__ == "__main__":
    main()
