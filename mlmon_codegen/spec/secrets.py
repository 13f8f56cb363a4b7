"""Find secret-looking strings in specs (an error, located); check/secrets.py scans a generated tree with them.

Specs are reviewed and committed, and everything generated from them is too, so a password in
either ends up in Git history. Secrets belong in files the services read at run time (the
`*_file` fields). The rules are deliberately narrow, to keep false alarms rare: known token
shapes, URLs that carry credentials, and non-empty values under secret-named keys.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec.load import Document, Loc

# Possessive quantifiers (++, *+): no backtracking, so a long line costs linear time.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.-]*+://[^/\s:@\"']++:[^/\s@\"']*+@", re.I)),
    ("credentials before a host (user:password@host)",
     re.compile(r"(?:^|[\s\"'\[(,])(?!mailto:)[A-Za-z0-9._~%-]++:[^\s/@\"']++@[A-Za-z0-9.-]")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+")),
    ("a bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{20,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
# A literal each pattern needs: `in` is far faster than a regex scan over a large file. A URL with
# a password needs its "@", rarer than "://" (every generated file links a runbook or a dashboard).
_NEEDS = dict(zip([w for w, _ in PATTERNS], [("@",), ("@",), ("PRIVATE KEY",), ("AKIA", "ASIA"),
                                              ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), ("xox",),
                                              ("hooks.slack.com",), ("Bearer",), ("eyJ",)], strict=True))
# Keys whose value is itself the secret. `*_file` keys hold a path and are what we recommend.
SECRET_KEY = re.compile(
    r"^(?:.*[_-])?(?:password|passwd|secret|token|api_?key|apikey|routing_key|service_key|credentials|"
    r"bearer_token|auth_token|webhook_secret|private_key)$", re.I)


def find(text: str) -> str | None:
    """What kind of secret `text` looks like, or None."""
    for what, pattern in PATTERNS:
        if not any(lit in text for lit in _NEEDS[what]):
            continue
        if pattern.search(text):
            return what
    return None


# Spec keys and values repeat across a fleet; whole generated files (scan_tree) are not cached.
_find_in_spec = functools.lru_cache(maxsize=65_536)(find)


def _secret_key(key: Any, value: Any) -> bool:
    return (isinstance(key, str) and bool(SECRET_KEY.match(key)) and isinstance(value, str | int)
            and str(value).strip() != "")


def walk(data: Any, loc: Loc = (), patterns: bool = True) -> Iterator[tuple[Loc, str]]:
    """(location, what) for every secret-looking value in plain data; `patterns=False` checks keys only."""
    if isinstance(data, dict):
        for key, value in data.items():
            if _secret_key(key, value):
                yield (*loc, key), f"`{key}` holds a secret in plain text"
            else:
                yield from walk(value, (*loc, key), patterns)
            if patterns and isinstance(key, str) and (what := _find_in_spec(key)):
                yield (*loc, key), f"the key looks like {what}"
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from walk(item, (*loc, i), patterns)
    elif patterns and isinstance(data, str) and (what := _find_in_spec(data)):
        yield loc, f"looks like {what}"


def spec_problems(doc: Document) -> list[Problem]:
    return [doc.problem(loc, what, "keep secrets out of specs: put them in a file and use the `*_file` field, "
                                   "or pass them in the service's environment")
            for loc, what in walk(doc.data)]
