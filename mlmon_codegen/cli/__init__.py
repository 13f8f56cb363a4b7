"""The `mlmon` command: one module per command; main.py holds the group and the exit codes."""
