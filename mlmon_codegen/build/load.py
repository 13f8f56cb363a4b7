"""The front end every command uses: load the spec files, validate them, and check the plan.

Validation holds what the user said; planning finds what only the derived alert tiers and rules
show (a tier that can never fire, a model over the series budget). Both report at the spec's
file:line, and one run reports every problem of every file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mlmon_codegen.build import cache as spec_cache
from mlmon_codegen.core.errors import Problem, SpecError
from mlmon_codegen.plan import check
from mlmon_codegen.spec.load import Document
from mlmon_codegen.spec.validate import Clean, Result, load_documents, validate_all
from mlmon_codegen.targets import runbooks


def _checked(docs: Sequence[Document | Clean], problems: list[Problem], check_budget: bool) -> Result:
    result = None
    if docs or not problems:
        result, found = validate_all(docs)
        problems = problems + found + check.problems(result.fleet, check_budget)
        templates = runbooks.template_problems(result.fleet.project)
        problems += [p for p in templates if not p.warning]
        result.warnings.extend(p for p in templates if p.warning)
    if problems or result is None:
        raise SpecError(problems, result.warnings if result is not None else [])
    return result


def check_documents(docs: list[Document], check_budget: bool = True) -> Result:
    """Loaded documents validated and their plan checked, or SpecError with every problem."""
    return _checked(docs, [], check_budget)


def load_fleet(paths: list[Path], check_budget: bool = True, cache: Path | None = None) -> Result:
    """Spec files and folders validated and their plan checked, or SpecError with every problem.
    `check_budget=False` for `mlmon stats`, which reports models over the series budget rather
    than refusing them. `cache`: the file of build/cache.py to read unchanged specs' models from,
    and to keep this run's in; the same result as without it."""
    if cache is None:
        docs, problems = load_documents(paths)
        return _checked(docs, problems, check_budget)
    entries, problems, pending = spec_cache.read(paths, cache)
    result = _checked(entries, problems, check_budget)
    spec_cache.save(pending, result)
    return result
