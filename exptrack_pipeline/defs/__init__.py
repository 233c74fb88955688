"""Dagster wiring: assets, checks, sensors, schedules and resources. Thin: the work is in the pure modules."""
