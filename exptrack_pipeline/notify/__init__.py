"""The side effects of monitoring: warehouse tables (outbox, status events, findings), Slack delivery and
feature-flag controllers. No Dagster here; exptrack_pipeline.defs.monitoring wires it into assets and sensors."""
