"""Prometheus rule files, their promtool unit tests, and the Mimir/Thanos ruler variants."""
