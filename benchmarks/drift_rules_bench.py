"""Drift in PromQL: how many rules it takes, what promtool pays to evaluate them, and how closely
the recorded PSI and KS match numpy on the same sample and bins.

Uses specs/iris-full.yaml and its committed baseline. For each of several drifted samples of the
iris data (sepal features shifted by growing amounts), the feature histograms are fed to
`promtool test rules` as counters; each recorded PSI and KS is read back (the test asks for 0
difference and promtool prints the value it got) and compared with numpy. Then the price of an
exact sample size: 20 counters, each counted over 1h (240 samples at 15 s) by increase() and by
plan/drift.counted, evaluated every minute for a day, one rule file each.

Run: .venv/bin/python benchmarks/drift_rules_bench.py        Prints figures only; never fails a build.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from prometheus_client.utils import floatToGoString

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlmon_codegen.emit.write import dump_yaml  # noqa: E402
from mlmon_codegen.ml import data as mldata  # noqa: E402
from mlmon_codegen.plan import drift, ml_rules  # noqa: E402
from mlmon_codegen.spec.validate import load_and_validate  # noqa: E402
from mlmon_codegen.targets.rules import rule_file as rules  # noqa: E402

GOT = re.compile(r'feature="([^"]+)", model="[^"]+"\} ([-+0-9.Ee]+)')


def main() -> None:
    fleet = load_and_validate([ROOT / "specs"]).fleet
    model = next(m for m in fleet.models if m.name == "iris-full")
    groups = ml_rules.groups(model, fleet.project)
    n_rules = sum(len(g.rules) for g in groups)
    print(f"iris-full: {len(model.features)} features, {n_rules} ML rules in {len(groups)} groups "
          f"({sum(len(f.edges) for f in model.features)} bucket edges)")
    table = mldata.read_table(ROOT / "examples/data/iris.csv")
    data = {f.name: mldata.numeric(table, f.name)[0] for f in model.features}
    eps = model.ml.drift.epsilon
    worst = {"psi": 0.0, "ks": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yml").write_text(dump_yaml(rules.render(model, fleet.project)))
        tests, expected = [], []
        rng = np.random.default_rng(1)
        for shift in (0.0, 0.2, 0.5, 1.0, 2.0):
            idx = rng.integers(0, 150, 1000)
            sample = {k: v[idx] + (shift if k.startswith("sepal") else 0.0) for k, v in data.items()}
            series, checks, exp = [], [], {}
            for f in model.features:
                x = sample[f.name]
                for e in [*f.edges, float("inf")]:
                    le = floatToGoString(e)
                    name = f'ml_feature_value_bucket{{model_name="iris-full", feature="{f.name}", le="{le}"}}'
                    series.append({"series": name, "values": f"0x60 {int(np.sum(x <= e))}x60"})
                series.append({"series": f'ml_feature_value_count{{model_name="iris-full", feature="{f.name}"}}',
                               "values": f"0x60 {len(x)}x60"})
                p = np.bincount(np.searchsorted(np.asarray(f.edges), x, side="left"), minlength=len(f.edges) + 1)
                p = p / len(x)
                q = np.asarray(f.shares)
                exp[f.name] = {"psi": float(np.sum((p - q) * np.log((p + eps) / (q + eps)))),
                               "ks": float(np.max(np.abs(np.cumsum(p)[:-1] - np.cumsum(q)[:-1])))}
            for kind in ("psi", "ks"):
                checks.append({"expr": f"mlmon_ml:feature_{kind}:increase1h", "eval_time": "2h",
                               "exp_samples": [{"labels": "{}", "value": 0}]})
            tests.append({"interval": "1m", "input_series": series, "promql_expr_test": checks})
            expected.append(exp)
        (Path(tmp) / "t.yml").write_text(yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                                                         "tests": tests}))
        res, elapsed, cpu = promtool(Path(tmp), "t.yml")
        out = res.stdout + res.stderr
    # promtool reports each failed check (all of them, by design) in test order, psi then ks
    blocks = out.split('expr: "mlmon_ml:feature_')[1:]
    compared = 0
    for i, block in enumerate(blocks):
        exp, kind = expected[i // 2], ("psi", "ks")[i % 2]
        for feature, value in GOT.findall(block):
            worst[kind] = max(worst[kind], abs(float(value) - exp[feature][kind]))
            compared += 1
    print(f"promtool: {len(tests)} samples x 121 evaluations of the whole rule file in {elapsed:.2f} s, "
          f"{cpu:.2f} CPU-s")
    print("largest PSI per sample:", ", ".join(f"{max(e['psi'] for e in x.values()):.4f}" for x in expected))
    print(f"{compared} recorded values compared with numpy")
    print(f"max |PSI_promql - PSI_numpy| = {worst['psi']:.3g}; max |KS_promql - KS_numpy| = {worst['ks']:.3g}")
    print("sample size, 20 counters x 1441 evaluations: " + ", ".join(
        f"{name} {cpu:.2f} CPU-s" for name, cpu in sample_size_cost().items()))


def promtool(cwd: Path, test_file: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """`promtool test rules`, its wall time and its CPU time (on a shared machine the wall time
    mostly measures the neighbours)."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run(["promtool", "test", "rules", test_file], cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return res, time.perf_counter() - start, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def sample_size_cost() -> dict[str, float]:
    features = [f"f{i}" for i in range(20)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, count in (("increase()", drift.increase), ("exact", drift.counted)):
            rules = [{"record": "n", "expr": count("c", [("feature", "=", f)], 3_600_000), "labels": {"feature": f}}
                     for f in features]
            (Path(tmp) / "n.yml").write_text(yaml.safe_dump({"groups": [{"name": "n", "rules": rules}]}))
            series = [{"series": f'c{{feature="{f}"}}', "values": f"0+{i + 1}x5760"} for i, f in enumerate(features)]
            check = {"expr": "count(n)", "eval_time": "24h", "exp_samples": [{"labels": "{}", "value": len(features)}]}
            (Path(tmp) / "n.test.yml").write_text(yaml.safe_dump({
                "rule_files": ["n.yml"], "evaluation_interval": "1m",
                "tests": [{"interval": "15s", "input_series": series, "promql_expr_test": [check]}]}))
            res, _, out[name] = promtool(Path(tmp), "n.test.yml")
            assert res.returncode == 0, res.stdout + res.stderr
    return out


if __name__ == "__main__":
    main()
