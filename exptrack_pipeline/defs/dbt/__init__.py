"""Every dbt model, test and source as Dagster assets and asset checks."""
