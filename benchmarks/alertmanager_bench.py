"""Alertmanager target: render time and amtool check time for N models over 10 teams.

Prints, per N: seconds to render alertmanager.yml and the route cases, the config size, and the
wall time of `amtool check-config` and of the route tests (one amtool call per case).
Run: .venv/bin/python benchmarks/alertmanager_bench.py [N ...]   (default 10 100)
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from mlmon_codegen.check import amtool
from mlmon_codegen.emit.write import render_files, write_tree
from mlmon_codegen.spec import model as m
from mlmon_codegen.targets import alertmanager

TEAMS = 10


def _fleet(n: int) -> m.Fleet:
    receivers = []
    teams = []
    for t in range(TEAMS):
        pager = m.Receiver(f"team-{t}-pager", (m.ReceiverConfig("pagerduty", (("routing_key_file", f"/s/pd-{t}"),)),))
        chat = m.Receiver(f"team-{t}-chat", (m.ReceiverConfig("slack", (("api_url_file", "/s/slack"),
                                                                         ("channel", f"#team-{t}"))),))
        receivers += [pager, chat]
        teams.append((f"team-{t}", m.Routing(critical=pager.name, warning=chat.name, info=chat.name,
                                             retrain="ci", retrain_continue=t % 2 == 0)))
    receivers.append(m.Receiver("ci", (m.ReceiverConfig("webhook", (("url", "https://ci.example.com/r"),)),)))
    am = m.Alertmanager(receivers=tuple(receivers), time_intervals=(), teams=tuple(teams), default_receiver=None,
                        group_by=("alertname", "model", "slo"), group_wait_ms=30_000, group_interval_ms=300_000,
                        repeat_interval_ms=14_400_000)
    scrape = m.Scrape((), None, 15_000, None, "/metrics", "http")
    base = m.Model(name="x", team="x", source="bench", labels=(), description="", version=None,
                   task="classification", classes=(), scrape=scrape, metrics=None, slos=(),  # type: ignore[arg-type]
                   model_down_for_ms=300_000, no_traffic_for_ms=None, no_data_for_ms=600_000)
    models = []
    for i in range(n):
        override = m.Routing(critical="team-0-pager", warning="team-0-chat") if i % 10 == 0 else None
        models.append(dataclasses.replace(base, name=f"model-{i:04d}", team=f"team-{i % TEAMS}", routing=override))
    project = dataclasses.replace(m.DEFAULT_PROJECT, source="bench", alertmanager=am)
    return m.Fleet(project, tuple(models))


def main(sizes: list[int]) -> None:
    print(f"{'models':>7} {'render s':>9} {'config KiB':>10} {'check-config s':>14} {'cases':>6} {'route tests s':>13}")
    for n in sizes:
        fleet = _fleet(n)
        start = time.perf_counter()
        artifacts = alertmanager.artifacts(fleet)
        render_s = time.perf_counter() - start
        files = render_files(artifacts)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            write_tree(out, files)
            config = out / "alertmanager" / "alertmanager.yml"
            start = time.perf_counter()
            assert amtool.check_config(config).ok
            check_s = time.perf_counter() - start
            start = time.perf_counter()
            result = amtool.route_tests(out / "tests" / "alertmanager-routes.yml", config)
            routes_s = time.perf_counter() - start
            assert result.ok, result.output
        cases = 4 * n
        print(f"{n:>7} {render_s:>9.4f} {len(files['alertmanager/alertmanager.yml']) / 1024:>10.1f} "
              f"{check_s:>14.3f} {cases:>6} {routes_s:>13.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100])
