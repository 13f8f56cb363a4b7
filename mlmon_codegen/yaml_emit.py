"""A small block-style YAML emitter for the plain data mlmon generates.

PyYAML's representer is pure Python and was half of all generation time (1000 models: ~5 of
9.5 s). Generated data is only dicts, lists, strings, numbers, booleans and None, so this
emitter covers exactly that: strings stay plain where YAML 1.1 and 1.2 both read them back as
the same string, and are JSON-quoted otherwise (every JSON string is a valid YAML
double-quoted scalar). tests/test_yaml_emit.py checks that PyYAML reads back what went in.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import yaml

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


def _escape(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    if c.isprintable() and c != "\ufeff":
        return c
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def _quote(s: str) -> str:
    """A YAML double-quoted scalar; \\U escapes keep astral characters whole (JSON would split
    them into surrogate pairs, which YAML readers do not join)."""
    if s.isprintable() and '"' not in s and "\\" not in s and "\ufeff" not in s:
        return '"' + s + '"'
    return '"' + "".join(map(_escape, s)) + '"'


def scalar(value: Any) -> str:
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


def _emit(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            k = scalar(str(key))
            if isinstance(item, dict) and item:
                out.append(f"{indent}{k}:\n")
                _emit(item, indent + "  ", out)
            elif isinstance(item, list) and item:
                out.append(f"{indent}{k}:\n")
                _emit(item, indent, out)  # block sequences under a key sit at the key's indent
            else:
                out.append(f"{indent}{k}: {_inline(item)}\n")
    elif isinstance(value, list):
        for item in value:
            if (isinstance(item, dict) and item) or (isinstance(item, list) and item):
                start = len(out)
                _emit(item, indent + "  ", out)
                out[start] = f"{indent}- " + out[start][len(indent) + 2:]
            else:
                out.append(f"{indent}- {_inline(item)}\n")
    else:
        out.append(f"{indent}{_inline(value)}\n")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(data: Any) -> str:
    out: list[str] = []
    _emit(data, "", out)
    return "".join(out)
