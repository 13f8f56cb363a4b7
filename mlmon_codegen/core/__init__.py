"""What every stage shares: located errors, durations, names (naming.py) and the PromQL builder (promql.py)."""
