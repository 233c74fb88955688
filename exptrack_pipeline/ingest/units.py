"""What one load reads: a load unit is one stream of records into one contract table (ingest.loader loads it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from exptrack_pipeline.ingest.contract import CONTRACTS, SUFFIXES, SourceContract


def day_folder(raw_dir: Path, source: str, day: dt.date) -> Path:
    """The landing-zone folder of one source's day: `<raw_dir>/<source>/date=YYYY-MM-DD`."""
    return raw_dir / source / f"date={day.isoformat()}"


@dataclass(frozen=True)
class LoadUnit:
    """One stream of files into one contract table: `<raw_dir>/<folder>/date=YYYY-MM-DD/` read by `reader`.

    `name` is the source recorded in raw.ingestion_log, raw.quarantine and the rows' `source` column. The native
    landing zone has one unit per contract, named like it. A tool's export (exptrack_pipeline/sources) has one unit
    per contract it feeds; its reader maps the tool's records onto the contract's columns in SQL and routes each
    record to exactly one of its units, so the conservation equation holds per unit and for the whole folder.
    `reader(con, path, scratch, day)` returns (relation with an `ordinality` column, {column: type}); a column
    `_source_record` is the record as read, kept in the quarantine instead of the mapped columns. A unit with a
    `table` reads that warehouse relation instead of files (on DuckDB its reader selects the day's rows): the table
    stands in for the day's one file. `in_place` is the same table's mapping as data (field specs of the sources
    YAML), from which a server warehouse (PostgreSQL) runs the whole load in its own SQL (sources/in_place.py).
    """

    name: str
    contract: SourceContract
    folder: str
    reader: Callable[[duckdb.DuckDBPyConnection, Path, Path, dt.date], tuple[str, dict[str, str]]] | None = None
    suffixes: tuple[str, ...] = SUFFIXES
    table: str | None = None
    in_place: TableMapping | None = None

    def inputs(self, raw_dir: Path, day: dt.date) -> list[tuple[Path, str]]:
        """(path, name recorded as source_file) of everything the unit reads for the day."""
        if self.table:
            return [(Path(self.table), f"warehouse:{self.table}")]
        folder = day_folder(raw_dir, self.folder, day)
        files = (
            sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
            if folder.is_dir()
            else []
        )
        return [(path, path.relative_to(raw_dir).as_posix()) for path in files]

    @property
    def slice_sql(self) -> str:
        """The where clause of this unit's rows of one day in its raw tables (params: day, name)."""
        return f"partition_date = ? and coalesce(source, '{self.contract.name}') = ?"


@dataclass(frozen=True)
class TableMapping:
    """A warehouse table's mapping onto one contract: field specs (sources/mapping.py) per contract column and
    per exposure attribute, and the timestamp column that puts each row on a day."""

    fields: dict[str, Any]
    attributes: dict[str, Any]
    day_column: str


def native_unit(source: str) -> LoadUnit:
    """The load unit of exptrack's own format for `source` (exposures or events)."""
    return LoadUnit(name=source, contract=CONTRACTS[source], folder=source)
