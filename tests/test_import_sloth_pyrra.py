"""`mlmon import openslo|sloth|pyrra` on the project's own documents (tests/openslo, tests/sloth,
tests/pyrra): every shape imports, validates and generates; bad input is a located error with
every problem of the run; an imported Sloth SLO pages when Sloth's own rules would."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.check import promtool
from mlmon_codegen.core import naming

DOCS = ROOT / "tests"

SHAPES = [
    ("openslo", ["openslo/list-form.yaml"]),
    ("openslo", ["openslo/v1alpha.yaml", "openslo/threshold.yaml"]),
    ("openslo", ["openslo/uses-library.yaml", "openslo/sli-library.yaml"]),
    ("openslo", ["openslo/checkout.yaml", "openslo/two-services.yaml"]),
    ("sloth", ["sloth/service.yml", "sloth/k8s.yml"]),
    ("pyrra", ["pyrra/slos.yaml"]),
]


def imported(tmp_path: Path, fmt: str, files: list[str]) -> Path:
    out = tmp_path / "specs"
    r = invoke_mlmon("import", fmt, *(str(DOCS / f) for f in files), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize(("fmt", "files"), SHAPES)
def test_every_shape_imports_validates_and_generates(tmp_path: Path, fmt: str, files: list[str]) -> None:
    specs = imported(tmp_path, fmt, files)
    r = invoke_mlmon("validate", str(specs))
    assert r.returncode == 0, r.stderr
    r = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    rules = sorted((tmp_path / "out").rglob("prometheus/rules/*.y*ml"))
    assert rules
    run = promtool.check_rules(rules)
    assert run.ok, run.output


def spec(tmp_path: Path, fmt: str, files: list[str], name: str) -> tuple[str, dict]:
    text = (imported(tmp_path, fmt, files) / f"{name}.yaml").read_text()
    return text, yaml.safe_load(text)


def test_openslo_list_form_refs_labels_and_policies(tmp_path: Path) -> None:
    text, data = spec(tmp_path, "openslo", ["openslo/list-form.yaml"], "ranker")
    slo = data["slos"]["ranker-errors"]
    assert slo["objective"] == 99.5 and slo["period"] == "30d"  # "99.5%" and 720h
    assert slo["sli"]["error_query"] == 'sum(rate(ranker_requests_total{status="error"}[{{window}}]))'
    assert data["metadata"]["labels"] == {"env": "prod", "cost_center": "ml-platform",
                                          "example_org_owner": "ranking"}
    # The policy's single-window condition becomes page-fast with its window, burn and a short window.
    assert slo["alerts"] == {"page-fast": {"long": "1h", "short": "5m", "burn": 14.4}, "tiers": ["page-fast"]}
    assert "alert 'fast-burn' has one window; as page-fast it also needs a short window of 5m" in text


def test_v1alpha_threshold_and_sloth_placeholder(tmp_path: Path) -> None:
    _, data = spec(tmp_path, "openslo", ["openslo/v1alpha.yaml", "openslo/threshold.yaml"], "embedder")
    avail = data["slos"]["embedder-availability"]
    assert avail["objective"] == 99.5 and avail["period"] == "28d"
    assert "[{{window}}]" in avail["sli"]["total_query"] and ".window" not in avail["sli"]["total_query"]
    p95 = data["slos"]["p95-under-250ms"]
    # Bad when not below 0.25: the share of evaluation steps at or above the threshold.
    assert p95["sli"] == {"error_ratio_query": "avg(avg_over_time(((embed:latency_seconds:p95) >= bool 0.25)"
                                               "[{{window}}:]))"}


def test_an_sli_in_another_file_through_an_alias(tmp_path: Path) -> None:
    _, data = spec(tmp_path, "openslo", ["openslo/uses-library.yaml", "openslo/sli-library.yaml"], "fraud-scorer")
    assert data["slos"]["fraud-availability"]["objective"] == 99.9
    assert "fraud_scores_total" in data["slos"]["fraud-availability"]["sli"]["total_query"]


def test_sloth_tiers_windows_and_k8s_form(tmp_path: Path) -> None:
    text, data = spec(tmp_path, "sloth", ["sloth/service.yml", "sloth/k8s.yml"], "ranker")
    assert data["metadata"]["labels"] == {"owner": "search-team"}
    avail = data["slos"]["requests-availability"]
    assert avail["objective"] == 99.9 and avail["period"] == "30d"
    assert avail["alerts"] == {"tiers": ["page-fast", "page-slow"]}  # ticket_alert disabled
    assert data["slos"]["freshness"]["alerts"] == {"tiers": ["ticket-fast", "ticket-slow"]}
    assert "Sloth's default alert windows are mlmon's tiers" in text
    embedder = yaml.safe_load((tmp_path / "specs" / "embedder.yaml").read_text())
    assert embedder["slos"]["requests-availability"]["sli"]["error_query"] == \
        'sum(rate(embed_requests_total{code=~"5.."}[{{window}}]))'


def test_pyrra_indicators_grouping_and_windows(tmp_path: Path) -> None:
    text, data = spec(tmp_path, "pyrra", ["pyrra/slos.yaml"], "scorer-errors")
    assert data["metadata"]["labels"] == {"owner": "scoring"}  # only pyrra.dev/ labels
    assert data["slos"]["scorer-errors"]["period"] == "28d"
    errors = data["slos"]["scorer-errors"]
    assert errors["group_by"] == ["route"]  # Pyrra's grouping: one SLO per route
    assert errors["sli"]["error_query"].startswith("sum by (route) (")
    assert "Pyrra's alert windows (critical 14x over 1h/5m" in text and "differ from mlmon's tiers" in text
    probe = yaml.safe_load((tmp_path / "specs" / "scorer-probe.yaml").read_text())["slos"]["scorer-probe"]["sli"]
    assert probe["total_query"] == 'sum(count_over_time(probe_success{job="scorer-probe"}[{{window}}]))'


def test_every_problem_of_every_slo_in_one_run(tmp_path: Path) -> None:
    r = invoke_mlmon("import", "openslo", str(DOCS / "openslo/bad-many.yaml"), "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and not (tmp_path / "o").exists()
    err = r.stderr
    for words in ("bad-many.yaml:13:5: metadata.name: SLI 'twice' is defined twice",
                  "metric source type 'Datadog' is not Prometheus",
                  "1M has no fixed length", "a Timeslices objective needs timeSliceWindow",
                  "target 99.9 is not a fraction", "label 'env' has '\"' in its value",
                  "SLO 'sliced' is defined twice"):
        assert words in err, err
    assert "mlmon: 8 problems found" in err and "Traceback" not in err


def test_a_label_mlmon_sets_is_imported_under_another_name(tmp_path: Path) -> None:
    """Sloth's examples carry `tier`, which mlmon sets on its burn alerts: kept as source_tier, said."""
    sloth = (DOCS / "sloth/service.yml").read_text().replace('owner: "search-team"', 'tier: "2"')
    (tmp_path / "s.yml").write_text(sloth)
    r = invoke_mlmon("import", "sloth", str(tmp_path / "s.yml"), "-o", str(tmp_path / "specs"))
    assert r.returncode == 0, r.stderr
    (written,) = (tmp_path / "specs").glob("*.yaml")
    text = written.read_text()
    assert yaml.safe_load(text)["metadata"]["labels"].get("source_tier") == "2"
    assert "label 'tier' is one mlmon sets on its alerts" in text and "imported as 'source_tier'" in text
    assert invoke_mlmon("generate", str(tmp_path / "specs"), "-o", str(tmp_path / "out")).returncode == 0


