"""Runbooks: one per alert, linked from its runbook_url, rendered from overridable templates."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import ROOT, invoke_mlmon

from mlmon_codegen.build import generate
from mlmon_codegen.core import naming
from mlmon_codegen.emit.write import WriteError, render_files
from mlmon_codegen.plan import alert_text
from mlmon_codegen.plan.records import Alert
from mlmon_codegen.plan.rules import plan_rules
from mlmon_codegen.spec.validate import load_and_validate
from mlmon_codegen.targets import prose, runbooks

SPEC = """apiVersion: mlmon/v1
kind: ModelMonitor
metadata: {{name: {name}, team: {team}}}
scrape: {{targets: ["h:8000"]}}
slos:
  availability: {{objective: 99.9, period: 30d}}
"""


def artifacts(paths: list[Path], runbooks_option: str = "per_model") -> dict[str, str]:
    """Every artifact's data; a runbook per model and alert unless `runbooks_option` is shared."""
    fleet = load_and_validate(paths).fleet
    fleet = dataclasses.replace(fleet, project=dataclasses.replace(fleet.project, runbooks=runbooks_option))
    return {a.path: a.data for a in generate.render_all(fleet)}


def alerts_of(files: dict) -> list[dict]:
    return [r for p, d in files.items() if p.startswith("prometheus/rules/")
            for g in d["groups"] for r in g["rules"] if "alert" in r]


@pytest.fixture(scope="module")
def example() -> dict:
    return artifacts([ROOT / "specs"])


@pytest.fixture(scope="module")
def shared() -> dict:
    return artifacts([ROOT / "specs"], "shared")


def test_every_alert_has_its_runbook_at_its_url(example: dict, example_fleet) -> None:
    base = example_fleet.project.runbook_base_url
    alerts = alerts_of(example)
    assert alerts
    for rule in alerts:
        model = rule["labels"]["model"]
        path = naming.runbook_file(model, rule["alert"])
        assert path in example, path
        # The URL is the runbook's path under the project's base URL.
        url = rule["annotations"]["runbook_url"]
        assert url == f"{base}/{path.removeprefix('runbooks/')}"
    runbook_paths = {p for p in example if p.startswith("runbooks/")}
    assert runbook_paths == {naming.runbook_file(r["labels"]["model"], r["alert"]) for r in alerts}


def test_burn_runbook_says_what_fired_the_math_the_promql_and_the_dashboard(example: dict) -> None:
    rule = next(r for r in alerts_of(example)
                if r["alert"] == "AvailabilityErrorBudgetBurnPageFast" and r["labels"]["model"] == "iris-classifier")
    text = example[naming.runbook_file("iris-classifier", rule["alert"])]
    assert rule["expr"] in text
    assert rule["annotations"]["dashboard_url"] in text
    # 14.4 × 0.1% = 1.44% over 1h and 5m; 2% of the budget; 30d / 14.4 = 2d2h.
    assert "1.44%" in text and "1h" in text and "5m" in text and "2%" in text and "2d2h" in text
    assert "## First steps" in text and "error_type" in text  # the errors kind's first steps


@pytest.mark.parametrize(("family", "template"), [
    ("model_down", "model-down"), ("no_data", "no-data"), ("feature_drift", "drift"), ("out_of_range", "drift"),
    ("no_labels", "accuracy"), ("prediction_skew", "skew"), ("low_confidence", "skew"),
    ("retrain_stale", "retrain"), ("something_new", "alert"),
])
def test_alert_families_pick_their_template(family: str, template: str) -> None:
    alert = Alert("X", family, "warning", "vector(1)", None, {}, {})
    assert alert_text.template_of(alert.kind) == template


def test_every_planned_alert_has_a_template_of_its_own() -> None:
    fleet = load_and_validate([ROOT / "specs"]).fleet
    for model in fleet.models:
        for alert in plan_rules(model, fleet.project).alerts():
            slo = next((s for s in model.slos if s.name == alert.slo), None)
            assert alert_text.template_of(alert.kind, slo) != "alert", alert.name


def test_a_new_alert_kind_gets_the_generic_runbook() -> None:
    fleet = load_and_validate([ROOT / "specs" / "iris-classifier.yaml"]).fleet
    alert = Alert("SomethingNew", "something_new", "info", "vector(1) > 0", None,
                  {"model": "iris-classifier", "severity": "info"}, {"summary": "something new happened"})
    text = runbooks.render(fleet.models[0], fleet.project, alert)
    assert "# SomethingNew on iris-classifier" in text and "vector(1) > 0" in text
    assert "## First steps" in text


def _project(tmp_path: Path, templates: str | None) -> None:
    extra = f"templates: {templates}\n" if templates else ""
    (tmp_path / "mlmon.yaml").write_text(f"apiVersion: mlmon/v1\nkind: Project\nmetadata: {{name: p}}\n{extra}")


