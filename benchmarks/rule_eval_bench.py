"""Rule evaluation cost: mlmon's SLO rules against Sloth's, in one real Prometheus.

For each fleet size, N synthetic models with one availability SLO (99.9% over 30d) get:
- mlmon's rules, as generated (targets/rules.py);
- the rules `sloth generate` writes for the same SLO, in the exact form of Sloth's generated
  getting-started example (examples/_gen/getting-started.yml in slok/sloth), built here from
  that form (sloth_groups): the error ratio per window from the raw counters, the period ratio
  as the mean of the 5m ratio, its seven meta recordings, and its page and ticket alerts, all
  at the global interval.
Synthetic history (30 days by default, the SLO's period, as a server that has run a full period
holds it; `--days=3` for the longest alert window only) of counters and `up`, and of Sloth's 5m
ratio its period recording reads, at the interval Sloth records it, is backfilled with `promtool
tsdb create-blocks-from openmetrics` in blocks of 54h, compacted once by a Prometheus without rules
(no measured span pays for a merge), and continued live: every model's counters are served on
127.0.0.1 (LiveCounters) and scraped as its own job, so the fleet stays healthy while it is
measured. (Before, the history ended as Prometheus started: the short windows went empty and
`absent(up)` set every ModelDown pending, whose annotations Prometheus expands at each evaluation.)

In the same run, each set gets its own Prometheus, one after the other (so they never compete for
CPU), after a query that reads the whole history once (so neither pays for cold pages) and once
every model's target is up. The script reads `prometheus_rule_group_last_duration_seconds`,
`prometheus_rule_group_interval_seconds` and `process_cpu_seconds_total` from its /metrics over
one cycle of the slowest group (at least 4m for every set), and prints per SLO: evaluation seconds
per round (every group once), evaluation seconds per minute (duration x evaluations a minute: the
load a ruler carries), Prometheus CPU seconds per minute, and the series the rules record; then
where each set's time goes, by rule (the last evaluation of every rule, from /api/v1/rules, summed
over the fleet). A third Prometheus on the same history and scrapes without rules gives the floor
both sets pay (the "idle" row), and the CPU ratio is printed again beyond it.

Run: .venv/bin/python benchmarks/rule_eval_bench.py [N ...] [--days=D]   (default 50 200 and 30 days;
     about 25 min for 50 models, 20 with --days=3)
     --blocks=DIR reuses a backfilled TSDB of at least max(N) models (for quick iteration).
Prints figures only; never fails a build.
"""

from __future__ import annotations

import collections
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from mlmon_codegen.core import durations
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan import burnrate
from mlmon_codegen.plan import series as cardinality
from mlmon_codegen.plan.sli import role_rate, scrape_job, windows
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.stack.harness import HOST, free_port, stop_process
from mlmon_codegen.targets.rules import rule_file as rules

EVAL_INTERVAL = "30s"
HISTORY_DAYS = 30  # the SLO's period: what every period recording reads once a server has run that long
STEP_S = 60  # synthetic sample spacing, backfilled and live (both rule sets read the same data)
# Sloth's 5m ratio is its own recording, so its history has one sample per evaluation, not per scrape.
SLOTH_STEP_S = durations.parse(EVAL_INTERVAL) // 1000
# Backfill blocks of 54h (a compaction range): promtool reads its whole input once per block, so
# 2h blocks made a 30-day backfill 360 passes over a gigabyte.
BLOCK = "54h"
REQ_PER_S, ERR_SHARE = 20.0, 0.0005
MAX_WAIT_S = 420  # bounded: Prometheus is stopped after this whatever happened
# The least span every set's CPU is measured over: a 4m cycle. Sloth's groups all run every 30s, so
# its CPU was read over 40s against mlmon's 250s: unequal spans, the short one at the mercy of when
# the Go runtime collects garbage.
SPAN_S = 240

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: bench-{i:04d}, team: bench}}
scrape: {{targets: ["bench-{i:04d}:8000"]}}
slos:
  availability: {{objective: 99.9, period: 30d}}
