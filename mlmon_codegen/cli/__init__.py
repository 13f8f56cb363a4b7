"""The `mlmon` command: one module per command; main.py holds the group, load.py the spec loader
and the error exit every command shares (exit codes: core/errors.py)."""
