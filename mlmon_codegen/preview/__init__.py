"""`mlmon preview`: dashboards drawn with live data from a Prometheus."""
