"""prometheus-operator objects wrapping the rendered rules, dashboards and Alertmanager routing."""
