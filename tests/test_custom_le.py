"""Integer `le` matchers in custom SLI queries: rewritten to match both spellings of the bound.

Prometheus 3 stores every bucket bound as a float (`le="1"` from a Go client becomes "1.0"),
Prometheus 2 keeps the client's text, so an exact `le="1"` in a passed-through custom query finds
nothing on one of them. The rewritten rule is evaluated by promtool 2.42 (PATH) and 3.5
(.engines/newer, when present) on series of both spellings.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mlmon_codegen.core import promql as q
from mlmon_codegen.spec.validate import load_and_validate

ROOT = Path(__file__).resolve().parents[1]
NEWER = ROOT / ".engines" / "newer" / "usr" / "bin"

SPEC = """\
apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: m1, team: t}
scrape: {targets: ["m1:8000"]}
slos:
  fast-enough:
    objective: 99
    sli:
      error_query: sum(rate(work_seconds_count[{{window}}])) - sum(rate(work_seconds_bucket{le="1"}[{{window}}]))
      total_query: sum(rate(work_seconds_count[{{window}}]))
  ratio-only:
    objective: 99
    sli:
      error_ratio_query: >-
        1 - sum(rate(work_seconds_bucket{le = '1', x="le=\\"2\\""}[{{window}}]))
        / sum(rate(work_seconds_count[{{window}}]))
"""


def test_the_rewrite_leaves_everything_but_integer_le_equality_alone() -> None:
    assert q.dual_le_matchers('h_bucket{le="1", job="a"}') == ('h_bucket{le=~"1(\\\\.0)?", job="a"}', ('le="1"',))
    assert q.dual_le_matchers("h{le = '10'}")[0] == 'h{le=~"10(\\\\.0)?"}'
    assert q.dual_le_matchers("h{le=`2`}")[0] == 'h{le=~"2(\\\\.0)?"}'
    for untouched in ('h{le="0.5"}', 'h{le="+Inf"}', 'h{le=~"1"}', 'h{le!="1"}', 'h{handle="1"}',
                      'h{x="le=\\"1\\""}', 'h{le="1.0"}', 'h  # le="3"'):
        assert q.dual_le_matchers(untouched) == (untouched, ()), untouched
    label, op, value = q.le_matcher(1)  # the built-in SLIs' matcher, the same text
    assert f"{label}{op}{q.quote(value)}" == q.dual_le_matchers('le="1"')[0]


@pytest.fixture
def generated(mlmon, tmp_path: Path) -> tuple[Path, str]:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "m1.yaml").write_text(SPEC)
    result = mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "prometheus" / "rules" / "m1.rules.yml", result.stderr


def test_a_located_warning_says_what_was_rewritten_and_why(tmp_path: Path) -> None:
    (tmp_path / "m1.yaml").write_text(SPEC)
    result = load_and_validate([tmp_path])
    texts = [str(w) for w in result.warnings]
    error = next(t for t in texts if "slos.fast-enough.sli.error_query" in t)
    assert error.startswith(f"{tmp_path / 'm1.yaml'}:9:")
    assert 'rewrote le="1" as le=~"1(\\\\.0)?"' in error and "Prometheus 3" in error and '"1.0"' in error
    ratio = next(t for t in texts if "slos.ratio-only.sli.error_ratio_query" in t)
    assert "rewrote le = '1' as" in ratio
    assert not any("total_query" in t for t in texts)  # nothing to rewrite there
    slos = {s.name: s for s in result.fleet.models[0].slos}
    custom = slos["fast-enough"].custom
    assert custom is not None and custom.error_query is not None
    assert 'le=~"1(\\\\.0)?"' in custom.error_query and 'le="1"' not in custom.error_query
    ratio_query = slos["ratio-only"].custom.error_ratio_query  # type: ignore[union-attr]
    assert 'le=~"1(\\\\.0)?"' in ratio_query and 'x="le=\\"2\\""' in ratio_query  # a string's insides stay


# Two instances, one per client spelling. Per second: go 1 request, 0.9 under 1s; python 2
# requests, 1.6 under 1s. Errors (slower than 1s): 0.1 + 0.4 = 0.5 of 3 requests a second.
GO_COUNT, GO_FAST, PY_COUNT, PY_FAST = 60, 54, 120, 96  # per minute
EXPECTED_RATIO = ((GO_COUNT - GO_FAST) + (PY_COUNT - PY_FAST)) / (GO_COUNT + PY_COUNT)


def _unit_test(rule_file: Path, folder: Path) -> Path:
    series = [
        ('work_seconds_count{instance="go"}', GO_COUNT), ('work_seconds_bucket{instance="go", le="1"}', GO_FAST),
        ('work_seconds_count{instance="py"}', PY_COUNT), ('work_seconds_bucket{instance="py", le="1.0"}', PY_FAST),
    ]
    labels = {"model": "m1", "slo": "fast-enough"}
    test = {
        "rule_files": [str(rule_file)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": f"0+{step}x30"} for s, step in series],
            "promql_expr_test": [
                {"expr": 'mlmon_slo:error_ratio:rate5m{slo="fast-enough"}', "eval_time": "20m",
                 "exp_samples": [{"labels": f"mlmon_slo:error_ratio:rate5m{q.selector('', labels)}",
                                  "value": EXPECTED_RATIO}]},
                # The period ratio reads the counters too; the shares never change, so it is the same
                # (to rounding: rates over a longer range divide differently).
                {"expr": f'abs(mlmon_slo:error_ratio:period{{slo="fast-enough"}} - {EXPECTED_RATIO!r}) < bool 1e-12',
                 "eval_time": "20m", "exp_samples": [{"labels": q.selector("", labels), "value": 1}]},
            ],
        }],
    }
    path = folder / "le_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path


ENGINES = {"promtool 2": "promtool", "promtool 3": str(NEWER / "promtool")}


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_the_rewritten_rule_finds_both_spellings(engine: str, generated: tuple[Path, str], tmp_path: Path) -> None:
    rule_file, stderr = generated
    assert "warning: slos.fast-enough.sli.error_query: rewrote" in stderr
    text = rule_file.read_text()
    assert 'le=~"1(\\\\.0)?"' in text and 'le="1"' not in text
    tool = ENGINES[engine]
    if engine == "promtool 3":  # make test unpacks it; a missing engine fails, never skips
        assert os.access(tool, os.X_OK), f"{NEWER} is missing: run `make engines` (make test does)"
    assert pytest.approx(1 / 6) == EXPECTED_RATIO
    run = subprocess.run([tool, "test", "rules", str(_unit_test(rule_file, tmp_path))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # The exact matcher as written misses the bucket spelled "1.0": the same test fails on it.
    unrewritten = tmp_path / "unrewritten" / rule_file.name
    unrewritten.parent.mkdir()
    unrewritten.write_text(text.replace('le=~"1(\\\\.0)?"', 'le="1"'))
    run = subprocess.run([tool, "test", "rules", str(_unit_test(unrewritten, unrewritten.parent))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "mlmon_slo:error_ratio:rate5m" in run.stdout + run.stderr