def _overridden(tmp_path: Path) -> None:
    """Two models of teams alpha and beta; the project overrides the errors runbook's first steps,
    team beta the whole ModelDown runbook."""
    (tmp_path / "a.yaml").write_text(SPEC.format(name="model-a", team="alpha"))
    (tmp_path / "b.yaml").write_text(SPEC.format(name="model-b", team="beta"))
    _project(tmp_path, "tpl")
    (tmp_path / "tpl" / "runbooks").mkdir(parents=True)
    (tmp_path / "tpl" / "runbooks" / "errors.md.j2").write_text(
        '{% extends "runbooks/_layout.md.j2" %}{% block first_steps %}Call the payments on-call.\n{% endblock %}')
    team_dir = tmp_path / "tpl" / "teams" / "beta" / "runbooks"
    team_dir.mkdir(parents=True)
    (team_dir / "model-down.md.j2").write_text("Beta's own ModelDown runbook for {{ model.name }}.\n")


def test_a_project_and_a_team_override_templates(tmp_path: Path) -> None:
    _overridden(tmp_path)
    files = artifacts([tmp_path])
    a_burn = files[naming.runbook_file("model-a", "AvailabilityErrorBudgetBurnPageFast")]
    b_burn = files[naming.runbook_file("model-b", "AvailabilityErrorBudgetBurnPageFast")]
    assert "Call the payments on-call." in a_burn and "Call the payments on-call." in b_burn
    assert "## The math" in a_burn  # the rest of the layout is still mlmon's
    assert files[naming.runbook_file("model-b", "ModelDown")] == "Beta's own ModelDown runbook for model-b.\n"
    assert "## First steps" in files[naming.runbook_file("model-a", "ModelDown")]  # alpha keeps the default


