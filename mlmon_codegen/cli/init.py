"""`mlmon init NAME`: a commented starter spec (and the project file if the folder has none)."""

from __future__ import annotations

from pathlib import Path

import click

from mlmon_codegen.cli.load import fail
from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.emit.write import WriteError, create_files
from mlmon_codegen.spec import v1
from mlmon_codegen.spec.load import discover, load_file
from mlmon_codegen.targets import prose


def _has_project(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    files, _ = discover([folder])
    for f in files:
        doc, _ = load_file(f)
        if doc is not None and doc.data.get("kind") == "Project":
            return True
    return False


def starter_files(name: str, team: str, folder: Path, regressor: bool, ground_truth: bool) -> dict[Path, bytes]:
    """The files to write, rendered from templates/init/ (the caller checks the names)."""
    paths = prose.search_path(None)
    ctx = {"name": name, "team": team, "folder": folder.as_posix(), "regressor": regressor,
           "ground_truth": ground_truth, "project": "my-project"}
    files = {folder / f"{name}.yaml": prose.render(paths, ["init/modelmonitor.yaml.j2"], ctx).encode()}
    if not _has_project(folder):
        files[folder / "mlmon.yaml"] = prose.render(paths, ["init/project.yaml.j2"], ctx).encode()
    return files


def from_metrics_files(name: str, team: str, folder: Path, source: str) -> dict[Path, bytes]:
    """The spec drafted from the exposition at `source` (SpecError when it cannot be read)."""
    from mlmon_codegen.cli import init_metrics
    from mlmon_codegen.spec import exposition

    found = exposition.read(source)
    path = folder / f"{name}.yaml"
    files = {path: init_metrics.draft(name, team, found, source, str(path)).encode()}
    if not _has_project(folder):
        ctx = {"name": name, "team": team, "folder": folder.as_posix(), "project": "my-project"}
        files[folder / "mlmon.yaml"] = prose.render(prose.search_path(None), ["init/project.yaml.j2"], ctx).encode()
    return files


def _check_name(value: str, what: str) -> None:
    try:
        v1.Metadata.model_validate({"name": value, "team": value})
    except Exception:
        fail([f"{what} {value!r} is not valid: use lowercase letters, digits, '-' and '_', "
              "starting with a letter or digit, at most 63 characters"])


@click.command()
@click.argument("name")
@click.option("--team", default="my-team", show_default=True, help="the owning team")
@click.option("--regressor", is_flag=True, help="a regression model (default: a classifier)")
@click.option("--no-ground-truth", "no_ground_truth", is_flag=True,
              help="no labels arrive after predictions, so no accuracy SLO")
@click.option("-o", "--out", "out", default="specs", show_default=True, type=click.Path(file_okay=False),
              help="folder for the spec")
@click.option("--from-metrics", "from_metrics", metavar="URL_OR_FILE",
              help="draft the spec from a service's /metrics (a URL or a saved exposition)")
def init(name: str, team: str, regressor: bool, no_ground_truth: bool, out: str, from_metrics: str | None) -> None:
    """Write a commented starter spec NAME.yaml (and mlmon.yaml if OUT has no project file)."""
    _check_name(name, "model name")
    _check_name(team, "team")
    folder = Path(out)
    try:
        if from_metrics is not None:
            files = from_metrics_files(name, team, folder, from_metrics)
        else:
            files = starter_files(name, team, folder, regressor, not no_ground_truth)
        create_files(files)
    except SpecError as exc:
        fail(exc.problems)
    except (WriteError, prose.TemplateError) as exc:
        fail([exc])
    for path in files:
        click.echo(f"wrote {path}")
    if from_metrics is not None:
        click.echo(f"next: mlmon verify --metrics {from_metrics} {folder / (name + '.yaml')} && "
                   f"mlmon generate {folder} -o out")
        return
    click.echo(f"next: mlmon validate {folder} && mlmon explain {folder / (name + '.yaml')} && "
               f"mlmon generate {folder} -o out")
