"""Models whose rules differ only in names: the unit tests prove one of them tier by tier.

Rules are a function of the model in which its name, team, label values and the rest of what
only names things pass through unchanged. Two models equal once those are blanked get rules
equal up to those names, so promtool's verdict on one holds for the other: a fleet of a
thousand models cut from one template needs its tier-by-tier tests once, not a thousand times
(`mlmon check` is then O(distinct shapes), not O(models)).
"""

from __future__ import annotations

import functools
from typing import TypeVar

from mlmon_codegen.core.errors import NOWHERE
from mlmon_codegen.spec import model as m

BLANK = "_"
T = TypeVar("T")


def _with(record: T, **changes: object) -> T:
    """dataclasses.replace for the spec's records, which have no __post_init__ to run again and no
    slots: a copy of the fields with some changed, at a fifth of replace's cost (it was most of
    `tested_with`, which every `generate` runs over the whole fleet)."""
    out = object.__new__(type(record))
    out.__dict__.update(record.__dict__, **changes)
    return out


def shape(model: m.Model) -> m.Model:
    """The model with every value that only names something blanked."""
    metrics = model.metrics
    if metrics.model_value == model.name:  # the default selector value is the name itself
        metrics = _with(metrics, model_value=BLANK)
    return _with(
        model, name=BLANK, team=BLANK, source=BLANK, description=BLANK, version=None, expected_rps=None,
        labels=tuple((k, BLANK) for k, _ in model.labels), metrics=metrics, routing=None, site=NOWHERE,
        scrape=_with(model.scrape, targets=(), kubernetes=None),
        slos=tuple(_with(s, site=NOWHERE) for s in model.slos))


@functools.lru_cache(maxsize=8)
def tested_with(fleet: m.Fleet) -> dict[str, str]:
    """Each model's name → the model of its shape whose unit tests cover every tier and alert:
    the first by name (itself, for the first of its shape)."""
    # Keyed by the shape's repr, which spells every field: Model hashes by name, which every shape
    # shares, so a dict of shapes compared each new one with all the distinct shapes before it.
    first: dict[str, str] = {}
    return {x.name: first.setdefault(repr(shape(x)), x.name) for x in fleet.models}
