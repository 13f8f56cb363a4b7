"""Sloth's AlertWindows imported as the tiers' own windows (`alerts.<tier>: {long, short, burn}`):
the burn factor is the budget share × period / long window (Sloth's and the SRE workbook's
formula), and the generated alert fires exactly when rules of Sloth's documented form over the same
windows do; Sloth's and Pyrra's alert options and OpenSLO's alert conditions carried over."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import yaml
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.check import promtool
from mlmon_codegen.core import durations
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec.validate import load_and_validate

DAY = 86_400_000
OWN = {"page-fast": ("30m", "2m", 1), "page-slow": ("3h", "15m", 2.5), "ticket-fast": ("12h", "1h", 5),
       "ticket-slow": ("2d", "4h", 10)}

SPEC = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {name: scorer, team: t}
scrape: {targets: ["scorer:8000"]}
slos:
  availability:
    objective: 99.9
    period: 30d
    alerts:
"""


def validated(folder: Path, text: str) -> m.Fleet:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorer.yaml").write_text(text)
    return load_and_validate([folder / "scorer.yaml"]).fleet


def spec_text(own: dict[str, tuple[str, str, float]]) -> str:
    tiers = "".join(f"      {t}: {{long: {lng}, short: {sh}, burn: {v}}}\n" for t, (lng, sh, v) in own.items())
    return SPEC + tiers


def burns() -> dict[str, tuple[str, str, float]]:
    """OWN's shares as burn rates, by Sloth's formula: share / 100 x period / long window."""
    return {t: (lng, sh, float(Fraction(str(share)) / 100 * 30 * DAY / durations.parse(lng)))
            for t, (lng, sh, share) in OWN.items()}


def test_own_windows_burn_what_sloths_formula_says(tmp_path: Path) -> None:
    [model] = validated(tmp_path, spec_text(burns())).models
    [slo] = model.slos
    tiers = {t.name: t for t in burnrate.tiers(slo)}
    assert sorted(tiers) == sorted(OWN)
    for name, (lng, sh, share) in OWN.items():
        t = tiers[name]
        assert (t.long_ms, t.short_ms) == (durations.parse(lng), durations.parse(sh))
        factor = Fraction(str(share)) / 100 * 30 * DAY / durations.parse(lng)
        assert abs(t.factor - float(factor)) < 1e-12 and abs(t.budget_consumed - share / 100) < 1e-12
        assert abs(t.threshold - float(factor * (1 - Fraction("99.9") / 100))) < 1e-15


def sloth_form(error: str, total: str, short: str, long: str, factor: float, budget: float) -> dict:
    """Sloth's documented rule shape: slo:sli_error:ratio_rate<window> per window, and a page alert
    over both windows of `factor` × budget."""
    labels = {"sloth_id": "scorer-availability", "sloth_service": "scorer", "sloth_slo": "availability"}
    records = [{"record": f"slo:sli_error:ratio_rate{w}",
                "expr": f"({error.replace('{{window}}', w)})\n/\n({total.replace('{{window}}', w)})",
                "labels": {**labels, "sloth_window": w}} for w in (short, long)]
    sel = '{sloth_id="scorer-availability"}'
    over = f"> ({factor:g} * {budget:g})) without (sloth_window)"
    alert = {"alert": "SlothPageQuick",
             "expr": f"(max(slo:sli_error:ratio_rate{short}{sel} {over}\nand\n"
                     f"max(slo:sli_error:ratio_rate{long}{sel} {over})"}
    return {"groups": [{"name": "sloth-form", "rules": [*records, alert]}]}


def test_own_page_windows_fire_when_sloths_rules_over_them_do(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    text = spec_text(burns()).replace("    alerts:\n", "    sli:\n"
                                  '      error_query: sum(rate(score_requests_total{code="500"}[{{window}}]))\n'
                                  "      total_query: sum(rate(score_requests_total[{{window}}]))\n    alerts:\n")
    (specs / "scorer.yaml").write_text(text.replace("  availability:", "  requests:"))
    r = invoke_mlmon("generate", str(specs), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    [ours] = sorted((tmp_path / "out").rglob("prometheus/rules/*.yml"))
    groups = yaml.safe_load(ours.read_text())["groups"]
    [page_fast] = [rule for g in groups for rule in g["rules"] if rule.get("labels", {}).get("tier") == "page-fast"
                   and "alert" in rule]
    sloth = tmp_path / "sloth.yml"
    errors = 'sum(rate(score_requests_total{code="500"}[{{window}}]))'
    total = "sum(rate(score_requests_total[{{window}}]))"
    sloth.write_text(yaml.safe_dump(sloth_form(errors, total, "2m", "30m", 14.4, 0.001)))
    # 1000 requests a minute; from 2h on, 5% fail. The 30m window passes 1.44% once 28.8% of it
    # holds the fault (8.6 minutes); the policy's own 1h window would need 17.3.
    series = [{"series": 'score_requests_total{code="200"}', "values": "0+1000x120 120000+950x60"},
              {"series": 'score_requests_total{code="500"}', "values": "0+0x120 0+50x60"}]

    def fires(expr: str, at: str, yes: bool) -> dict:
        return {"expr": f"count({expr}) > 0", "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}] if yes
                else []}

    cases = []
    for expr in (page_fast["expr"], yaml.safe_load(sloth.read_text())["groups"][0]["rules"][2]["expr"]):
        cases += [fires(expr, "1h", False), fires(expr, "2h7m", False), fires(expr, "2h11m", True),
                  fires(expr, "2h16m", True)]
    test = tmp_path / "test.yml"
    test.write_text(yaml.safe_dump({"rule_files": [str(ours), str(sloth)], "evaluation_interval": "1m",
                                    "group_eval_order": [g["name"] for g in groups] + ["sloth-form"],
                                    "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": cases}]}))
    run = promtool.test_rules([test])
    assert run.ok, run.output


