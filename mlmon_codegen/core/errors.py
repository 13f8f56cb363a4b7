"""Located errors: every problem with user input names its file, line, column and field."""

from __future__ import annotations

from dataclasses import dataclass

# Every command's exit codes, here so the CLI and the commands defined below it share one set.
EXIT_OK = 0
EXIT_FAILED = 1  # a check failed, the output is stale, or drift was found
EXIT_INVALID = 2  # invalid input or usage
EXIT_INTERNAL = 3  # a bug: please report it
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    field: str
    message: str
    hint: str = ""
    warning: bool = False

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        where = f" {self.field}:" if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        kind = " warning:" if self.warning else ""
        return f"{place}:{kind}{where} {self.message}{hint}"


@dataclass(frozen=True)
class Site:
    """Where a value was written, kept in the model so that a later stage (planning) can locate
    the problems it finds with it."""

    file: str
    line: int
    column: int
    field: str

    def problem(self, message: str, hint: str = "", warning: bool = False) -> Problem:
        return Problem(self.file, self.line, self.column, self.field, message, hint, warning)


NOWHERE = Site("(none)", 0, 0, "")  # for models built in code rather than from a file


class SpecError(Exception):
    """Raised with every problem found, so the user fixes them all in one pass."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = sorted(set(problems))
        # Said with the errors, so that a run shows every finding, fatal or not.
        self.warnings = list(warnings or [])
        super().__init__("\n".join(str(p) for p in self.problems))
