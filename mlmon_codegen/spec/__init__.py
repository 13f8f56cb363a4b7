"""Spec handling: load YAML keeping file:line, validate into the internal model."""
