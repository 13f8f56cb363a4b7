"""check/compat.py on expressions: quoted (UTF-8) names found where PromQL reads them as names,
never in string values; integer `le` equality found on scraped buckets only."""

from __future__ import annotations

import pytest

from mlmon_codegen.check import compat


@pytest.mark.parametrize(("expr", "names"), [
    ('{"http.server.duration"}', ["http.server.duration"]),
    ('{"http.server.duration", "k8s.pod"="a", job="x.y"}', ["http.server.duration", "k8s.pod"]),
    ('x{"k8s.pod"!~"a|b"}', ["k8s.pod"]),
    ('sum by ("service.name", job) (x)', ["service.name"]),
    ('sum by (job, "service.name") (x)', ["service.name"]),
    ('x / on ("a.b") group_left ("c.d") y', ["a.b", "c.d"]),
    ('label_replace(x, "dst", "$1", "src", "(.*)")', []),
    ('x{job="a.b", path=~"/{id}"}', []),
    ('count_values("value.name", x)', []),
    ('x == bool 1', []),
])
def test_quoted_names_are_found_where_promql_reads_names(expr: str, names: list[str]) -> None:
    assert list(compat.quoted_names(expr)) == names


@pytest.mark.parametrize(("expr", "flagged"), [
    ('sum(rate(h_bucket{le="1"}[5m]))', ['h_bucket{le="1"}']),
    ("sum(rate(h_bucket{job='a', le='10'}[5m]))", ["h_bucket{le='10'}"]),
    ('sum(rate(h_bucket{le="0.5"}[5m]))', []),
    ('sum(rate(h_bucket{le=~"1(\\\\.0)?"}[5m]))', []),
    ('sum(rate(h_bucket{le="1.0"}[5m]))', []),
    ('mlmon_ml:feature_cdf:increase1h{le="8"}', []),  # recorded: keeps the `le` its rule wrote
    ('h_bucket{path="}", le="2"}', ['h_bucket{le="2"}']),  # a value holding a brace
])
def test_integer_le_equality_is_flagged_on_scraped_buckets(expr: str, flagged: list[str]) -> None:
    problems = compat.rule_problems({"record": "a:b:c", "expr": expr})
    assert problems == [f"a:b:c: {f} matches an integer bucket bound in one spelling only" for f in flagged]


def test_recording_and_label_names_outside_the_classic_charset() -> None:
    problems = compat.rule_problems({"record": "a.b", "expr": "x", "labels": {"team.name": "t", "ok": "v"}})
    assert problems == ["a.b: recording name 'a.b' is a UTF-8 name", "a.b: label name 'team.name' is a UTF-8 name"]
