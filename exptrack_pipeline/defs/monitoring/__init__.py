"""Health checks, alerts, automatic pauses and Slack delivery (docs/monitoring.md)."""
