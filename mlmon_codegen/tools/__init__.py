"""Wrappers around the real promtool and amtool binaries."""
