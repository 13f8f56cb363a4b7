"""Grafana dashboards: what each panel shows (panels.py, ml_panels.py) apart from layout and JSON (dashboards.py)."""
