"""`group_by` on SLOs: which labels may split an SLO into groups, and what a custom SLI's query keeps.

A group label becomes a label of every recording, alert and dashboard query of the SLO, so it must
be a label name mlmon does not set itself and not one of the model's selector labels or a role's
matcher labels (mlmon fixes their values: grouping by them splits nothing). A custom SLI's window query is wrapped in
`sum by (group labels)`; when its own outer aggregation keeps other labels, the wrapper would
collapse them, and when it drops a group label, the groups would lose it: both are said here.
"""

from __future__ import annotations

import re

from mlmon_codegen.core import naming
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.load import Document, Loc

# `le` is the bucket label the latency SLI reads; grouping by it would split good from total.
NOT_GROUPABLE = (*naming.RESERVED_ALERT_LABELS, naming.LE_LABEL)
_AGG = re.compile(r"\s*(sum|max|min|avg|count)\s*(?:(by|without)\s*\(([^)]*)\)\s*)?\(")
_TRAILING = re.compile(r"\s*(by|without)\s*\(([^)]*)\)")
_STRING = re.compile(r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`""")


def group_labels(doc: Document, loc: Loc, labels: list[str], selector: set[str],
                 problems: list[Problem]) -> tuple[str, ...]:
    """The group labels as written, with a located problem per label that cannot group."""
    seen: set[str] = set()
    for i, label in enumerate(labels):
        where = (*loc, i)
        if label in NOT_GROUPABLE:
            problems.append(doc.problem(where, f"`{label}` is a label mlmon sets or reads itself",
                                        f"reserved: {', '.join(NOT_GROUPABLE)}; group by a label of your series"))
        elif label in selector:
            problems.append(doc.problem(where, f"`{label}` is a label of the model's selector or of a role's "
                                        "matchers: mlmon fixes its value, so there is nothing to group",
                                        "group by a label that varies within the model (model_version, endpoint)"))
        elif label in seen:
            problems.append(doc.problem(where, f"`{label}` is listed twice"))
        seen.add(label)
    return tuple(labels)


def _close(query: str, start: int) -> int | None:
    """The index just past the parenthesis matching the one before `start`; None when unbalanced."""
    depth, i = 1, start
    while i < len(query):
        string = _STRING.match(query, i)
        if string:
            i = string.end()
            continue
        depth += {"(": 1, ")": -1}.get(query[i], 0)
        i += 1
        if depth == 0:
            return i
    return None


def outer_grouping(query: str) -> tuple[str, frozenset[str]] | None:
    """("by"|"without", labels) of the query's outer aggregation, when it starts with one
    (`sum by (a) (...)`, `sum(...) by (a)`, `sum(...)`: by nothing); None for anything else."""
    head = _AGG.match(query)
    if head is None:
        return None
    end = _close(query, head.end())
    if end is None:
        return None
    mode, labels = head.group(2), head.group(3)
    if mode is None:
        tail = _TRAILING.match(query, end)
        if tail:
            mode, labels, end = tail.group(1), tail.group(2), tail.end()
    if query[end:].strip():  # `sum(a) / sum(b)`: the outer expression is not the aggregation
        return None
    return (mode or "by"), frozenset(x.strip() for x in (labels or "").split(",") if x.strip())


def custom_query_problems(doc: Document, loc: Loc, custom: m.CustomSLI, group: tuple[str, ...]) -> list[Problem]:
    """A warning per query whose outer aggregation keeps labels the group wrapper would collapse,
    an error per query whose outer aggregation drops a group label."""
    out = []
    for key in ("error_query", "total_query", "error_ratio_query"):
        query = getattr(custom, key)
        found = outer_grouping(query) if query else None
        if found is None:
            continue
        mode, labels = found
        where = (*loc, key)
        wrapper = f"sum by ({', '.join(group)})" if group else "sum"
        if mode == "without":
            out.append(doc.problem(
                where, f"the query keeps every label but {', '.join(sorted(labels)) or 'none'}: mlmon's {wrapper} "
                "around it would collapse them into one series" + (" per group" if group else ""),
                "aggregate to the labels you mean, e.g. sum by (" + ", ".join(group or ("label",)) + ") (...), "
                "and list them in group_by for one SLO each", warning=True))
            continue
        extra = sorted(labels - set(group))
        if extra:
            out.append(doc.problem(
                where, f"the query keeps {', '.join(extra)}, which group_by does not name: mlmon's {wrapper} "
                "around it would collapse them into one series" + (" per group" if group else ""),
                f"add group_by: [{', '.join([*group, *extra])}] for one SLO per value, or drop them from the "
                "query's `by` to sum them on purpose", warning=True))
        missing = [g for g in group if g not in labels]
        if missing:
            out.append(doc.problem(
                where, f"group_by names {', '.join(missing)}, which the query's outer aggregation drops: its "
                "groups would have no such label",
                f"keep them: sum by ({', '.join(sorted({*labels, *group}))}) (...)"))
    return out