"""
PROJECT = f"""\
apiVersion: mlmon/v1
kind: Project
metadata: {{name: bench}}
prometheus: {{scrape_interval: 15s, evaluation_interval: {EVAL_INTERVAL}}}
"""


def fleet_of(n: int, folder: Path) -> m.Fleet:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mlmon.yaml").write_text(PROJECT)
    for i in range(n):
        (folder / f"bench-{i:04d}.yaml").write_text(SPEC.format(i=i))
    return load_and_validate([folder]).fleet


# ---------------------------------------------------------------- Sloth's rule set


def sloth_labels(model: m.Model, slo: m.SLO, window: str | None = None) -> dict[str, str]:
    """Sloth's identity labels, then the spec's own labels (its getting-started example sets three)."""
    ids = {"sloth_id": f"{model.name}-{slo.name}", "sloth_service": model.name, "sloth_slo": slo.name}
    return {**ids, **({"sloth_window": window} if window else {}), "owner": model.team, "tier": "2"}


def sloth_sel(metric: str, model: m.Model, slo: m.SLO) -> str:
    """Sloth reads its own recordings by the three identity labels."""
    return q.selector(metric, {k: v for k, v in sloth_labels(model, slo).items() if k.startswith("sloth_")})


def sloth_groups(model: m.Model) -> list[dict]:
    """What `sloth generate` writes for the same SLO, in the form of its examples/_gen/getting-started.yml:
    per window `(sum(rate(errors[w]))) / (sum(rate(total[w])))` from the raw counters; the period
    ratio as sum_over_time / count_over_time of the 5m ratio; seven meta recordings (objective,
    error budget, period in days, current and period burn rate, budget remaining, info); a page
    and a ticket alert, each two multiwindow pairs `max(ratio > factor * budget) without (sloth_window)`.
    Every group at the global interval, as Sloth writes them."""
    groups = []
    for slo in model.slos:
        period = durations.format_ms(slo.period_ms)
        ratios = []
        for w in windows(slo):
            errors = q.agg("sum", role_rate(model, "errors", w))
            total = q.agg("sum", role_rate(model, "requests", w))
            ratios.append({"record": f"slo:sli_error:ratio_rate{q.window(w)}", "expr": q.binop(errors, "/", total),
                           "labels": sloth_labels(model, slo, q.window(w))})
        base = sloth_sel("slo:sli_error:ratio_rate5m", model, slo)
        ratios.append({"record": f"slo:sli_error:ratio_rate{period}",
                       "expr": f"{q.call('sum_over_time', q.rng(base, period))}\n/ {q.ignoring(('sloth_window',))}\n"
                               f"{q.call('count_over_time', q.rng(base, period))}",
                       "labels": sloth_labels(model, slo, period)})
        ids = q.on(("sloth_id", "sloth_slo", "sloth_service"))
        budget = sloth_sel("slo:error_budget:ratio", model, slo)
        meta_labels = sloth_labels(model, slo)
        meta = [
            {"record": "slo:objective:ratio", "expr": q.call("vector", q.number(slo.objective / 100))},
            {"record": "slo:error_budget:ratio", "expr": q.call("vector", f"1-{q.number(slo.objective / 100)}")},
            {"record": "slo:time_period:days", "expr": q.call("vector", str(slo.period_ms // 86_400_000))},
            {"record": "slo:current_burn_rate:ratio",
             "expr": f"{base}\n/ {q.group_left(ids)}\n{budget}"},
            {"record": "slo:period_burn_rate:ratio",
             "expr": f"{sloth_sel(f'slo:sli_error:ratio_rate{period}', model, slo)}\n/ {q.group_left(ids)}\n{budget}"},
            {"record": "slo:period_error_budget_remaining:ratio",
             "expr": q.one_minus(sloth_sel("slo:period_burn_rate:ratio", model, slo))},
            {"record": "sloth_slo_info", "expr": q.call("vector", "1"),
             "extra": {"sloth_mode": "cli-gen-prom", "sloth_objective": q.number(slo.objective),
                       "sloth_spec": "prometheus/v1", "sloth_version": "dev"}},
        ]
        meta = [{"record": r["record"], "expr": r["expr"], "labels": {**meta_labels, **r.get("extra", {})}}
                for r in meta]
        alerts = []
        tiers = burnrate.tiers(slo)
        for severity, pair in (("page", tiers[:2]), ("ticket", tiers[2:])):
            parts = []
            for t in pair:
                th = f"({q.number(t.factor)} * {q.number(1 - slo.objective / 100)})"
                short, long = (q.agg("max", q.compare(sloth_sel(f"slo:sli_error:ratio_rate{q.window(w)}", model, slo),
                                                      ">", th), without=("sloth_window",))
                               for w in (t.short_ms, t.long_ms))
                parts.append(f"(\n    {short}\n    and\n    {long}\n)")
            if parts:
                alerts.append({"alert": "SlothHighErrorRate", "expr": "\nor\n".join(parts),
                               "labels": {"severity": severity, "sloth_severity": severity},
                               "annotations": {"title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels"
                                                        ".sloth_slo}} SLO error budget burn rate is too fast."}})
        name = f"{model.name}-{slo.name}"
        groups += [{"name": f"sloth-slo-sli-recordings-{name}", "rules": ratios},
                   {"name": f"sloth-slo-meta-recordings-{name}", "rules": meta},
                   {"name": f"sloth-slo-alerts-{name}", "rules": alerts}]
    return groups


# ---------------------------------------------------------------- synthetic history


def target_labels(model: m.Model) -> str:
    """The labels a scrape of the model's job attaches, so the backfilled and the live series are one."""
    return f'job="{scrape_job(model)}",instance="{model.scrape.targets[0]}"'


