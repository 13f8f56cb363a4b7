"""The rules of a generated rule file, for the checks that read inside them (engine compatibility,
the series a model's dashboard reads). promtool's own steps report a file that does not parse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlmon_codegen.emit import yaml_emit


def rules(path: Path) -> list[dict[str, Any]] | None:
    """Every rule mapping of every group, in file order; None when the file is missing, is not
    YAML or is not a rule file's mapping."""
    try:
        data = yaml.load(path.read_bytes(), Loader=yaml_emit.LOADER)
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    return [r for g in data.get("groups") or [] if isinstance(g, dict)
            for r in g.get("rules") or [] if isinstance(r, dict)]
