"""A small block-style YAML emitter for the plain data mlmon generates.

PyYAML's representer is pure Python and was half of all generation time (1000 models: ~5 of
9.5 s). Generated data is only dicts, lists, strings, numbers, booleans and None, so this
emitter covers exactly that: strings stay plain where YAML 1.1 and 1.2 both read them back as
the same string, and are JSON-quoted otherwise (every JSON string is a valid YAML
double-quoted scalar). tests/test_yaml_emit.py checks that PyYAML reads back what went in.
"""

from __future__ import annotations

import functools
import json.encoder
import math
import re
from typing import Any

import yaml

# For reading generated trees back (checks, scans): libyaml's loader when present, as they can be large.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_encode_basestring = json.encoder.encode_basestring  # the C version when available
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_RESOLVER = yaml.resolver.Resolver()
# Strings that other YAML readers (YAML 1.2, Go) may take for numbers or booleans even when
# PyYAML does not, e.g. "1e5" or "0o17": quote anything number-like or bool-like to be safe.
_NUMBERISH = re.compile(r"^[-+]?((\.\d+|\d[\d_]*(\.\d*)?)([eE][-+]?\d+)?|0[xob][0-9a-fA-F_]+|\.?inf|\.?nan)$",
                        re.IGNORECASE)
_BOOLISH = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


@functools.lru_cache(maxsize=65_536)
def _plain_ok(s: str) -> bool:
    if not s or s != s.strip() or s[0] in _INDICATORS:
        return False
    if ": " in s or " #" in s or s.endswith(":") or "\t" in s:
        return False
    if not s.isprintable() or "\ufeff" in s:
        return False
    if s.lower() in _BOOLISH or _NUMBERISH.match(s):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, s, (True, False)) == "tag:yaml.org,2002:str"


# JSON's short escapes, which YAML double-quoted scalars share; other controls become \u00XX as in JSON.
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _escape(c: str) -> str:
    if c in _SHORT:
        return _SHORT[c]
    if c.isprintable() and c != "\ufeff":
        return c
    o = ord(c)
    return f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def _quote(s: str) -> str:
    """A YAML double-quoted scalar. JSON's C string encoder does the common case (its escapes are
    YAML's too); what it leaves raw and YAML cannot take (DEL, C1 controls, U+2028, BOM, lone
    surrogates) goes through `_escape`, which agrees with it on everything else. Astral characters
    stay whole: \\U escapes, never JSON's surrogate pairs, which YAML readers do not join."""
    quoted: str = _encode_basestring(s)
    if quoted.isprintable() and "\ufeff" not in quoted:
        return quoted
    return '"' + "".join(map(_escape, s)) + '"'


def scalar(value: Any) -> str:
    if type(value) is str:  # by far the most common: first
        return value if _plain_ok(value) else _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exp = text.split("e")
            text = f"{mantissa}.0e{exp}"  # PyYAML's YAML 1.1 float needs the dot
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return value if _plain_ok(value) else _quote(value)
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


# Lists already written in this dump session, by identity: (the list, its indent, its text). The
# same rule lists appear in the rule file, the PrometheusRule and the Mimir and Thanos files.
Memo = dict[int, tuple[list[Any], str, str]]
_MEMO_MIN_ITEMS = 4  # shorter lists are cheaper to write again than to look up


# Keys repeat endlessly (record, expr, labels ...): their YAML form is worth remembering.
_KEYS: dict[str, str] = {}
_KEYS_MAX = 65_536


def _reindent(text: str, old: str, new: str) -> str:
    # Every line of an emitted block starts with its indent, and no scalar spans lines (strings
    # with line breaks are double-quoted with escapes), so swapping the prefix moves the block.
    if old == new:
        return text
    return new + text[len(old):-1].replace("\n" + old, "\n" + new) + "\n"


# A mapping of scalars whose flow form, `{model: m, slo: s}`, is at most this long is written so:
# rule files repeat small label sets thousands of times, a line each. The limit is on the mapping
# alone, not its line: a memoised block moved to another indent must keep its form.
FLOW_WIDTH = 100
# Plain in flow context only what every YAML reader takes as it is there (go-yaml stumbles on some
# characters a block scalar may hold): everything else double-quoted.
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.()/+-]*", re.ASCII)


def _flow_scalar(value: Any) -> str | None:
    if isinstance(value, (dict, list)):
        return None
    text = scalar(value)
    if not isinstance(value, str):
        return text  # numbers, booleans and null never hold a flow indicator
    return _quote(text) if text[0] != '"' and not _FLOW_PLAIN.fullmatch(text) else text


def _flow(mapping: dict[Any, Any], room: int) -> str | None:
    """`mapping` in flow style when every value is a scalar and it fits in `room` characters."""
    parts = []
    for key, item in mapping.items():
        v = _flow_scalar(item)
        if v is None:
            return None
        parts.append(f"{_flow_scalar(str(key))}: {v}")
        room -= len(parts[-1]) + 2
        if room < 2:
            return None
    return "{" + ", ".join(parts) + "}"


def _emit(value: Any, indent: str, out: list[str], memo: Memo | None) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            k = _KEYS.get(key) if type(key) is str else None
            if k is None:
                k = scalar(str(key))
                if type(key) is str and len(_KEYS) < _KEYS_MAX:
                    _KEYS[key] = k
            if isinstance(item, dict) and item:
                flow = _flow(item, FLOW_WIDTH)
                if flow is not None:
                    out.append(f"{indent}{k}: {flow}\n")
                    continue
                out.append(f"{indent}{k}:\n")
                _emit(item, indent + "  ", out, memo)
            elif isinstance(item, list) and item:
                out.append(f"{indent}{k}:\n")
                _emit(item, indent, out, memo)  # block sequences under a key sit at the key's indent
            else:
                out.append(f"{indent}{k}: {_inline(item)}\n")
    elif isinstance(value, list):
        if memo is None or len(value) < _MEMO_MIN_ITEMS:
            _emit_items(value, indent, out, memo)
            return
        seen = memo.get(id(value))
        if seen is not None:
            out.append(_reindent(seen[2], seen[1], indent))
            return
        start = len(out)
        _emit_items(value, indent, out, memo)
        out[start:] = ["".join(out[start:])]  # one chunk whose first line a caller may still prefix with "- "
        memo[id(value)] = (value, indent, out[start])  # holding the list keeps its id from being reused
    else:
        out.append(f"{indent}{_inline(value)}\n")


def _emit_items(value: list[Any], indent: str, out: list[str], memo: Memo | None) -> None:
    for item in value:
        if (isinstance(item, dict) and item) or (isinstance(item, list) and item):
            start = len(out)
            _emit(item, indent + "  ", out, memo)
            out[start] = f"{indent}- " + out[start][len(indent) + 2:]
        else:
            out.append(f"{indent}- {_inline(item)}\n")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(data: Any, memo: Memo | None = None) -> str:
    """`memo`: share one between dumps of data that share lists, which must not change meanwhile."""
    out: list[str] = []
    _emit(data, "", out, memo)
    return "".join(out)
