"""`mlmon import openslo|sloth|pyrra FILE... [-o DIR]`: SLOs of other tools as ModelMonitor specs.

Every file is read, every problem of every SLO reported, and nothing written unless the
converted specs pass mlmon's own validation. Each spec's header says what was not carried over
and how the source's burn-rate alert windows compare with mlmon's tiers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from mlmon_codegen.build.load import check_documents
from mlmon_codegen.cli.load import fail
from mlmon_codegen.core import durations
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.emit.write import WriteError, create_files, dump_yaml
from mlmon_codegen.plan import burnrate
from mlmon_codegen.spec import import_windows, openslo, pyrra, sloth
from mlmon_codegen.spec.load import Document, load_text
from mlmon_codegen.spec.openslo import Service, SourceWindow

FORMATS: dict[str, tuple[str, Callable[[list[Document]], list[Service]]]] = {
    "openslo": ("OpenSLO", openslo.convert),
    "sloth": ("Sloth", sloth.convert),
    "pyrra": ("Pyrra", pyrra.convert),
}
POLICY = "the Google SRE workbook's multi-window multi-burn-rate policy"


def _window(w: SourceWindow | burnrate.Tier) -> str:
    if isinstance(w, burnrate.Tier):
        return f"{w.name} {w.factor:.4g}x over {w.long}/{w.short}"
    short = f"/{durations.format_ms(w.short_ms)}" if w.short_ms else ""
    label = w.name or w.severity
    return f"{label} {w.factor:.4g}x over {durations.format_ms(w.long_ms)}{short}"


def window_notes(slo: str, whose: str, source: list[SourceWindow], tiers: tuple[burnrate.Tier, ...]) -> list[str]:
    """How the source's alert windows compare with the mlmon tiers the SLO gets."""
    ours = "; ".join(_window(t) for t in tiers)
    kinds = {t.name.split("-")[0] for t in tiers}
    if {w.severity for w in source} <= {"page", "ticket"}:
        source = [w for w in source if w.severity in kinds]  # a disabled Sloth alert left its tiers out
    if all(w.short_ms for w in source):
        same = sorted((round(w.factor, 2), w.long_ms, w.short_ms) for w in source) == \
            sorted((round(t.factor, 2), t.long_ms, t.short_ms) for t in tiers)
        if same:
            return [f"{slo}: {whose} alert windows are mlmon's tiers ({POLICY}): {ours}"]
        return [f"{slo}: {whose} alert windows ({'; '.join(_window(w) for w in source)}) differ from "
                f"mlmon's tiers ({ours}); mlmon's are generated"]
    out = []
    for w in source:  # single-window conditions: name the tier whose long window is closest
        near = min(tiers, key=lambda t: abs(t.long_ms - w.long_ms) / max(t.long_ms, w.long_ms))
        out.append(f"{slo}: alert condition {_window(w)} has no exact mlmon tier; closest is {_window(near)} "
                   "(mlmon also requires its short window)")
    return out


# Whose alert windows an import keeps as the tiers' own without being asked: OpenSLO's alert
# conditions are the author's choice; Pyrra's windows are Pyrra's defaults (kept with --keep-windows);
# Sloth's defaults are mlmon's policy, and its AlertWindows are kept by the Sloth converter itself.
KEEPS_WINDOWS = {"openslo": True, "sloth": False, "pyrra": False}


def keep_windows_of(service: Service) -> None:
    """The service's source alert windows as its SLOs' own tier windows."""
    for name, (whose, source) in service.windows.items():
        alerts, notes = import_windows.as_tiers(name, whose, source, service.slos[name]["objective"])
        if alerts:
            service.slos[name]["alerts"] = {**service.slos[name].get("alerts", {}), **alerts}
        service.notes.extend(notes)