def test_a_data_source_that_is_not_prometheus_is_located(tmp_path: Path) -> None:
    text = (DOCS / "openslo/list-form.yaml").read_text().replace("type: Prometheus", "type: Datadog")
    (tmp_path / "dd.yaml").write_text(text)
    r = invoke_mlmon("import", "openslo", str(tmp_path / "dd.yaml"))
    assert r.returncode == 2 and "dd.yaml:8:5: spec.type: data source type 'Datadog' is not Prometheus" in r.stderr


def test_bad_sloth_and_pyrra_documents_are_located(tmp_path: Path) -> None:
    sloth = (DOCS / "sloth/service.yml").read_text().replace('objective: 99.9', 'objective: "high"')
    sloth = sloth.replace('owner: "search-team"', 'severity: "page"')
    (tmp_path / "s.yml").write_text(sloth)
    r = invoke_mlmon("import", "sloth", str(tmp_path / "s.yml"))
    assert r.returncode == 2 and "'high' is not a number" in r.stderr and "severity" not in r.stderr
    pyrra = (DOCS / "pyrra/slos.yaml").read_text().replace('window: 2w', 'window: 1M')
    (tmp_path / "p.yaml").write_text(pyrra)
    r = invoke_mlmon("import", "pyrra", str(tmp_path / "p.yaml"))
    assert r.returncode == 2 and "p.yaml:27:3: spec.window: 1M has no fixed length" in r.stderr


