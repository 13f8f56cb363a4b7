"""CLI subcommands kept out of cli.py. `register` hooks in explain, init and import openslo."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from mlmon_codegen.commands import explain, init, openslo

    group.add_command(explain.explain)
    group.add_command(init.init)
    group.add_command(openslo.import_group)
