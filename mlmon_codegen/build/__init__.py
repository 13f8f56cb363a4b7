"""Generation: every target's artifacts per model and per fleet, rendered in worker processes and written."""
