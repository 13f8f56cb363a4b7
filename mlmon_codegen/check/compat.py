"""What one engine generation accepts and the other reads differently, over a tree's rule files.

Prometheus 3 accepts UTF-8 metric and label names (`{"http.server.duration"}`, `"k8s.pod"="x"`)
that Prometheus 2, and remote-write stores that validate the classic charset, refuse: a tree
checked only with promtool 3 would pass here and fail there. Prometheus 3 also stores every classic
bucket bound as a float (`le="1.0"`), while Prometheus 2 keeps the client's text (a Go client writes
`le="1"`): an equality on an integer bound matches nothing on one generation or the other.
mlmon never generates either, so what this finds was edited by hand or came from outside.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from mlmon_codegen.check import rule_files
from mlmon_codegen.check.promtool import Run
from mlmon_codegen.core import promql as q

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(\s*\Z")
_MATCH_OP = re.compile(r"\s*(?:=~|!~|!=|=(?!=))")
_STRING = re.compile(q.STRING_LITERAL)
# A selector with its metric name, its braces' strings read whole (a value may hold `}`).
_SELECTOR = re.compile(r"""(?<![\w:"'`])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{((?:"""
                       + q.STRING_LITERAL + r"""|[^{}"'`])*)\}""")
STEP = "engine compatibility"
HINT = ("names outside [a-zA-Z_:][a-zA-Z0-9_:]* need Prometheus 3 and a store that accepts UTF-8 names; "
        "an integer bucket bound needs both spellings, le=~\"1(\\.0)?\" (what mlmon generates)")


def quoted_names(expr: str) -> Iterator[str]:
    """Metric and label names written in Prometheus 3's quoted form: a string that opens a
    selector, names a matcher's label, or stands in a grouping list. String values are skipped."""
    for match in _STRING.finditer(expr):
        before = expr[:match.start()].rstrip()
        after = expr[match.end():]
        opens_selector = before.endswith("{") and after.lstrip()[:1] in (",", "}")
        names_label = before[-1:] in ("{", ",") and _MATCH_OP.match(after) is not None
        in_grouping = _GROUPING.search(expr[:match.start()]) is not None or (
            before.endswith(",") and _in_grouping_list(expr, match.start()))
        if opens_selector or names_label or in_grouping:
            yield match.group(0)[1:-1]


def _in_grouping_list(expr: str, at: int) -> bool:
    """Whether position `at` is inside the parentheses of a `by (...)`-like list."""
    opening = expr.rfind("(", 0, at)
    return opening >= 0 and ")" not in expr[opening:at] and _GROUPING.search(expr[:opening + 1]) is not None


def rule_problems(rule: dict) -> list[str]:
    where = rule.get("record") or rule.get("alert") or "?"
    problems = []
    record = rule.get("record")
    if record is not None and not METRIC_NAME.match(str(record)):
        problems.append(f"{where}: recording name {record!r} is a UTF-8 name")
    for key in rule.get("labels") or {}:
        if not LABEL_NAME.match(str(key)):
            problems.append(f"{where}: label name {key!r} is a UTF-8 name")
    expr = str(rule.get("expr", ""))
    for name in quoted_names(expr):
        if not METRIC_NAME.match(name):
            problems.append(f"{where}: {name!r} is written as a UTF-8 name")
    for metric, body in _SELECTOR.findall(expr):
        if ":" in metric:
            continue  # a recorded series keeps the `le` its rule wrote; only scraped buckets are rewritten
        _, integer_le = q.dual_le_matchers(body)
        problems.extend(f"{where}: {metric}{{{m}}} matches an integer bucket bound in one spelling only"
                        for m in integer_le)
    return problems


def check_files(paths: list[Path], root: Path) -> list[Run]:
    if not paths:
        return []
    problems = []
    for path in paths:
        for rule in rule_files.rules(path) or []:
            problems.extend(f"{path.relative_to(root).as_posix()}: {p}" for p in rule_problems(rule))
    note = f"({len(paths)} rule files: names in Prometheus 2's charset, no integer `le` equality)"
    return [Run(STEP.split(), not problems, "\n".join([*problems, HINT] if problems else []), note)]
