"""Dagster wiring of the dashboard site (exptrack_pipeline/site)."""