def test_sloth_alert_windows_become_the_tiers_own(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    r = invoke_mlmon("import", "sloth", str(ROOT / "tests/sloth/service.yml"), str(ROOT / "tests/sloth/windows.yml"),
                     "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = (out / "ranker.yaml").read_text()
    slo = yaml.safe_load(text)["slos"]["requests-availability"]
    assert slo["period"] == "28d"
    windows = yaml.safe_load((ROOT / "tests/sloth/windows.yml").read_text())["spec"]
    for tier, (kind, speed) in {"page-fast": ("page", "quick"), "page-slow": ("page", "slow")}.items():
        w = windows[kind][speed]
        burn = Fraction(str(w["errorBudgetPercent"])) / 100 * 28 * DAY / durations.parse(w["longWindow"])
        assert slo["alerts"][tier] == {"long": w["longWindow"], "short": w["shortWindow"], "burn": float(burn)}
    assert "ticket-fast" not in slo["alerts"] and slo["alerts"]["tiers"] == ["page-fast", "page-slow"]
    assert "the period is 28d, the sloPeriod of" in text
    assert "alert windows, burn rates and `for` are kept as the tiers' own" in text
    r = invoke_mlmon("explain", str(out / "ranker.yaml"))
    assert r.returncode == 0, r.stderr
    # 1.5% of a 28d budget in 40m: 1.5/100 x 28d/40m = 15.12
    assert "15.12x  40m / 3m" in r.stdout, r.stdout


def test_sloth_alert_labels_annotations_and_no_alerts(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    r = invoke_mlmon("import", "sloth", str(ROOT / "tests/sloth/alerting.yml"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = (out / "scorer.yaml").read_text()
    slos = yaml.safe_load(text)["slos"]
    alerts = slos["requests-availability"]["alerts"]
    assert alerts["labels"] == {"category": "availability", "component": "scorer"}
    assert alerts["annotations"] == {"summary": "Scorer errors on {{ $labels.model }}"}
    page = {"labels": {"source_severity": "pageteam", "pager_key": "scorer-oncall"}}
    assert alerts["page-fast"] == alerts["page-slow"] == page
    assert alerts["ticket-fast"] == alerts["ticket-slow"] == {"labels": {"channel": "#ml-alerts"}}
    assert "label 'routing_key' at" in text and "is left out: its name or value reads as a secret" in text
    assert slos["batch-freshness"]["alerts"] == {"enabled": False}
    r = invoke_mlmon("generate", str(out), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    rules = (tmp_path / "out/prometheus/rules/scorer.rules.yml").read_text()
    assert "BatchFreshnessErrorBudgetBurn" not in rules and "mlmon_slo:error_ratio:rate" in rules
    assert "pager_key: scorer-oncall" in rules and "routing_key" not in rules


def test_alert_windows_alone_or_twice_are_located(tmp_path: Path) -> None:
    windows = ROOT / "tests/sloth/windows.yml"
    r = invoke_mlmon("import", "sloth", str(windows))
    assert r.returncode == 2 and "windows.yml:3:1: kind: AlertWindows alone convert nothing" in r.stderr, r.stderr
    second = tmp_path / "w2.yml"
    second.write_text(windows.read_text().replace("28d", "7d"))
    r = invoke_mlmon("import", "sloth", str(ROOT / "tests/sloth/service.yml"), str(windows), str(second))
    assert r.returncode == 2 and "a second AlertWindows (the first is" in r.stderr, r.stderr
    bad = tmp_path / "w3.yml"
    bad.write_text(windows.read_text().replace("errorBudgetPercent: 1.5", "errorBudgetPercent: 0")
                   .replace("longWindow: 4h", "longWindow: soon"))
    r = invoke_mlmon("import", "sloth", str(ROOT / "tests/sloth/service.yml"), str(bad))
    assert r.returncode == 2, r.stderr
    assert "spec.page.quick.errorBudgetPercent: errorBudgetPercent is a number in (0, 100]" in r.stderr
    assert "spec.page.slow.longWindow:" in r.stderr and "mlmon: 2 problems found" in r.stderr


def test_pyrra_disabled_alerting_and_bad_grouping(tmp_path: Path) -> None:
    doc = """apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: quiet}
spec:
  target: "99"
  window: 7d
  alerting: {disabled: true}
  indicator:
    ratio:
      grouping: [GROUPS]
      errors: {metric: 'req_total{code="500"}'}
      total: {metric: req_total}
"""
    (tmp_path / "a.yaml").write_text(doc.replace("GROUPS", "tenant"))
    out = tmp_path / "specs"
    r = invoke_mlmon("import", "pyrra", str(tmp_path / "a.yaml"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    slo = yaml.safe_load((out / "quiet.yaml").read_text())["slos"]["quiet"]
    assert slo["alerts"] == {"enabled": False} and slo["group_by"] == ["tenant"]
    (tmp_path / "b.yaml").write_text(doc.replace("GROUPS", 'severity, "a}b"'))
    r = invoke_mlmon("import", "pyrra", str(tmp_path / "b.yaml"))
    assert r.returncode == 2, r.stderr
    assert "spec.indicator.ratio.grouping[0]: mlmon cannot group by 'severity'" in r.stderr
    assert "spec.indicator.ratio.grouping[1]: 'a}b' is not a label name" in r.stderr
