"""What a target hands to the writer: one output file as plain data. Targets import this module,
never the writer (write.py), so rendering cannot touch the disk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Artifact:
    path: str  # relative, POSIX
    data: Any
    source: str  # the spec(s) it came from, named in the header
    format: str = "yaml"  # yaml | json | text


class ArtifactError(Exception):
    """An artifact cannot be rendered (a broken template) or written (a path outside OUT, a file
    mlmon does not own): bad input, reported without a traceback."""
