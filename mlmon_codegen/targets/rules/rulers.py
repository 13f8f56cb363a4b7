"""`--target mimir` and `--target thanos`: rule files for Mimir (mimirtool/cortextool) and Thanos rulers.

The groups are those of targets/rules/rule_file.py. Mimir files name their ruler namespace at the top, which
is the layout `mimirtool rules sync --rule-dirs` and `cortextool rules sync` read; groups can carry
tenant options. Thanos groups carry `partial_response_strategy`. These group fields are unknown
to promtool 2.42, so `strip_ruler_fields` gives the plain form that promtool checks.
"""

from __future__ import annotations

from typing import Any

from mlmon_codegen.core import naming
from mlmon_codegen.core.durations import format_ms
from mlmon_codegen.spec import model as m

# Group fields a ruler understands and Prometheus 2.42 does not; top-level `namespace` is mimirtool's.
MIMIR_GROUP_FIELDS = ("source_tenants", "query_offset")
THANOS_GROUP_FIELDS = ("partial_response_strategy",)
RULER_GROUP_FIELDS = MIMIR_GROUP_FIELDS + THANOS_GROUP_FIELDS


def _with_options(group: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    # Ruler options go right after the name, before the (long) rules list, for the reader.
    return {"name": group["name"], **options, **{k: v for k, v in group.items() if k != "name"}}


def mimir_options(project: m.Project) -> dict[str, Any]:
    r = project.rulers
    options: dict[str, Any] = {}
    if r.mimir_source_tenants:
        options["source_tenants"] = list(r.mimir_source_tenants)
    if r.mimir_query_offset_ms:
        options["query_offset"] = format_ms(r.mimir_query_offset_ms)
    return options


def mimir_rules(model: m.Model, project: m.Project, rule_file: dict[str, Any]) -> dict[str, Any]:
    """`rule_file` is the model's rendered rules (targets/rules/rule_file.py)."""
    options = mimir_options(project)
    groups = [_with_options(g, options) for g in rule_file["groups"]]
    return {"namespace": naming.mimir_namespace(model.name), "groups": groups}


def thanos_rules(project: m.Project, rule_file: dict[str, Any]) -> dict[str, Any]:
    options = {"partial_response_strategy": project.rulers.thanos_partial_response_strategy}
    return {"groups": [_with_options(g, options) for g in rule_file["groups"]]}


def strip_ruler_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The plain Prometheus rule file inside a Mimir or Thanos one, for promtool 2.42."""
    return {"groups": [{k: v for k, v in g.items() if k not in RULER_GROUP_FIELDS} for g in data["groups"]]}