def test_a_broken_template_is_a_clear_error(tmp_path: Path, mlmon) -> None:
    (tmp_path / "a.yaml").write_text(SPEC.format(name="model-a", team="alpha"))
    _project(tmp_path, "tpl")
    (tmp_path / "tpl" / "runbooks").mkdir(parents=True)
    (tmp_path / "tpl" / "runbooks" / "errors.md.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(WriteError, match=r"errors\.md\.j2:2"):
        render_files(generate.render_all(load_and_validate([tmp_path]).fleet))
    r = mlmon("generate", str(tmp_path), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "errors.md.j2:2" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_templates_folder_is_located(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SPEC.format(name="model-a", team="alpha"))
    _project(tmp_path, "nowhere")
    r = invoke_mlmon("validate", str(tmp_path))
    assert r.returncode == 2
    assert "mlmon.yaml:4:" in r.stderr and "templates" in r.stderr


def test_runbooks_are_deterministic(example: dict) -> None:
    again = artifacts([ROOT / "specs"])
    assert {p: d for p, d in again.items() if p.startswith("runbooks/")} == \
        {p: d for p, d in example.items() if p.startswith("runbooks/")}


def test_default_templates_exist_for_every_kind() -> None:
    kinds = set(alert_text.SLO_ALERT_KINDS.values()) | set(alert_text.FAMILY_TEMPLATES.values())
    for kind in kinds:
        assert (prose.DEFAULT_DIR / "runbooks" / f"{kind}.md.j2").is_file(), kind
    assert (prose.DEFAULT_DIR / "runbooks" / "alert.md.j2").is_file()


def test_the_readme_names_every_runbook_template_and_block() -> None:
    """The kinds a user may override and the layout's blocks, as the README's Runbooks paragraph lists them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("**Runbooks.**"):].split("\n\n")[0]
    kinds = set(alert_text.SLO_ALERT_KINDS.values()) | set(alert_text.FAMILY_TEMPLATES.values())
    assert [k for k in sorted(kinds) if f"`{k}`" not in paragraph] == []
    layout = prose.blocks(prose.search_path(None), runbooks.LAYOUT)
    assert [b for b in sorted(layout) if f"`{b}`" not in paragraph] == []


def test_validate_reports_runbook_templates_that_would_be_ignored_or_break(tmp_path: Path) -> None:
    """Found before anything renders: a block the layout lacks, a file mlmon never reads, bad syntax."""
    (tmp_path / "a.yaml").write_text(SPEC.format(name="model-a", team="alpha"))
    _project(tmp_path, "tpl")
    runbook_dir = tmp_path / "tpl" / "runbooks"
    runbook_dir.mkdir(parents=True)
    (runbook_dir / "errors.md.j2").write_text(
        '{% extends "runbooks/_layout.md.j2" %}\n{% block first_stps %}Call payments.\n{% endblock %}\n')
    (runbook_dir / "modeldown.md.j2").write_text("Ours.\n")
    team_dir = tmp_path / "tpl" / "teams" / "alpha" / "runbooks"
    team_dir.mkdir(parents=True)
    (team_dir / "latency.md.j2").write_text("fine\n{% if %}\n")
    # The layout by its file name alone (template names start at the templates folder): it crashed validate.
    (runbook_dir / "drift.md.j2").write_text('{# ours #}\n{% extends "_layout.md.j2" %}\n')
    r = invoke_mlmon("validate", str(tmp_path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert (f"{runbook_dir / 'drift.md.j2'}:2:1: no template '_layout.md.j2' in {tmp_path / 'tpl'} or mlmon's "
            "(hint: did you mean 'runbooks/_layout.md.j2'?)") in r.stderr
    assert r.stderr.splitlines()[-1] == "mlmon: 3 problems found"  # every template's problem in one run
    assert f"{runbook_dir / 'errors.md.j2'}:2:1: block 'first_stps' is not one of runbooks/_layout.md.j2's" in r.stderr
    assert "did you mean 'first_steps'?" in r.stderr
    assert f"{team_dir / 'latency.md.j2'}:2:1: template error" in r.stderr
    # Fixed, what is left is a warning, which does not fail validation.
    (runbook_dir / "errors.md.j2").write_text(
        '{% extends "runbooks/_layout.md.j2" %}\n{% block first_steps %}Call payments.\n{% endblock %}\n')
    (team_dir / "latency.md.j2").unlink()
    (runbook_dir / "drift.md.j2").unlink()
    r = invoke_mlmon("validate", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"{runbook_dir / 'modeldown.md.j2'}: warning: mlmon renders no runbook from this file" in r.stderr
    assert "did you mean runbooks/model-down.md.j2?" in r.stderr


# ---------------------------------------------------------------- runbooks: shared


def test_shared_runbooks_one_per_kind_at_every_alerts_url(shared: dict, example_fleet) -> None:
    """Issue 17: `runbooks: shared` (the default) writes one runbook per alert kind for every
    model, and each alert's runbook_url is the one of its kind."""
    base = example_fleet.project.runbook_base_url
    written = {p for p in shared if p.startswith("runbooks/")}
    assert written == {f"runbooks/{k}.md" for k in runbooks.shared_kinds()}
    models = {x.name: x for x in example_fleet.models}
    kinds = set()
    for rule in alerts_of(shared):
        model = models[rule["labels"]["model"]]
        planned = next(a for a in plan_rules(model, example_fleet.project).alerts() if a.name == rule["alert"])
        kind = alert_text.template_of(planned.kind, next((s for s in model.slos if s.name == planned.slo), None))
        assert rule["annotations"]["runbook_url"] == f"{base}/{kind}.md", rule["alert"]
        kinds.add(kind)
    assert len(kinds) >= 8


def test_a_shared_runbook_keeps_its_template_and_names_no_model(shared: dict, example: dict, example_fleet) -> None:
    """The kind's text as per model, its values pointed at the alert's labels and annotations."""
    text = shared["runbooks/errors.md"]
    own = example[naming.runbook_file("iris-classifier", "AvailabilityErrorBudgetBurnPageFast")]
    steps = own.split("## First steps", 1)[1]
    assert text.endswith(steps)  # the errors kind's first steps, word for word
    assert "the alert's `model` label" in text and "`summary` annotation" in text and "mlmon explain" in text
    for model in example_fleet.models:
        assert model.name not in "".join(v for p, v in shared.items() if p.startswith("runbooks/"))
    assert not re.search(r"\d+(\.\d+)?%", text)  # no model's objective or threshold
    # The PromQL is valid: it reads the recorded series of any model once MODEL is replaced.
    assert 'mlmon_slo:error_ratio:period{model="MODEL", slo="SLO"}' in text


def test_shared_runbooks_keep_project_and_team_overrides(tmp_path: Path) -> None:
    _overridden(tmp_path)
    files = artifacts([tmp_path], "shared")
    assert "Call the payments on-call." in files["runbooks/errors.md"]
    assert "Call the payments on-call." in files["runbooks/teams/beta/errors.md"]
    assert files["runbooks/teams/beta/model-down.md"] == "Beta's own ModelDown runbook for the alert's `model` label.\n"
    assert "## First steps" in files["runbooks/model-down.md"]  # alpha keeps the default
    urls = {(r["labels"]["model"], r["alert"]): r["annotations"]["runbook_url"] for r in alerts_of(files)}
    assert urls[("model-b", "ModelDown")].endswith("/teams/beta/model-down.md")
    assert urls[("model-a", "ModelDown")].endswith("/model-down.md") and "/teams/" not in urls[("model-a", "ModelDown")]