def counter_value(family: str, t: float, start_s: int) -> float:
    """Requests (and their errors) at a steady rate since the history's start: one formula for the
    backfill and the live scrape, so no counter resets between them."""
    return REQ_PER_S * (ERR_SHARE if "errors" in family else 1) * (t - start_s)


def write_openmetrics(fleet: m.Fleet, start_s: int, end_s: int, path: Path) -> None:
    """Counters and `up` for every model, one sample every STEP_S, plus Sloth's 5m ratio its period
    recording reads, one every SLOTH_STEP_S (mlmon's period ratio reads the counters). Written as
    it is made: a month of a fleet is about a gigabyte of text."""
    families: dict[str, list[str]] = {}
    for model in fleet.models:
        sel = f'model_name="{model.name}",{target_labels(model)}'
        families.setdefault("ml_prediction_requests", []).append(sel)
        families.setdefault("ml_prediction_errors", []).append(f'{sel},error_type="internal"')
        # A healthy service is scraped: without `up`, mlmon's ModelDown would be pending for every model.
        families.setdefault("up", []).append(target_labels(model))
        for slo in model.slos:
            labels = ",".join(f'{k}="{v}"' for k, v in sloth_labels(model, slo, "5m").items())
            families.setdefault("slo:sli_error:ratio_rate5m", []).append(labels)
    with path.open("w") as out:
        for family, series in families.items():
            counter = family.startswith("ml_")
            name = f"{family}_total" if counter else family
            step = SLOTH_STEP_S if family.startswith("slo:") else STEP_S
            out.write(f"# TYPE {family} {'counter' if counter else 'gauge'}\n")
            gauge = 1 if family == "up" else ERR_SHARE
            for labels in series:
                out.writelines(f"{name}{{{labels}}} {counter_value(family, t, start_s) if counter else gauge} {t}\n"
                               for t in range(start_s, end_s, step))
        out.write("# EOF\n")


