"""The fast YAML emitter must mean exactly what PyYAML would have written."""

from __future__ import annotations

import yaml
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmon_codegen.build import generate
from mlmon_codegen.emit import yaml_emit
from mlmon_codegen.spec.validate import load_and_validate

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=True, width=64), st.text(max_size=40),
    st.sampled_from(["0x5", "1e5", "yes", "on", "~", "1:30", "- a", "a: b", "a #b", "{x}", "'q'", '"q"', "", " a",
                     "2024-01-01", "1_000", ".5", "0o17", "null", "NaN", "rate(x[5m]) > 0.1", "1h"]),
)
data = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=4)), max_leaves=25)


@given(data)
@settings(max_examples=400, deadline=None, derandomize=True, database=None)
def test_round_trips_through_pyyaml(value):
    assert yaml.safe_load(yaml_emit.dump({"root": value})) == {"root": value}


def test_every_generated_yaml_artifact_round_trips():
    fleet = load_and_validate([ROOT / "specs"]).fleet
    artifacts = [a for a in generate.render_all(fleet) if a.format == "yaml"]
    assert artifacts
    for artifact in artifacts:
        assert yaml.safe_load(yaml_emit.dump(artifact.data)) == artifact.data, artifact.path


def test_promql_stays_readable():
    expr = 'sum(rate(ml_prediction_errors_total{model_name="iris"}[5m])) / 1'
    assert yaml_emit.dump({"expr": expr}) == f"expr: {expr}\n"
    assert yaml_emit.dump({"for": "5m", "values": "0x5"}) == 'for: 5m\nvalues: "0x5"\n'


awkward_text = st.text(alphabet=st.one_of(
    st.characters(), st.sampled_from(['"', "\\", "\n", "\t", "\x7f", "\x85", "\u2028", "\ufeff", "\ud800", "😀"])))


@given(awkward_text)
@settings(max_examples=400, deadline=None, derandomize=True, database=None)
def test_fast_quoting_agrees_with_the_character_by_character_escape(s):
    # The C fast path must write the very bytes the slow path writes, so output never depends on
    # which path a string took; and PyYAML must read the original string back.
    slow = '"' + "".join(map(yaml_emit._escape, s)) + '"'
    assert yaml_emit._quote(s) == slow
    if not any("\ud800" <= c <= "\udfff" for c in s):  # lone surrogates cannot be encoded to a file at all
        assert yaml.safe_load(yaml_emit.dump({"k": s}).encode()) == {"k": s}


@given(st.lists(data, min_size=4, max_size=6))
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_a_shared_memo_writes_what_fresh_dumps_write(items):
    # The same list object at several depths, in several documents of one session, as a rule
    # list is shared by the rule file, the PrometheusRule and the ruler files.
    nested = {"groups": [{"name": "g", "rules": items}, {"name": "h", "rules": [items, items]}], "top": items}
    memo: yaml_emit.Memo = {}
    for doc in (items, nested, {"spec": nested}, [nested, {"x": {"y": items}}]):
        assert yaml_emit.dump(doc, memo) == yaml_emit.dump(doc)
    assert id(items) in memo
