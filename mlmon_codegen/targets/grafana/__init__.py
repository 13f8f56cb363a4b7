"""Grafana dashboards: the records a dashboard is made of (records.py), what each panel shows
(panels.py, which takes the ML rows from ml_panels.py), and layout and JSON (dashboards.py)."""