class LiveCounters:
    """The history's counters, continued: GET /m/<model> answers that model's counters now, in the
    text exposition format, on 127.0.0.1. The server stops with `close()` or with this process."""

    def __init__(self, fleet: m.Fleet, start_s: int) -> None:
        names = {x.name for x in fleet.models}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.removeprefix("/m/")
                if name not in names:
                    self.send_error(404)
                    return
                now = time.time()
                body = "".join(
                    f"# TYPE {family} counter\n{family}_total{{model_name=\"{name}\"{extra}}} "
                    f"{counter_value(family, now, start_s)}\n"
                    for family, extra in (("ml_prediction_requests", ""),
                                          ("ml_prediction_errors", ',error_type="internal"'))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def scrape_configs(self, models: list[m.Model]) -> list[dict]:
        """One job per model, named as its rules expect, its instance label the spec's target, scraped
        as often as the history was sampled."""
        return [{"job_name": scrape_job(x), "metrics_path": f"/m/{x.name}", "scrape_interval": f"{STEP_S}s",
                 "static_configs": [{"targets": [f"{HOST}:{self.port}"]}],
                 "relabel_configs": [{"target_label": "instance", "replacement": x.scrape.targets[0]}]}
                for x in models]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- Prometheus


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def scrape_self(base: str) -> tuple[dict[str, dict[str, float]], float]:
    """rule_group → last duration, interval and last evaluation time, and the process CPU seconds,
    from Prometheus' own /metrics."""
    out: dict[str, dict[str, float]] = {}
    cpu = 0.0
    wanted = {"prometheus_rule_group_last_duration_seconds": "duration",
              "prometheus_rule_group_interval_seconds": "interval",
              "prometheus_rule_group_last_evaluation_timestamp_seconds": "last"}
    for fam in text_string_to_metric_families(get(f"{base}/metrics")):
        if fam.name in wanted:
            for s in fam.samples:
                out.setdefault(s.labels["rule_group"], {})[wanted[fam.name]] = s.value
        elif fam.name == "process_cpu_seconds":
            cpu = fam.samples[0].value
    return out, cpu


def start_prometheus(config: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    # A retention well past any history given, so none of it is deleted while measured.
    return subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address={HOST}:{port}", "--storage.tsdb.retention.time=400d",
                             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def compact(blocks: Path, work: Path) -> None:
    """Let a Prometheus without rules merge the backfill's 2h blocks, as a server holding days of
    history has them, so no measured span pays for that compaction (it starts a minute after
    startup). Done when, past the first compaction, the loaded block count has held for 30s;
    bounded by MAX_WAIT_S."""
    config = work / "compact.prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}}))
    port = free_port()
    proc = start_prometheus(config, blocks, port)
    counts: list[float] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < MAX_WAIT_S:
            time.sleep(5)
            try:
                metrics = text_string_to_metric_families(get(f"http://{HOST}:{port}/metrics"))
                counts += [f.samples[0].value for f in metrics if f.name == "prometheus_tsdb_blocks_loaded"]
            except OSError:
                continue
            if time.monotonic() - started > 90 and len(counts) >= 7 and len(set(counts[-7:])) == 1:
                break
    finally:
        stop_process(proc, grace=30)
    for leftover in blocks.iterdir():  # the empty head, its WAL and lock: only blocks are shared
        if leftover.is_dir() and not (leftover / "meta.json").exists():
            shutil.rmtree(leftover)
        elif leftover.is_file():
            leftover.unlink()


def warm_up(base: str, history_s: int) -> None:
    """Read all the history once, so neither rule set pays for cold pages the other warmed."""
    for metric in ("ml_prediction_requests_total", "ml_prediction_errors_total", "up", "slo:sli_error:ratio_rate5m"):
        query = urllib.parse.quote(f"sum(count_over_time({metric}[{history_s}s]))")
        get(f"{base}/api/v1/query?query={query}")


def samples_per_minute(base: str, groups: list[dict]) -> float:
    """Samples the rules of `groups` read in a minute, by Prometheus' own query statistics
    (`stats=all`): each rule's expression once, times its group's evaluations a minute. Unlike
    durations, this does not depend on how busy the machine is."""
    total = 0.0
    for g in groups:
        per_min = 60_000 / durations.parse(g.get("interval", EVAL_INTERVAL))
        for r in g["rules"]:
            query = urllib.parse.quote(r["expr"])
            stats = json.loads(get(f"{base}/api/v1/query?query={query}&stats=all"))["data"].get("stats", {})
            total += stats.get("samples", {}).get("totalQueryableSamples", 0) * per_min
    return total


def targets_up(base: str, jobs: int) -> bool:
    result = json.loads(get(f"{base}/api/v1/query?query={urllib.parse.quote('count(up == 1)')}"))["data"]["result"]
    return bool(result) and float(result[0]["value"][1]) >= jobs


def time_by_rule(base: str) -> dict[str, float]:
    """Each rule's last evaluation seconds, summed over the fleet by rule name and interval, per minute."""
    out: dict[str, float] = collections.defaultdict(float)
    for g in json.loads(get(f"{base}/api/v1/rules"))["data"]["groups"]:
        for r in g["rules"]:
            out[f"{r['name']} every {g['interval']:g}s"] += r.get("evaluationTime", 0.0) * 60 / g["interval"]
    return out


def measure(rule_file: Path, blocks: Path, work: Path, probe: list[dict], scrape: list[dict],
            history_s: int) -> dict:
    """One Prometheus with one rule set: evaluation seconds per round and per minute, from
    prometheus_rule_group_last_duration_seconds (evaluations after the warm-up only), and the
    process CPU seconds per minute over one longest group interval, at least SPAN_S."""
    config = work / f"{rule_file.stem}.prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"evaluation_interval": EVAL_INTERVAL, "scrape_interval": "15s"},
        "rule_files": [str(rule_file)],
        "scrape_configs": scrape,
    }))
    data = work / f"{rule_file.stem}.data"
    shutil.copytree(blocks, data)
    port = free_port()
    base = f"http://{HOST}:{port}"
    proc = start_prometheus(config, data, port)
    samples: dict[str, list[float]] = {}
    intervals: dict[str, float] = {}
    try:
        deadline = time.monotonic() + MAX_WAIT_S
        while time.monotonic() < deadline:
            try:
                warm_up(base, history_s)
                break
            except OSError:
                time.sleep(1)
        # Every model's target scraped, so no ModelDown is pending and the short windows have live samples.
        while time.monotonic() < deadline and not targets_up(base, len(scrape)):
            time.sleep(2)
        read = samples_per_minute(base, probe)
        groups, cpu0 = scrape_self(base)
        t0, seen = time.time(), {k: g.get("last", 0.0) for k, g in groups.items()}
        cpu1, t1 = cpu0, t0
        while time.monotonic() < deadline:
            time.sleep(5)
            groups, cpu1 = scrape_self(base)
            t1 = time.time()
            for name, g in groups.items():
                intervals[name] = g.get("interval", 0.0)
                if g.get("last", 0) > t0 and g["last"] != seen.get(name):
                    seen[name] = g["last"]
                    samples.setdefault(name, []).append(g["duration"])
            longest = max(intervals.values(), default=0.0)
            # One full cycle of the slowest group, no shorter than SPAN_S, and every group seen at least once.
            if t1 - t0 >= max(longest + 10, SPAN_S) and all(k in samples for k in groups):
                break
        by_rule = time_by_rule(base)
    finally:
        stop_process(proc, grace=30)
        shutil.rmtree(data, ignore_errors=True)
    evaluated = [k for k in intervals if k in samples]
    return {
        "groups": len(intervals), "not_evaluated": len(intervals) - len(evaluated),
        "round_s": sum(statistics.median(samples[k]) for k in evaluated),
        "eval_s_per_min": sum(statistics.median(samples[k]) * 60 / intervals[k] for k in evaluated),
        "cpu_s_per_min": (cpu1 - cpu0) * 60 / max(t1 - t0, 1e-9),
        "samples_per_min": read, "by_rule": by_rule,
    }


