"""Pretty JSON for generated dashboards: the bytes of `json.dumps(data, indent=2, sort_keys=True,
ensure_ascii=False)`, about three times faster.

With `indent`, the standard library leaves its C encoder for a generator-based pure-Python one,
and dashboards (~100 KB each) were the largest share of generation time. Strings still go
through the C string encoder. tests/test_json_emit.py checks the output equals json.dumps.
"""

from __future__ import annotations

import json.encoder
from typing import Any

_encode_str = json.encoder.encode_basestring  # C version when available: escapes exactly as json.dumps
_CONSTANTS = {True: "true", False: "false", None: "null"}


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _emit(value: Any, newline: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_str(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise TypeError(f"JSON keys must be strings, not {type(key).__name__}")
            out.append(f"{sep}{_encode_str(key)}: ")
            _emit(value[key], inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _emit(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    elif value is None or kind is bool:
        out.append(_CONSTANTS[value])
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(_float(value))
    else:
        raise TypeError(f"cannot emit {kind.__name__} as JSON")


def dumps(data: Any) -> str:
    out: list[str] = []
    _emit(data, "\n", out)
    return "".join(out)