def test_an_indicator_ref_loop_is_located() -> None:
    r = invoke_mlmon("import", "openslo", str(DOCS / "openslo/loop.yaml"))
    assert r.returncode == 2 and "loop.yaml:14:3: spec.indicatorRef: indicatorRef loop: ping → pong → ping" in r.stderr


def test_ten_thousand_objects_in_bounded_time(tmp_path: Path) -> None:
    items = "".join(f"- {{apiVersion: openslo/v1, kind: Service, metadata: {{name: s{i}}}}}\n" for i in range(10_000))
    path = tmp_path / "many.yaml"
    slo = yaml.safe_load((DOCS / "openslo/v1alpha.yaml").read_text())
    path.write_text(items + yaml.safe_dump([slo]))
    start = time.monotonic()
    r = invoke_mlmon("import", "openslo", str(path))
    assert time.monotonic() - start < 30
    assert r.returncode == 0, r.stderr
    assert "embedder-availability" in r.stdout


def test_a_percent_string_target_never_crashes(tmp_path: Path) -> None:
    bad = (DOCS / "openslo/v1alpha.yaml").read_text().replace("target: 0.995", 'target: "lots%"')
    (tmp_path / "p.yaml").write_text(bad)
    r = invoke_mlmon("import", "openslo", str(tmp_path / "p.yaml"))
    assert r.returncode == 2 and "'lots%' is not a number" in r.stderr


def sloth_form_rules(error: str, total: str, objective: float) -> dict:
    """Sloth's generated shape (its docs: slo:sli_error:ratio_rate<window>, page alert 14.4 over 5m and 1h)."""
    labels = {"sloth_id": "ranker-requests-availability", "sloth_service": "ranker",
              "sloth_slo": "requests-availability"}
    records = [{"record": f"slo:sli_error:ratio_rate{w}",
                "expr": f"({error.replace('{{window}}', w)})\n/\n({total.replace('{{window}}', w)})",
                "labels": {**labels, "sloth_window": w}} for w in ("5m", "1h")]
    budget = round(1 - objective / 100, 6)
    sel = '{sloth_id="ranker-requests-availability"}'
    alert = {"alert": "SlothPage",
             "expr": f"(max(slo:sli_error:ratio_rate5m{sel} > (14.4 * {budget})) without (sloth_window)\n"
                     f"and\nmax(slo:sli_error:ratio_rate1h{sel} > (14.4 * {budget})) without (sloth_window))"}
    return {"groups": [{"name": "sloth-form", "rules": [*records, alert]}]}