def run(n: int, blocks: Path, work: Path, fleet: m.Fleet, live: LiveCounters, history_s: int) -> dict[str, dict]:
    models = fleet.models[:n]
    rules_dir = work / f"rules-{n}"
    rules_dir.mkdir()
    mlmon_groups = [g for x in models for g in rules.render(x, fleet.project)["groups"]]
    (rules_dir / "mlmon.yml").write_text(yaml.safe_dump({"groups": mlmon_groups}, sort_keys=False))
    (rules_dir / "sloth.yml").write_text(yaml.safe_dump({"groups": [g for x in models for g in sloth_groups(x)]},
                                                        sort_keys=False))
    (rules_dir / "idle.yml").write_text(yaml.safe_dump({"groups": []}))
    n_slos = sum(len(x.slos) for x in models)
    # Recorded series counted from the rules themselves, which a live count would have to tell apart
    # from the scraped ones.
    series = {"mlmon": sum(cardinality.estimate(x, fleet.project).total for x in models),
              "sloth": sum(1 for x in models for g in sloth_groups(x) for r in g["rules"] if "record" in r)}
    result: dict[str, dict[str, float]] = {}
    series["idle"] = 0
    for which in ("mlmon", "sloth", "idle"):  # one after the other: none competes with another for CPU
        # Query statistics for the first model's rules: every model's rules read the same amounts.
        probe = {"mlmon": rules.render(models[0], fleet.project)["groups"], "sloth": sloth_groups(models[0]),
                 "idle": []}[which]
        r = measure(rules_dir / f"{which}.yml", blocks, work, probe, live.scrape_configs(models), history_s)
        result[which] = {**r, "round_s_per_slo": r["round_s"] / n_slos,
                         "eval_s_per_min_per_slo": r["eval_s_per_min"] / n_slos,
                         "cpu_s_per_min_per_slo": r["cpu_s_per_min"] / n_slos,
                         "samples_per_min_per_slo": r["samples_per_min"] / len(models[0].slos),
                         "series_per_slo": series[which] / n_slos,
                         "by_rule_per_slo": {k: v / n_slos for k, v in r["by_rule"].items()}}
    return result


