"""Jobs and schedules of the whole pipeline (ingestion, analysis, daily)."""