def test_imported_sloth_slo_pages_when_sloths_rules_would(tmp_path: Path) -> None:
    specs = imported(tmp_path, "sloth", ["sloth/service.yml"])
    slo = yaml.safe_load((specs / "ranker.yaml").read_text())["slos"]["requests-availability"]
    r = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    ours = sorted((tmp_path / "out").rglob("prometheus/rules/*.y*ml"))
    page_fast = [rule for f in ours for g in yaml.safe_load(f.read_text())["groups"] for rule in g["rules"]
                 if "alert" in rule and rule.get("labels", {}).get("tier") == "page-fast"
                 and rule.get("labels", {}).get("slo") == "requests-availability"]
    assert len(page_fast) == 1, page_fast
    sloth_file = tmp_path / "sloth.yml"
    sloth_file.write_text(yaml.safe_dump(sloth_form_rules(slo["sli"]["error_query"], slo["sli"]["total_query"],
                                                          slo["objective"])))
    # 1000 requests a minute; from 2h on, 5% fail (50x the budget of 0.1%).
    series = [{"series": 'http_requests_total{job="ranker",code="200"}', "values": "0+1000x120 120000+950x60"},
              {"series": 'http_requests_total{job="ranker",code="500"}', "values": "0+0x120 0+50x60"}]

    def fires(expr: str, at: str, yes: bool) -> dict:
        samples = [{"labels": "{}", "value": 1}] if yes else []
        return {"expr": f"count({expr}) > 0", "eval_time": at, "exp_samples": samples}

    cases = []
    for expr in (page_fast[0]["expr"], sloth_form_rules("x", "y", 99.9)["groups"][0]["rules"][2]["expr"]):
        cases += [fires(expr, "1h", False), fires(expr, "2h3m", False), fires(expr, "2h40m", True)]
    test = tmp_path / "test.yml"
    test.write_text(yaml.safe_dump({"rule_files": [str(p) for p in [*ours, sloth_file]], "evaluation_interval": "1m",
                                    "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": cases}]}))
    run = promtool.test_rules([test])
    assert run.ok, run.output


# Pyrra's multi-window alerts at a 28d window (its slo/rules.go, Windows): burn, long, short, for.
PYRRA_28D = ((14, "1h", "5m", "2m"), (7, "6h", "30m", "15m"), (2, "1d", "2h", "1h"), (1, "4d", "6h", "3h"))


def pyrra_form_rules(errors: str, total: str, target: str, slo: str) -> dict:
    """Pyrra's generated shape for a ratio indicator, written here from its formulas: a recording
    `<total without _total>:burnrate<w>` per window with the SLO's equality matchers as labels, and
    one ErrorBudgetBurn alert per window pair, `short > (burn * (1-target)) and long > (...)`."""
    name = total.split("{")[0].removesuffix("_total")
    labels = {"slo": slo, "job": "scorer"}
    records = [{"record": f"{name}:burnrate{w}", "expr": f"sum(rate({errors}[{w}])) / sum(rate({total}[{w}]))",
                "labels": labels} for w in sorted({w for _, long, short, _ in PYRRA_28D for w in (long, short)})]
    sel = f'{{job="scorer",slo="{slo}"}}'
    alerts = [{"alert": "ErrorBudgetBurn", "expr": f"{name}:burnrate{short}{sel} > ({burn} * (1-{target})) and "
               f"{name}:burnrate{long}{sel} > ({burn} * (1-{target}))", "for": for_,
               "labels": {"long": long, "short": short}} for burn, long, short, for_ in PYRRA_28D]
    return {"groups": [{"name": "pyrra-form", "rules": [*records, *alerts]}]}


