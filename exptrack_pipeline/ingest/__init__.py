"""Load one day of landing-zone files into the warehouse's `raw` schema, quarantining what cannot be loaded."""

from exptrack_pipeline.ingest.loader import SOURCES, IngestionReport, ensure_raw_schema, load_day

__all__ = ["SOURCES", "IngestionReport", "ensure_raw_schema", "load_day"]
