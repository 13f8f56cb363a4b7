"""The builder leaves out the parentheses an operand does not need: promtool shows that every
binary expression it writes means what the fully parenthesised one means (same series, same
values), for operands of every kind the rules use and every operator."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
import yaml

from mlmon_codegen.core import promql as q

SELECTOR = 'a{k=~"x|(y)"}'  # a regex with brackets inside the string literal
OPERANDS = [
    "a", "b", SELECTOR, "rate(a[5m])", "sum by (k) (a)", "sum without (j) (b)", "max(a)", "abs(a)",
    "label_replace(b, \"k\", \"$1\", \"k\", \"(.*)\")", "2", "0.5", "1e-09",
    q.binop("a", "+", "b"), q.compare("a", ">", 1), q.set_op("a", "or", "b"), q.set_op("a", "unless", "b"),
    q.or_zero("sum(a)"), q.one_minus(q.binop("a", "/", "b")), q.binop("a", "*", "b"), q.paren("a - b"),
]
OPERATORS = ["+", "-", "*", "/", "^", ">", "<=", "and", "or", "unless"]
SET_OPERATORS = {"and", "or", "unless"}


def _is_number(expr: str) -> bool:
    try:
        float(expr)
    except ValueError:
        return False
    return True


def _pairs() -> list[tuple[str, str]]:
    out = []
    for left, op, right in itertools.product(OPERANDS, OPERATORS, OPERANDS):
        numbers = _is_number(left) + _is_number(right)
        if numbers == 2 or (numbers and op in SET_OPERATORS):
            continue  # not valid PromQL either way
        out.append((q.binop(left, op, right), f"({left}) {op} ({right})"))
    return out


def test_atomic_knows_what_binds_tighter_than_an_operator() -> None:
    for expr in ("a", SELECTOR, "rate(a[5m])", "sum by (k) (a)", "vector(0)", "(a or b)", "2", "1e-09"):
        assert q.atomic(expr), expr
    for expr in ("a + b", "a > 1", "-1", "a offset 5m", "(a) / (b)", "sum(a)/sum(b)", "a or b",
                 "(a)[5m:]", 'a{k="x"} @ end()', "sum(a) by (k)"):
        assert not q.atomic(expr), expr


def test_dropped_parentheses_never_change_what_an_expression_means(tmp_path: Path) -> None:
    pairs = _pairs()
    assert len(pairs) > 1000
    checks = []
    for new, old in pairs:
        if new == old:
            continue
        for expr in (f"count(({new}) unless ({old})) or vector(0)", f"count(({old}) unless ({new})) or vector(0)",
                     # NaN (a negative number to a fractional power) equals nothing, itself included
                     f"count((({new}) != ({old})) and (({new}) == ({new}) or ({old}) == ({old}))) or vector(0)"):
            checks.append({"expr": expr, "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0}]})
    assert len(checks) > 1000  # most pairs lost parentheses
    series = [{"series": 'a{k="x", j="1"}', "values": "1+1x20"}, {"series": 'a{k="y", j="2"}', "values": "3+2x20"},
              {"series": 'b{k="x", j="1"}', "values": "2+3x20"}, {"series": 'b{k="z", j="3"}', "values": "5+1x20"}]
    (tmp_path / "empty.rules.yml").write_text("groups: []\n")
    (tmp_path / "t.test.yml").write_text(yaml.safe_dump({
        "rule_files": ["empty.rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}]}))
    res = subprocess.run(["promtool", "test", "rules", "t.test.yml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


@pytest.mark.parametrize("value", ['x"} or vector(1) #', "(", ")", "a) / (b"])
def test_a_label_value_with_brackets_or_quotes_stays_inside_its_string(value: str) -> None:
    sel = q.selector("m", {"l": value})
    assert q.atomic(sel)
    assert q.binop(sel, "/", sel) == f"{sel} / {sel}"
