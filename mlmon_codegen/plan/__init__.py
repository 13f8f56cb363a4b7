"""Planning: what mlmon derives from the validated model (burn-rate tiers, windows, SLI and drift queries,
alert and recording records). Pure functions over data, no I/O."""
