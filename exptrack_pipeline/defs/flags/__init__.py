"""Dagster wiring of the feature flags (issue 15): the `feature_flags` asset and its drift check (assets.py)."""
