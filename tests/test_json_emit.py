"""The fast pretty-JSON writer must give json.dumps's exact bytes."""

from __future__ import annotations

import json
import math

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmon_codegen.emit import json_emit

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(width=64), st.text(max_size=30))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=30)


def reference(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


@given(documents)
@settings(max_examples=500, deadline=None, derandomize=True, database=None)
def test_same_text_as_json_dumps(data):
    assert json_emit.dumps(data) == reference(data)


def test_every_committed_dashboard():
    boards = sorted((ROOT / "out" / "grafana" / "dashboards").glob("*.json"))
    assert boards
    for path in boards:
        data = json.loads(path.read_text())
        assert json_emit.dumps(data) + "\n" == path.read_text(), path.name


def test_tuples_are_lists_and_special_floats_match():
    data = {"t": (1, 2.5, (math.inf, -math.inf)), "n": math.nan}
    assert json_emit.dumps(data) == reference(data)


@pytest.mark.parametrize("bad", [{1: "x"}, {"x": {1, 2}}, [object()]])
def test_what_json_cannot_hold_is_refused(bad):
    with pytest.raises(TypeError):
        json_emit.dumps(bad)
