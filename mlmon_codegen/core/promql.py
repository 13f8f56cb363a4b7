"""The one place PromQL text is built. Label values are escaped here and nowhere else.

Plain functions over strings: each returns an expression that can be nested in another, with
the parentheses it needs, so callers never reason about precedence.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping

from mlmon_codegen.core.durations import format_ms

Matcher = tuple[str, str, str]  # (label, op, value) with op in = != =~ !~


_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')


@functools.lru_cache(maxsize=65_536)
def quote(value: str) -> str:
    """A PromQL double-quoted string: backslash, quote and control characters escaped."""
    if not _NEEDS_ESCAPE.search(value):
        return '"' + value + '"'
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t")
    return '"' + "".join(c if ord(c) >= 0x20 and c != "\x7f" else f"\\x{ord(c):02x}" for c in out) + '"'


def number(value: float) -> str:
    """Shortest exact float text: 0.0144, not 0.014400000000000001."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def regex_escape(value: str) -> str:
    """RE2 escaping for a literal inside a =~ matcher."""
    return "".join("\\" + c if c in r".+*?()|[]{}^$\\" else c for c in value)


def le_matcher(bound: float) -> Matcher:
    """Match a histogram bucket bound however the client spelled it.

    Go clients write 1 as "1", prometheus_client writes "1.0"; Prometheus 2.x compares the
    strings, so an integral bound needs both spellings.
    """
    if float(bound).is_integer():
        return ("le", "=~", f"{int(bound)}(\\.0)?")
    return ("le", "=", number(bound))


# A PromQL string literal in any of its three quotes, escapes included.
STRING_LITERAL = r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`"""
# A string literal (skipped whole, so a `le="1"` inside one is left alone), a comment, or an
# equality matcher on `le` with an integer bound in any of PromQL's three quotes.
_LE_OR_SKIP = re.compile(r"""(?P<le>(?<![\w:])le\s*=\s*(?P<q>["'`])(?P<bound>\d+)(?P=q))"""
                         r"""|""" + STRING_LITERAL + r"""|\#[^\n]*""")


def dual_le_matchers(query: str) -> tuple[str, tuple[str, ...]]:
    """`query` with each `le="<integer>"` (or `le='..'`, `le=`..``) replaced by le_matcher's
    regex, which finds the bucket however it is spelled: Prometheus 3 reads every bucket bound as a
    float (a Go client's `le="1"` is stored as "1.0"), Prometheus 2 keeps the client's text (Go
    writes "1", prometheus_client "1.0"). Returns the new query and the matchers replaced, as written."""
    replaced: list[str] = []

    def swap(match: re.Match[str]) -> str:
        if match.group("le") is None:
            return match.group(0)
        replaced.append(match.group("le"))
        label, op, value = le_matcher(int(match.group("bound")))
        return f"{label}{op}{quote(value)}"

    return _LE_OR_SKIP.sub(swap, query), tuple(replaced)


def one_of(label: str, values: Iterable[str]) -> Matcher:
    """A matcher for any of the literal values, each regex-escaped: `label=~"a|b"`."""
    return (label, "=~", "|".join(regex_escape(v) for v in values))


def prefixed(label: str, prefix: str) -> Matcher:
    """A matcher for values that start with the literal `prefix` and go on."""
    return (label, "=~", regex_escape(prefix) + ".+")


def selector(metric: str, matchers: Iterable[Matcher] | Mapping[str, str] = ()) -> str:
    items = [(k, "=", v) for k, v in matchers.items()] if isinstance(matchers, Mapping) else list(matchers)
    if not items:
        return metric
    inner = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in items)
    return f"{metric}{{{inner}}}"


def window(ms: int) -> str:
    return format_ms(ms)


def rng(sel: str, ms: int | str) -> str:
    return f"{sel}[{ms if isinstance(ms, str) else window(ms)}]"


def call(fn: str, *args: str) -> str:
    return f"{fn}({', '.join(args)})"


def rate(sel: str, ms: int | str) -> str:
    return call("rate", rng(sel, ms))


def agg(op: str, expr: str, by: Iterable[str] = (), without: Iterable[str] = ()) -> str:
    by, without = list(by), list(without)
    if by:
        return f"{op} by ({', '.join(by)}) ({expr})"
    if without:
        return f"{op} without ({', '.join(without)}) ({expr})"
    return f"{op}({expr})"


# What is left of an expression at nesting depth 0 once bracket contents and string literals are
# cut out, when it binds tighter than every binary operator: a selector (with range), a call, an
# aggregation (with by/without), a bracketed group, a number.
_ATOM_OUTLINE = re.compile(r"[A-Za-z_:][\w:]*(\{\})?(\[\])?"  # a selector, with a range
                           r"|[A-Za-z_]\w*( (by|without) \(\))? \(\)|[A-Za-z_]\w*\(\)"  # an aggregation, a call
                           r"|\(\)")
_NUMBER = re.compile(r"[0-9][0-9.]*(e[+-]?[0-9]+)?|[+-]Inf|NaN")
_STRING = re.compile(STRING_LITERAL)
_OPENING, _CLOSING = "([{", ")]}"


@functools.lru_cache(maxsize=65_536)
def atomic(expr: str) -> bool:
    """Whether `expr` needs no parentheses as an operand of any binary operator."""
    if _NUMBER.fullmatch(expr):
        return True
    outline, depth = [], 0
    for piece in _STRING.split(expr):  # literals out: a bracket or an operator inside one is text
        for c in piece:
            if c in _CLOSING:
                depth -= 1
            if depth == 0:
                outline.append(c)
            if c in _OPENING:
                depth += 1
    return _ATOM_OUTLINE.fullmatch("".join(outline)) is not None


