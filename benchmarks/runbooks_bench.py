"""Runbooks target: what one runbook per alert costs on top of the rest of `mlmon generate`.

Runbooks read the alerts from each model's rendered rule file; this prints milliseconds per
model for every default artifact of a model without its runbooks, for the runbooks alone, and
the runbooks written.
Run: .venv/bin/python benchmarks/runbooks_bench.py [N ...]   (default 10 100)
"""

from __future__ import annotations

import sys
import time

from mlmon_codegen.build import generate
from mlmon_codegen.core import naming
from mlmon_codegen.spec.load import load_text
from mlmon_codegen.spec.validate import validate_documents
from mlmon_codegen.targets import runbooks

SPEC = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: model-{i}, team: team-{t}}}
model: {{expected_rps: 20}}
scrape: {{targets: ["model-{i}:8000"]}}
slos:
  availability: {{objective: 99.9, period: 30d}}
  latency: {{objective: 99, threshold: 250ms}}
  accuracy: {{objective: 90, period: 7d}}
"""


def main(sizes: list[int]) -> None:
    for n in sizes:
        docs = [load_text(f"model-{i}.yaml", SPEC.format(i=i, t=i % 10).encode())[0] for i in range(n)]
        fleet = validate_documents(docs).fleet
        start = time.perf_counter()
        everything = [a for x in fleet.models for a in generate.model_artifacts(x, fleet.project)]
        with_runbooks = time.perf_counter() - start
        rule_files = {a.path: a.data for a in everything if a.path.startswith("prometheus/rules/")}
        start = time.perf_counter()
        written = [a for x in fleet.models
                   for a in runbooks.render_model(x, fleet.project, rule_files[naming.rules_file(x.name)])]
        alone = time.perf_counter() - start
        others = with_runbooks - alone
        print(f"N={n:5d}  other targets {others / n * 1000:7.1f} ms/model   runbooks "
              f"{alone / n * 1000:7.1f} ms/model   {len(written)} runbooks")

if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100])
