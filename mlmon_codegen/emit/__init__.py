"""Bytes out: the YAML and JSON serialisers and the atomic, deterministic tree writer."""
