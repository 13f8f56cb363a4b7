"""The local stack survives its Prometheus port being taken between choosing it and binding it
(a traffic connection's ephemeral port once did, in CI)."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from conftest import ROOT, invoke_mlmon

from mlmon_codegen.stack.harness import HOST, Stack


def test_prometheus_moves_to_another_port_when_its_own_is_taken(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke_mlmon("generate", str(ROOT / "tests" / "e2e" / "specs"), "-o", str(out)).returncode == 0
    said: list[str] = []
    stack = Stack(out, {}, tmp_path / "stack", max_seconds=120, log=said.append)
    taken = stack.prom_port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((HOST, taken))
        squatter.listen()
        with stack:
            assert stack.prom_port != taken
            with urllib.request.urlopen(f"{stack.prometheus_url}/-/ready", timeout=5) as r:
                assert r.status == 200
    assert any(f"{HOST}:{taken} was taken" in line for line in said)