def header(command: str, sources: list[str], notes: list[str]) -> str:
    lines = [f"# Converted by `mlmon import {command}` from {', '.join(sources)}.",
             "# Review it: scrape.targets and metadata.team are placeholders unless given on the command line."]
    lines += [f"# Note: {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"


def read_documents(files: tuple[str, ...]) -> list[Document]:
    docs, problems = [], []
    for f in files:
        try:
            raw = Path(f).read_bytes()
        except OSError as exc:
            problems.append(Problem(f, 0, 0, "", f"cannot read: {exc.strerror}"))
            continue
        found, errs = openslo.load_documents(f, raw)
        docs.extend(found)
        problems.extend(errs)
    if problems:
        raise SpecError(problems)
    return docs


def specs_text(files: tuple[str, ...], team: str, targets: list[str], fmt: str = "openslo",
               warnings: list[Problem] | None = None, keep_windows: bool = False) -> dict[str, str]:
    """Service name → spec text, validated as mlmon specs before anything is written; the
    conversion's located warnings go into `warnings` and each spec's header. `keep_windows`:
    the source's alert windows become the tiers' own where mlmon would use its policy (Pyrra's)."""
    origin, convert = FORMATS[fmt]
    services = convert(read_documents(files))
    keep = keep_windows or KEEPS_WINDOWS[fmt]
    if keep:
        for s in services:
            keep_windows_of(s)
    bodies = {s.name: dump_yaml(openslo.model_spec(s, team, targets, origin)) for s in services}
    # The converted spec must pass mlmon's own validation, or the import is a bug.
    checked = []
    for name, text in bodies.items():
        doc, errs = load_text(f"{name}.yaml (converted)", text.encode())
        if errs or doc is None:
            raise SpecError(errs)
        checked.append(doc)
    fleet = check_documents(checked).fleet
    models = {m.name: m for m in fleet.models}
    out = {}
    for s in services:
        notes = [*map(str, s.warnings), *s.notes]
        if warnings is not None:
            warnings.extend(s.warnings)
        for slo in models[s.name].slos:
            if slo.name in s.windows:
                whose, windows = s.windows[slo.name]
                if keep or burnrate.own_windows(slo):
                    notes.append(f"{slo.name}: {whose} alert windows, burn rates and `for` are kept as the tiers' "
                                 f"own: {'; '.join(_window(t) for t in burnrate.tiers(slo))}")
                else:
                    notes += window_notes(slo.name, whose, windows, burnrate.tiers(slo))
        out[s.name] = header(fmt, list(files), notes) + bodies[s.name]
    return out


@click.group(name="import")
def import_group() -> None:
    """Convert SLOs from other formats into mlmon specs."""


def _run(fmt: str, files: tuple[str, ...], out: str | None, team: str, targets: tuple[str, ...],
         keep_windows: bool = False) -> None:
    warnings: list[Problem] = []
    try:
        texts = specs_text(files, team, list(targets), fmt, warnings, keep_windows)
    except SpecError as exc:
        fail(exc.problems)
    for w in warnings:
        click.echo(str(w), err=True)
    if out is None:
        click.echo("---\n".join(texts.values()), nl=False)
        return
    paths = {Path(out) / f"{name}.yaml": text.encode() for name, text in texts.items()}
    try:
        create_files(paths)
    except WriteError as exc:
        fail([exc])
    for p in paths:
        click.echo(f"wrote {p}")


def _command(fmt: str, summary: str, keeps_windows: bool = False) -> None:
    @click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
    @click.option("-o", "--out", "out", type=click.Path(file_okay=False),
                  help="write <service>.yaml here (default: print to stdout)")
    @click.option("--team", default="my-team", show_default=True, help="metadata.team of the specs")
    @click.option("--target", "targets", multiple=True, help="scrape target host:port (default: <service>:8000)")
    def command(files: tuple[str, ...], out: str | None, team: str, targets: tuple[str, ...],
                keep_windows: bool = False) -> None:
        _run(fmt, files, out, team, targets, keep_windows)

    if keeps_windows:
        command = click.option("--keep-windows", is_flag=True, help="the tiers get the source's alert windows, "
                               "burn rates and `for` instead of mlmon's policy")(command)
    import_group.command(name=fmt, help=summary)(command)


_command("openslo", "Convert OpenSLO v1/v1alpha SLOs (ratio and threshold SLIs, fixed-length windows, "
         "Occurrences, Timeslices and RatioTimeslices).")
_command("sloth", "Convert Sloth prometheus/v1 specs and PrometheusServiceLevel objects.")
_command("pyrra", "Convert Pyrra ServiceLevelObjective objects (ratio, latency, bool_gauge).", keeps_windows=True)
