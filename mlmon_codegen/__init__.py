"""mlmon: a monitoring-as-code compiler for machine-learning model services.

Pipeline: load → validate → plan → render → write → check. See README.md.
"""

__version__ = "0.1.0"
