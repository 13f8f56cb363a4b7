"""`mlmon import openslo`: OpenSLO v1 documents (tests/openslo/, written from the v1 spec) become
ModelMonitors whose rules promtool accepts; what cannot convert is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.build import generate
from mlmon_codegen.check import promtool
from mlmon_codegen.cli.imports import specs_text
from mlmon_codegen.cli.main import cli
from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.spec import openslo
from mlmon_codegen.spec.load import load_text
from mlmon_codegen.spec.validate import load_and_validate, validate_documents

DOCS = ROOT / "tests" / "openslo"


def converted(*names: str, team: str = "payments") -> dict[str, dict]:
    return {name: yaml.safe_load(text) for name, text in
            specs_text(tuple(str(DOCS / n) for n in names), team, []).items()}


def test_several_slos_of_one_service_become_one_model() -> None:
    specs = converted("checkout.yaml")
    assert list(specs) == ["checkout-model"]
    spec = specs["checkout-model"]
    assert spec["metadata"]["team"] == "payments"
    slos = spec["slos"]
    assert set(slos) == {"checkout-availability", "checkout-slow"}
    avail = slos["checkout-availability"]
    assert avail["objective"] == pytest.approx(99.5)  # target 0.995
    assert avail["period"] == "28d"  # 4w
    # good/total: the errors are total minus good, every [5m] range now the alert window.
    assert "[5m]" not in avail["sli"]["error_query"] and "{{window}}" in avail["sli"]["error_query"]
    assert 'code!~"5.."' in avail["sli"]["error_query"]
    slow = slos["checkout-slow"]
    assert slow["objective"] == pytest.approx(99) and slow["period"] == "7d"
    # bad/total without ranges: counters wrapped in rate(...[{{window}}]), aggregation kept.
    assert slow["sli"]["error_query"] == 'sum(rate(http_slow_requests_total{service="checkout"}[{{window}}]))'
    assert slow["sli"]["total_query"] == \
        'sum by (service) (rate(http_requests_total{service="checkout"}[{{window}}]))'


def test_several_services_and_a_raw_ratio() -> None:
    specs = converted("two-services.yaml")
    assert sorted(specs) == ["recommender", "search-ranker"]
    raw = specs["search-ranker"]["slos"]["search-errors"]["sli"]
    assert raw == {"error_ratio_query": "avg_over_time((search:error_ratio)[{{window}}:])"}
    assert specs["recommender"]["slos"]["reco-availability"]["period"] == "7d"  # 1w


def test_converted_specs_generate_rules_that_promtool_accepts(tmp_path: Path) -> None:
    texts = specs_text((str(DOCS / "checkout.yaml"), str(DOCS / "two-services.yaml")), "payments", [])
    docs = [load_text(f"{name}.yaml", text.encode())[0] for name, text in texts.items()]
    fleet = validate_documents(docs).fleet
    rule_files = []
    for a in generate.render_all(fleet):
        if a.path.startswith("prometheus/rules/"):
            path = tmp_path / Path(a.path).name
            path.write_text(yaml.safe_dump(a.data, sort_keys=False))
            rule_files.append(path)
    assert len(rule_files) == 3
    run = promtool.check_rules(rule_files)
    assert run.ok, run.output


@pytest.mark.parametrize(("name", "marker", "words"), [
    ("calendar.yaml", "    - duration: 1M", "a calendar-aligned window of a month, quarter or year has no fixed"),
])
def test_what_cannot_convert_is_a_located_error(name: str, marker: str, words: str) -> None:
    line = (DOCS / name).read_text().splitlines().index(marker) + 1
    files = (str(DOCS / name), str(DOCS / "checkout.yaml"))
    with pytest.raises(SpecError) as exc:
        specs_text(files, "payments", [])
    [problem] = exc.value.problems
    assert problem.file.endswith(name) and problem.line == line and words in problem.message


def test_an_unknown_indicator_ref_is_located() -> None:
    docs, problems = openslo.load_documents("checkout.yaml", (DOCS / "checkout.yaml").read_bytes())
    assert not problems
    without_sli = [d for d in docs if d.data["kind"] != "SLI"]
    with pytest.raises(SpecError) as exc:
        openslo.convert(without_sli)
    [problem] = exc.value.problems
    assert "no SLI named 'checkout-success'" in problem.message and problem.field == "spec.indicatorRef"


@pytest.mark.parametrize(("query", "counter", "expected"), [
    ("rate(x[5m])", True, "rate(x[{{window}}])"),
    ("sum(increase(x{a=\"b\"}[1h30m]))", True, 'sum(increase(x{a="b"}[{{window}}]))'),
    ("x_total", True, "sum(rate(x_total[{{window}}]))"),
    ("max without (pod) (x_total)", True, "max without (pod) (rate(x_total[{{window}}]))"),
])
def test_where_the_window_goes(query: str, counter: bool, expected: str) -> None:
    doc = openslo.load_documents("q.yaml", b"a: 1")[0][0]
    assert openslo.windowed(doc, (), query, counter) == expected


@pytest.mark.parametrize(("query", "counter"), [("x_total / y_total", True), ("x_gauge", False)])
def test_a_query_without_a_clear_window_is_refused(query: str, counter: bool) -> None:
    doc = openslo.load_documents("q.yaml", b"a: 1")[0][0]
    with pytest.raises(SpecError):
        openslo.windowed(doc, (), query, counter)


def test_cli_writes_specs_and_never_overwrites(tmp_path: Path) -> None:
    r = invoke_mlmon("import", "openslo", str(DOCS / "checkout.yaml"), "-o", str(tmp_path), "--team", "payments",
                     "--target", "checkout:9000")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "checkout-model.yaml"
    assert yaml.safe_load(out.read_text())["scrape"]["targets"] == ["checkout:9000"]
    assert load_and_validate([tmp_path]).fleet.models[0].name == "checkout-model"
    runner = CliRunner()
    again = runner.invoke(cli, ["import", "openslo", str(DOCS / "checkout.yaml"), "-o", str(tmp_path)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.stderr
    bad = runner.invoke(cli, ["import", "openslo", str(DOCS / "calendar.yaml")])
    assert bad.exit_code == 2 and "calendar.yaml:27:" in bad.stderr and not bad.stdout


def test_timeslices_and_ratio_timeslices_become_slices(tmp_path: Path) -> None:
    spec = converted("timeslices.yaml")["checkout-model"]
    uptime, fast = spec["slos"]["uptime"], spec["slos"]["fast-minutes"]
    assert uptime["objective"] == 99 and uptime["budgeting"] == "timeslices"
    assert uptime["timeslice"] == {"window": "1m", "objective": 95}  # timeSliceTarget 0.95
    assert fast["budgeting"] == "ratio_timeslices" and fast["timeslice"] == {"window": "5m"}
    r = invoke_mlmon("import", "openslo", str(DOCS / "timeslices.yaml"), "-o", str(tmp_path / "specs"))
    assert r.returncode == 0, r.stderr
    assert invoke_mlmon("generate", str(tmp_path / "specs"), "-o", str(tmp_path / "out")).returncode == 0
    rules = tmp_path / "out" / "prometheus" / "rules" / "checkout-model.rules.yml"
    groups = {g["name"]: g for g in yaml.safe_load(rules.read_text())["groups"]}
    assert groups["mlmon-checkout-model-slo-slices-1m"]["interval"] == "1m"
    assert groups["mlmon-checkout-model-slo-slices-5m"]["interval"] == "5m"
    run = promtool.check_rules([rules])
    assert run.ok, run.output


@pytest.mark.parametrize(("field", "value", "words"), [
    ("timeSliceWindow", None, "a Timeslices objective needs timeSliceWindow"),
    ("timeSliceWindow", "a minute", "'a minute' is not a duration"),
    ("timeSliceTarget", None, "a Timeslices objective needs timeSliceTarget"),
    ("timeSliceTarget", 95, "target 95 is not a fraction"),
])
def test_bad_slices_are_located(tmp_path: Path, field: str, value: object, words: str) -> None:
    docs = list(yaml.safe_load_all((DOCS / "timeslices.yaml").read_text()))
    objective = docs[0]["spec"]["objectives"][0]
    objective.pop(field) if value is None else objective.__setitem__(field, value)
    (tmp_path / "t.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    r = invoke_mlmon("import", "openslo", str(tmp_path / "t.yaml"))
    assert r.returncode == 2 and words in r.stderr and "t.yaml:" in r.stderr and not r.stdout, r.stderr


def test_a_slice_longer_than_the_short_window_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    text = (DOCS / "timeslices.yaml").read_text().replace("timeSliceWindow: 1m", "timeSliceWindow: 10m")
    (tmp_path / "t.yaml").write_text(text)
    r = invoke_mlmon("import", "openslo", str(tmp_path / "t.yaml"), "-o", str(tmp_path / "specs"))
    assert r.returncode == 2 and not (tmp_path / "specs").exists()
    assert "timeslice window 10m is longer than the shortest alert window (5m)" in r.stderr, r.stderr


def test_a_calendar_week_is_a_rolling_week_with_a_located_warning(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((DOCS / "calendar.yaml").read_text()))
    text = yaml.safe_dump(docs[0], sort_keys=False)
    (tmp_path / "week.yaml").write_text(text)
    line = text.splitlines().index("  - duration: 1w") + 1
    r = invoke_mlmon("import", "openslo", str(tmp_path / "week.yaml"), str(DOCS / "checkout.yaml"))
    assert r.returncode == 0, r.stderr
    warning = (f"week.yaml:{line}:5: warning: spec.timeWindow[0]: calendar-aligned window (from Monday, "
               "in Europe/Berlin) imported as a rolling 7d period")
    assert warning in r.stderr, r.stderr
    assert f"# Note: {tmp_path}/{warning}" in r.stdout  # and in the spec's header, for the reviewer
    weekly = next(d for d in yaml.safe_load_all(r.stdout) if "weekly" in d["slos"])
    assert weekly["slos"]["weekly"]["period"] == "7d"