def main(sizes: list[int], reuse: Path | None, days: int) -> None:
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"{tool} not found: install Debian's `prometheus` (make tools)")
            return
    with tempfile.TemporaryDirectory(prefix="mlmon-rule-bench-") as tmp:
        work = Path(tmp)
        fleet = fleet_of(max(sizes), work / "specs")
        blocks = reuse or work / "blocks"
        if reuse is None:
            started = time.perf_counter()
            end_s = int(time.time()) - 60
            start_s = end_s - days * 86_400
            write_openmetrics(fleet, start_s, end_s, work / "history.om")
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={BLOCK}",
                            str(work / "history.om"), str(blocks)], check=True, capture_output=True)
            (work / "history.om").unlink()
            backfilled = len(list(blocks.iterdir()))
            compact(blocks, work)
            print(f"backfilled {days}d of history for {max(sizes)} models in {time.perf_counter() - started:.0f}s "
                  f"(counters every {STEP_S}s, Sloth's 5m ratio every {SLOTH_STEP_S}s; {backfilled} blocks, "
                  f"{len(list(blocks.iterdir()))} once compacted)")
            (blocks / "history.json").write_text(json.dumps({"start_s": start_s, "end_s": end_s}))
        else:
            # Live counters must go on from the history's own start, or they would reset.
            history = json.loads((reuse / "history.json").read_text()) if (reuse / "history.json").is_file() else {}
            if not {"start_s", "end_s"} <= history.keys():
                print(f"--blocks={reuse}: no history.json with the history's start and end (this script writes it "
                      "beside the blocks it backfills)")
                return
            start_s, end_s = int(history["start_s"]), int(history["end_s"])
            print(f"reusing the {(end_s - start_s) // 86_400}d history in {reuse} (--blocks): a gap since it ended")
        live = LiveCounters(fleet, start_s)
        print(f"{'models':>6} {'rule set':>8} {'groups':>6} {'eval s/round/SLO':>17} {'eval s/min/SLO':>15} "
              f"{'CPU s/min/SLO':>14} {'samples/min/SLO':>15} {'series/SLO':>10}")
        for n in sizes:
            r = run(n, blocks, work, fleet, live, end_s - start_s)
            for which in ("mlmon", "sloth", "idle"):
                x = r[which]
                note = f"  ({x['not_evaluated']:.0f} groups not evaluated in time)" if x["not_evaluated"] else ""
                print(f"{n:>6} {which:>8} {x['groups']:>6.0f} {x['round_s_per_slo']:>17.6f} "
                      f"{x['eval_s_per_min_per_slo']:>15.6f} {x['cpu_s_per_min_per_slo']:>14.6f} "
                      f"{x['samples_per_min_per_slo']:>15.0f} "
                      f"{x['series_per_slo']:>10.1f}{note}")
            # Issue 17's goals: evaluation at most 0.5x Sloth's, Prometheus CPU at most 0.6x.
            for key, label, goal in (("eval_s_per_min_per_slo", "rule evaluation seconds", 0.5),
                                     ("cpu_s_per_min_per_slo", "Prometheus CPU seconds", 0.6),
                                     ("samples_per_min_per_slo", "samples read", None)):
                ratio = r["mlmon"][key] / max(r["sloth"][key], 1e-12)
                target = f" (target <= {goal:.2f})" if goal is not None else ""
                print(f"{n:>6} mlmon/sloth {label} per minute per SLO: {ratio:.2f}{target}")
            # What the rules add to a Prometheus that has the same history and no rules at all.
            idle = r["idle"]["cpu_s_per_min_per_slo"]
            net = (r["mlmon"]["cpu_s_per_min_per_slo"] - idle) / max(r["sloth"]["cpu_s_per_min_per_slo"] - idle, 1e-12)
            print(f"{n:>6} mlmon/sloth Prometheus CPU seconds per minute per SLO beyond the idle floor: {net:.2f}")
            for which in ("mlmon", "sloth"):
                by_rule = r[which]["by_rule_per_slo"]
                total = sum(by_rule.values())
                print(f"{n:>6} where {which}'s evaluation goes (ms per minute per SLO, share):")
                for name, v in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
                    print(f"{'':>8}{name:<58} {v * 1e3:8.3f} {v / max(total, 1e-12):6.1%}")
            sys.stdout.flush()
        live.close()


if __name__ == "__main__":
    flags = dict(a.removeprefix("--").split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    main([int(a) for a in sys.argv[1:] if not a.startswith("--")] or [50, 200],
         Path(flags["blocks"]) if "blocks" in flags else None, int(flags.get("days", HISTORY_DAYS)))
