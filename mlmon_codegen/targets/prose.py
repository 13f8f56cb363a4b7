"""Jinja2 templates for prose (runbooks, starter specs): the one place template files are read.

The defaults ship inside the package (`mlmon_codegen/templates/`), read through importlib.resources
like the Alertmanager template, so any install finds them. A project may name its own folder
(`templates:` in the Project file); it is searched first, and `teams/<team>/` inside it before
that, so a team overrides any single template without copying the rest.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from mlmon_codegen.core import text

# Jinja's FileSystemLoader needs a folder: the package is installed as files (wheel or editable), never zipped.
DEFAULT_DIR = Path(str(resources.files("mlmon_codegen") / "templates"))


class TemplateError(Exception):
    """A template is missing or broken; the message names the file and line."""


def search_path(templates_dir: str | None, team: str | None = None) -> tuple[str, ...]:
    paths: list[str] = []
    if templates_dir:
        if team:
            paths.append(str(Path(templates_dir) / "teams" / team))
        paths.append(templates_dir)
    return (*paths, str(DEFAULT_DIR))


@functools.lru_cache(maxsize=64)
def environment(paths: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(paths)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,  # Markdown and YAML comments, never HTML
        auto_reload=False,  # a run reads each template once; no stat of it per runbook
    )
    env.filters["pct"] = text.percent
    return env


def blocks(paths: tuple[str, ...], name: str) -> dict[str, int]:
    """The blocks template `name` (as the search path finds it) and the templates it extends
    define: block name → line in `name` (0 for a parent's)."""
    env = environment(paths)
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    tree = env.parse(source, name)
    found = {b.name: b.lineno for b in tree.find_all(jinja2.nodes.Block)}
    parent = next(tree.find_all(jinja2.nodes.Extends), None)
    if parent is not None and isinstance(parent.template, jinja2.nodes.Const):
        for block in blocks(paths, parent.template.value):
            found.setdefault(block, 0)
    return found


def render(paths: tuple[str, ...], names: list[str], context: dict[str, Any]) -> str:
    """Render the first of `names` that exists anywhere on the search path."""
    env = environment(paths)
    try:
        template = env.select_template(names)
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from exc
    except jinja2.TemplatesNotFound as exc:
        raise TemplateError(f"no template {' or '.join(names)} in {', '.join(paths)}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{names[0]}: template error: {exc}") from exc
