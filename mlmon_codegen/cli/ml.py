"""`mlmon baseline` and `mlmon drift`: training baselines for the drift rules, offline drift report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlmon_codegen.cli.load import fail
from mlmon_codegen.core.errors import EXIT_FAILED, EXIT_OK, Problem, SpecError
from mlmon_codegen.emit.write import replace_file
from mlmon_codegen.spec import ml
from mlmon_codegen.spec.ml_validate import baseline_path, load_baseline


@click.command()
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False), help="training data (CSV, Parquet)")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False), help="the model's spec")
@click.option("--bins", default=None, type=click.IntRange(2, 50), help="quantile bins (default: drift.bins or 10)")
@click.option("--label", default="label", show_default=True, help="the label column (class priors)")
@click.option("--no-label", is_flag=True, help="the data has no label column: no class priors")
def baseline(data: str, spec_path: str, bins: int | None, label: str, no_label: bool) -> None:
    """Write <spec>.baseline.yaml beside the spec from training data."""
    from mlmon_codegen.ml import baseline as bl  # numpy: loaded only by the commands that need it
    from mlmon_codegen.ml import data as mldata

    try:
        spec = bl.load_spec(Path(spec_path))
        nbins = bins or (spec.drift.bins if spec.drift else ml.DriftSpec().bins)
        table = mldata.read_table(Path(data))
        content = bl.render(bl.build(table, spec, nbins, None if no_label else label), spec_path)
        for line in bl.range_warnings(table, spec.features):
            click.echo(f"warning: {line}", err=True)
    except SpecError as exc:
        fail(list(exc.problems))
    except mldata.DataError as exc:
        fail([exc])
    out = baseline_path(spec_path)
    replace_file(out, content)
    click.echo(f"wrote {out}")


@click.command()
@click.option("--reference", required=True, type=click.Path(dir_okay=False), help="training data")
@click.option("--current", required=True, type=click.Path(dir_okay=False), help="production data")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="also write a self-contained HTML report here (written whether or not drift is found)")
@click.option("--predictions", "prediction_column", default=None,
              help="the current data's column of predicted classes: also test them against the baseline's class priors")
def drift(reference: str, current: str, spec_path: str, as_json: bool, html_path: str | None,
          prediction_column: str | None) -> None:
    """Compare production data with training data; exit 1 when the dataset drifted."""
    from mlmon_codegen.ml import baseline as bl  # numpy and scipy: loaded only by the commands that need them
    from mlmon_codegen.ml import data as mldata
    from mlmon_codegen.ml import drift as dr
    from mlmon_codegen.ml import report as rp

    problems: list[Problem] = []
    try:
        spec = bl.load_spec(Path(spec_path))
        base = None
        path = baseline_path(spec_path)
        if path.exists():
            loaded = load_baseline(path, problems)
            if loaded is None:
                raise SpecError(problems)
            base = loaded[1]
        ref_table, cur_table = mldata.read_table(Path(reference)), mldata.read_table(Path(current))
        rep = dr.report(ref_table, cur_table, spec, base, prediction_column)
        page = (rp.render(rep, ref_table, cur_table, spec, base, spec_path, str(path) if base else None)
                if html_path else None)
    except SpecError as exc:
        fail(list(exc.problems))
    except mldata.DataError as exc:
        fail([exc])
    if page is not None:
        try:
            replace_file(Path(html_path), page.encode())
        except OSError as exc:
            fail([f"{html_path}: cannot write the HTML report: {exc.strerror or exc}"])
        # stderr, so that `--json` keeps stdout pure JSON
        click.echo(f"wrote {html_path}", err=True)
    click.echo(json.dumps(rep.as_json(), indent=2, sort_keys=True) if as_json else dr.table(rep))
    sys.exit(EXIT_FAILED if rep.drifted else EXIT_OK)


def register(group: click.Group) -> None:
    group.add_command(baseline)
    group.add_command(drift)
