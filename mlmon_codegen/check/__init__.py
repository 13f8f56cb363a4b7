"""`mlmon check`: promtool, amtool, dashboard, secret and size checks over a generated tree."""
