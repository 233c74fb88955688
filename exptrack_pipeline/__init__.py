"""exptrack: an experiment tracker run as a Dagster project (see README.md and docs/)."""
