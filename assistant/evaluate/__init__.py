"""`assistant eval`: the sets, the metrics, the run, the report and the CI gates."""