def wrap(expr: str) -> str:
    """`expr` as an operand: parenthesised unless it already binds tighter than any operator."""
    return expr if atomic(expr) else f"({expr})"


def binop(left: str, op: str, right: str, modifier: str = "") -> str:
    mod = f" {modifier}" if modifier else ""
    return f"{wrap(left)} {op}{mod} {wrap(right)}"


def operand(value: str | float) -> str:
    """An expression as given, an int as written, any other number in its shortest exact form."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) else number(value)


def compare(left: str, op: str, right: str | float, bool_: bool = False,
            on_labels: Iterable[str] | None = None) -> str:
    """`left op [bool] [on(labels)] right` with op in == != > < >= <=; a filter, or 0/1 per series with `bool_`.

    No parentheses: comparisons bind tighter than `and`/`or`/`unless`, and callers nest a
    comparison inside arithmetic only through binop, which parenthesises."""
    matching = f" {on(on_labels)}" if on_labels is not None else ""
    return f"{left} {op}{' bool' if bool_ else ''}{matching} {operand(right)}"


def paren(expr: str) -> str:
    return f"({expr})"


def set_op(left: str, op: str, right: str, on_labels: Iterable[str] | None = None) -> str:
    """`left and|or|unless [on(labels)] right`; `on_labels=()` is `on()`, matching every series with any."""
    matching = f" {on(on_labels)}" if on_labels is not None else ""
    return f"{left} {op}{matching} {right}"


def any_of(*exprs: str) -> str:
    """Every series any of the expressions returns: `(a) or (b) or ...`."""
    return " or ".join(wrap(e) for e in exprs)


def one_minus(expr: str) -> str:
    """The complement of a ratio: `1 - expr` (expr a selector or an already parenthesised expression)."""
    return minus("1", expr)


def times(expr: str, factor: str | float) -> str:
    return f"{expr} * {operand(factor)}"


def plus(expr: str, value: str | float) -> str:
    return f"{expr} + {operand(value)}"


def minus(expr: str, value: str | float) -> str:
    return f"{expr} - {operand(value)}"


def zero_like(expr: str) -> str:
    """0 for every series of `expr`: with `or`, fills the series another side lacks."""
    return times(expr, 0)


def subquery(expr: str, range_ms: int | str, step_ms: int | None = None) -> str:
    """`(expr)[range:step]`; without a step, the evaluation interval's. A str range is a placeholder."""
    step = window(step_ms) if step_ms is not None else ""
    return f"({expr})[{range_ms if isinstance(range_ms, str) else window(range_ms)}:{step}]"


def offset(sel: str, ms: int) -> str:
    """`sel offset <ms>`: the selector read `ms` earlier (a selector, not an expression)."""
    return f"{sel} offset {window(ms)}"


def at_end(expr: str) -> str:
    """The value at the end of the query range, also inside a subquery's steps."""
    return f"{expr} @ end()"


def on(labels: Iterable[str] = ()) -> str:
    return f"on({', '.join(labels)})"


def ignoring(labels: Iterable[str]) -> str:
    return f"ignoring({', '.join(labels)})"


def group_left(matching: str, labels: Iterable[str] = ()) -> str:
    """A binop modifier: `matching` (on(...) or ignoring(...)), many on the left to one on the right."""
    return f"{matching} group_left({', '.join(labels)})"


def lesser(left: str, right: str) -> str:
    """The element-wise minimum of two series sets with the same labels: `(a < b) or b`.

    `left` and `right` must bind tighter than `<` (selectors, calls, binop results)."""
    return f"({compare(left, '<', right)}) or {right}"


def or_zero_for(expr: str, like: str) -> str:
    """`expr`, and 0 for every series of `like` that `expr` lacks: `expr or (0 * like)`."""
    return f"{expr} or (0 * {like})"


def or_zero(expr: str) -> str:
    """An empty result becomes 0: a counter nobody incremented yet means no errors."""
    return f"{wrap(expr)} or vector(0)"


def substitute_window(template: str, ms: int) -> str:
    """Fill a user query's {{window}} placeholders (checked to exist at validation)."""
    import re

    return re.sub(r"\{\{\s*window\s*\}\}", window(ms), template)


def copy_label(expr: str, dst: str, src: str, regex: str = "(.*)") -> str:
    """`expr` with label `dst` set to the first group of `regex` matched against label `src`."""
    return call("label_replace", expr, quote(dst), quote("$1"), quote(src), quote(regex))


def set_label(expr: str, dst: str, value: str) -> str:
    """`expr` with label `dst` set to `value` (`$` doubled: label_replace expands `$1` in it)."""
    return call("label_replace", expr, quote(dst), quote(value.replace("$", "$$")), quote(""), quote(""))


def label_equal_filter(expr: str, a: str, b: str, keep_equal: bool = True) -> str:
    """Series of `expr` whose labels a and b hold the same value (or different, keep_equal=False).

    PromQL cannot compare two labels in a selector. Copying b over a gives one series per value
    of b with a == b; matching `expr` on (a, b) against that set keeps exactly the equal pairs.
    Aggregate by b before copying: label_replace over series that differ only in a would yield
    duplicate label sets, which Prometheus rejects ("vector cannot contain metrics with the same
    labelset") as soon as two predicted classes share an actual class.
    """
    pairs = copy_label(agg("max", expr, by=(b,)), a, b)
    return f"{wrap(expr)} {'and' if keep_equal else 'unless'} {on((a, b))} {wrap(pairs)}"


def matcher(label: str, op: str, value: str) -> str:
    """One Alertmanager matcher (`team="risk"`): the same quoting as a PromQL selector's."""
    return f"{label}{op}{quote(value)}"
