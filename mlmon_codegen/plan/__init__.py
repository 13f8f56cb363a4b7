"""Pure planning: durations, burn-rate policy, names and PromQL. No I/O here."""
