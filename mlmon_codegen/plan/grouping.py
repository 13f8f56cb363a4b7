"""SLOs split into groups (`group_by`): the group labels a model's SLOs keep, and how alerts name a group.

A grouped SLO's recordings keep its group labels, so each group is a series of its own with its
own budget and burn alerts; the alert's labels carry the group because they are series labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlmon_codegen.spec import model as m

# Values a group label is assumed to take in series estimates when slo_defaults.group_values is silent.
UNLISTED_GROUP_VALUES = 3


def model_group_labels(model: m.Model) -> tuple[str, ...]:
    """Every group label of the model's SLOs once, in the order the SLOs first name them."""
    return tuple(dict.fromkeys(label for slo in model.slos for label in slo.group_by))


def in_group(slo: m.SLO, values: Mapping[str, str] | None = None) -> str:
    """The text that names the alert's group, e.g. ` for model_version=canary`; "" for an ungrouped SLO.

    Without `values` it is the Go template the rule writes (`{{ $labels.model_version }}`); tests pass
    the values they expect it to render."""
    if not slo.group_by:
        return ""
    shown = [f"{label}={values[label] if values is not None else '{{ $labels.' + label + ' }}'}"
             for label in slo.group_by]
    return " for " + ", ".join(shown)
