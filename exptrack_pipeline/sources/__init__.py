"""Declarative sources: read exposures, events and identities where product teams have them (a tool's export in
the landing zone, in its own layout), mapped onto exptrack's contract in SQL and loaded by the same loader."""

from exptrack_pipeline.sources.config import (
    SOURCES_FILE_NAME,
    Source,
    SourcesError,
    SourcesFile,
    load_sources,
    sources_path,
)
from exptrack_pipeline.sources.units import all_units, source_units, units_for_asset

__all__ = [
    "SOURCES_FILE_NAME",
    "Source",
    "SourcesError",
    "SourcesFile",
    "all_units",
    "load_sources",
    "source_units",
    "sources_path",
    "units_for_asset",
]
