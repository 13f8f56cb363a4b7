"""Copies of a generated tree's configs with local addresses, for a stack on 127.0.0.1.

Only addresses change: scrape targets point at the local services (or at a service the user
already runs, `mlmon up --service`, with its metrics path), the Alertmanager target at the
local Alertmanager, and every receiver at the webhook recorder (a PagerDuty key or SMTP server
cannot be reached from a laptop or CI, so each receiver becomes a webhook to `<recorder>/<name>`).
Routes, inhibitions, rules and intervals are kept byte for byte. Nothing is written into OUT.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlmon_codegen.core import naming

PROMETHEUS_CONFIG = naming.PROMETHEUS_CONFIG


@dataclass(frozen=True)
class Rewritten:
    prometheus_config: Path
    alertmanager_config: Path | None
    dropped_jobs: tuple[str, ...] = field(default=())  # jobs with no local service (e.g. Kubernetes discovery)


@dataclass(frozen=True)
class Target:
    """A service that is already running (`mlmon up --service`): where and how to scrape it."""

    addresses: tuple[str, ...]  # host:port
    metrics_path: str = "/metrics"
    scheme: str = "http"
    params: tuple[tuple[str, str], ...] = ()  # the URL's query

    def job(self, name: str) -> dict[str, Any]:
        """A scrape job of its own, for a model whose series an existing job collects elsewhere."""
        return self.onto({"job_name": name})

    def onto(self, job: dict[str, Any]) -> dict[str, Any]:
        out = {**job, "metrics_path": self.metrics_path, "scheme": self.scheme}
        if self.params:
            values: dict[str, list[str]] = {}
            for key, value in self.params:
                values.setdefault(key, []).append(value)
            out["params"] = values
        else:
            out.pop("params", None)
        out["static_configs"] = [{"targets": list(self.addresses)}]
        return out

    @property
    def urls(self) -> list[str]:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return [f"{self.scheme}://{a}{self.metrics_path}" + (f"?{query}" if query else "") for a in self.addresses]


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _dump(path: Path, data: dict[str, Any]) -> None:
    header = "# A copy made by mlmon's local stack from a generated tree: only the addresses differ.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def prometheus_config(config: dict[str, Any], targets: Mapping[str, str | Target], alertmanager: str,
                      rule_files: Mapping[str, str | Collection[str]] | None = None,
                      ) -> tuple[dict[str, Any], list[str]]:
    """`targets`: job name → host:port of the local service, or the Target of a service already
    running (its address, metrics path and scheme replace the job's; a Target for a job that
    prometheus.yml lacks, a model an existing job collects, gets a job of its own). Jobs without a
    target are dropped, and so are the rule files of every job without one (`rule_files`: job → its
    model's rule file, or files, as prometheus.yml names them): loaded, their ModelDown would page
    for a model that simply is not running here."""
    out = dict(config)
    out["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    jobs, dropped = [], []
    for job in config.get("scrape_configs") or []:
        name = job["job_name"]
        if name not in targets:
            dropped.append(name)
            continue
        local = {k: v for k, v in job.items() if not k.endswith("_sd_configs") and k != "relabel_configs"}
        target = targets[name]
        if isinstance(target, Target):
            local = target.onto(local)
        else:
            local["static_configs"] = [{"targets": [target]}]
        jobs.append(local)
    present = {job["job_name"] for job in jobs} | set(dropped)
    jobs += [t.job(name) for name, t in targets.items() if isinstance(t, Target) and name not in present]
    out["scrape_configs"] = jobs
    left_out: set[str] = set()
    for job, files in (rule_files or {}).items():
        if job not in targets:
            left_out.update([files] if isinstance(files, str) else files)
    out["rule_files"] = [f for f in config.get("rule_files") or [] if f not in left_out]
    return out, dropped


def alertmanager_config(config: dict[str, Any], webhook_url: str) -> dict[str, Any]:
    out = dict(config)
    receivers = []
    for r in config.get("receivers") or []:
        has_configs = any(k.endswith("_configs") for k in r)
        local: dict[str, Any] = {"name": r["name"]}
        if has_configs:  # the null receiver stays silent
            local["webhook_configs"] = [{"url": f"{webhook_url}/{r['name']}", "send_resolved": True}]
        receivers.append(local)
    out["receivers"] = receivers
    return out


def rewrite(out: Path, workdir: Path, targets: Mapping[str, str | Target], alertmanager: str, webhook_url: str,
            rule_files: Mapping[str, str | Collection[str]] | None = None) -> Rewritten:
    """Copy OUT's prometheus/ and alertmanager/ into WORKDIR and localise the copies."""
    for sub in ("prometheus", "alertmanager"):
        if (workdir / sub).exists():
            shutil.rmtree(workdir / sub)
        if (out / sub).is_dir():
            shutil.copytree(out / sub, workdir / sub)
    prom_path = workdir / PROMETHEUS_CONFIG
    prom, dropped = prometheus_config(_load(out / PROMETHEUS_CONFIG), targets, alertmanager, rule_files)
    _dump(prom_path, prom)
    am_path = workdir / naming.ALERTMANAGER_CONFIG
    if am_path.exists():
        _dump(am_path, alertmanager_config(_load(out / naming.ALERTMANAGER_CONFIG), webhook_url))
    return Rewritten(prom_path, am_path if am_path.exists() else None, tuple(dropped))
