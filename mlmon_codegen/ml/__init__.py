"""Training data, baselines and the offline drift report."""
