"""The seed article's file form: a YAML file whose only top-level key is `slos:`, one entry per model.

    slos:
      fraud_detector:
        availability: {target: 99.9, window: 30d}
        latency: {p99_target_ms: 100}

Each entry becomes a ModelMonitor document before typing, with the defaults the form leaves out
filled in and said (as notes), and every location kept: a problem in an SLO still points at its
line in the seed file.
"""

from __future__ import annotations

from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec.load import Document, Loc

SEED_TEAM = "default"  # the form names no team; Alertmanager routes the team "default" like any other


def is_seed(doc: Document) -> bool:
    return isinstance(doc.data, dict) and set(doc.data) == {"slos"} and isinstance(doc.data["slos"], dict)


def _model_document(doc: Document, name: object, slos: object) -> Document:
    key: Loc = ("slos", str(name))
    where = doc.locations.get(key) or doc.where(("slos",))
    locations: dict[Loc, tuple[int, int]] = {}
    for loc, at in doc.locations.items():
        if loc[:2] == key and len(loc) > 2:
            locations[("slos", *loc[2:])] = at
    # What the seed never wrote stands at the model's key, so a problem with it points there.
    for loc in [(), ("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"), ("metadata", "team")]:
        locations.setdefault(loc, where)
    locations[("slos",)] = where
    data = {"apiVersion": "mlmon/v1", "kind": "ModelMonitor",
            "metadata": {"name": name, "team": SEED_TEAM}, "slos": slos}
    return Document(doc.path, data, locations)


def expand(docs: list[Document]) -> tuple[list[Document], list[Problem]]:
    """The documents with each seed-form file replaced by one ModelMonitor per model, and a note
    per model on the defaults applied (warnings, so that `validate` shows them and passes)."""
    out: list[Document] = []
    notes: list[Problem] = []
    for doc in docs:
        if not is_seed(doc):
            out.append(doc)
            continue
        for name, slos in doc.data["slos"].items():
            model = _model_document(doc, name, slos)
            out.append(model)
            notes.append(model.problem(
                ("metadata", "name"),
                f"note: seed form: model {name!r} read as apiVersion: mlmon/v1, kind: ModelMonitor, "
                f"metadata: {{name: {name}, team: {SEED_TEAM}}}, no scrape section (an existing scrape job "
                "collects its series, so mlmon writes none) and mlmon's default metric names",
                "write the full ModelMonitor form to choose them", warning=True))
    return out, notes