def test_imported_pyrra_slo_with_kept_windows_alerts_exactly_when_pyrras_rules_do(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    r = invoke_mlmon("import", "pyrra", "--keep-windows", str(DOCS / "pyrra/slos.yaml"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = invoke_mlmon("generate", str(out / "scorer-errors.yaml"), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    ours = tmp_path / "out" / "prometheus" / "rules" / "scorer-errors.rules.yml"
    source = next(yaml.safe_load_all((DOCS / "pyrra/slos.yaml").read_text()))["spec"]
    ratio = source["indicator"]["ratio"]
    pyrra_file = tmp_path / "pyrra.yml"
    target = repr(float(source["target"]) / 100)  # Pyrra's Target, "99.5" read as 0.995
    pyrra_file.write_text(yaml.safe_dump(pyrra_form_rules(ratio["errors"]["metric"], ratio["total"]["metric"],
                                                          target, "scorer-errors")))
    # 1000 requests a minute: none fail for 1h, then 20% for 40m (40x the 0.5% budget), 4% until
    # 11h40m (8x), then 0.3% (0.6x) to 32h: every window pair crosses its threshold and falls back.
    phases = [(60, 0), (40, 200), (600, 40), (1220, 3)]
    ok, bad = [0], [0]
    for minutes, errors in phases:
        for _ in range(minutes):
            bad.append(bad[-1] + errors)
            ok.append(ok[-1] + 1000 - errors)
    series = [{"series": 'scorer_requests_total{job="scorer",code="200"}', "values": " ".join(map(str, ok))},
              {"series": 'scorer_requests_total{job="scorer",code="500"}', "values": " ".join(map(str, bad))}]
    cases = []
    for tier, (_, long, _, _) in zip(("page-fast", "page-slow", "ticket-fast", "ticket-slow"), PYRRA_28D, strict=True):
        mine = f'count(ALERTS{{alertname="{naming.burn_alert("scorer-errors", tier)}", alertstate="firing"}})'
        theirs = f'count(ALERTS{{alertname="ErrorBudgetBurn", long="{long}", alertstate="firing"}})'
        for minute in range(5, sum(m for m, _ in phases), 5):
            cases.append({"expr": f"({mine} or vector(0)) != bool ({theirs} or vector(0))", "eval_time": f"{minute}m",
                          "exp_samples": [{"labels": "{}", "value": 0}]})
        # Both fire at some point (an equivalence of two silent rule sets proves nothing).
        at = "95m" if tier == "page-fast" else "600m"
        cases.append({"expr": f"{mine} + {theirs}", "eval_time": at, "exp_samples": [{"labels": "{}", "value": 2}]})
    order = [g["name"] for g in yaml.safe_load(ours.read_text())["groups"]] + ["pyrra-form"]
    test = tmp_path / "test.yml"
    test.write_text(yaml.safe_dump({"rule_files": [str(ours), str(pyrra_file)], "evaluation_interval": "1m",
                                    "group_eval_order": order,
                                    "tests": [{"interval": "1m", "input_series": series,
                                               "promql_expr_test": cases}]}))
    run = promtool.test_rules([test])
    assert run.ok, run.output[-3000:]


def test_a_kept_pyrra_window_that_can_never_fire_is_left_out_and_said(tmp_path: Path) -> None:
    """At 90%, Pyrra's 14x critical alert needs an error ratio of 1.4: it is left out, not refused."""
    (tmp_path / "p.yaml").write_text((DOCS / "pyrra/slos.yaml").read_text().replace('target: "95"', 'target: "90"'))
    r = invoke_mlmon("import", "pyrra", "--keep-windows", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "specs"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "specs" / "scorer-latency.yaml").read_text()
    assert "alert 'critical' (14x over 30m) can never fire (14 × error budget 0.1 is not below 1): page-fast is " \
        "left out" in text
    alerts = yaml.safe_load(text)["slos"]["scorer-latency"]["alerts"]
    assert alerts["tiers"] == ["page-slow", "ticket-fast", "ticket-slow"] and "page-fast" not in alerts
    # 2w halves Pyrra's 28d 6h/30m/15m; 7.5m rounds up, as Go's Duration.Round does.
    assert alerts["page-slow"] == {"long": "3h", "short": "15m", "burn": 7, "for": "8m"}
