"""The sources YAML → load units for the existing loader (ingest.loader): one per source and contract it feeds.

A tool source feeds `<name>:exposures`, `<name>:events` and (when it has identify records) `<name>:identities`,
each reading the same day folder with its own route, so every record lands in exactly one unit and
rows read (over the units) = records in the files. The `exptrack` preset reads the native contract from
`<folder>/exposures/`, `<folder>/events/` and `<folder>/identities/`; without a sources file that is the whole
landing zone, with the units named `exposures`, `events` and `identities` as before.
"""

from __future__ import annotations

from pathlib import Path

from exptrack_pipeline.ingest.contract import CONTRACTS
from exptrack_pipeline.ingest.loader import LoadUnit
from exptrack_pipeline.sources.config import Source, SourcesError, SourcesFile, load_sources
from exptrack_pipeline.sources.presets import resolve
from exptrack_pipeline.sources.readers import SUFFIXES, mapped_reader

NATIVE = Source(name="exptrack", preset="exptrack", folder=".")
ASSET_CONTRACTS = {"exposures": ("exposures",), "events": ("events", "identities")}
"""Which contracts each ingestion asset loads (identities travel with the events)."""


def _native_units(source: Source, raw_dir: Path) -> list[LoadUnit]:
    root = Path(source.root)
    units = []
    for contract in CONTRACTS:
        folder = (root / contract).as_posix()
        if contract == "identities" and not (raw_dir / folder).is_dir():
            continue  # optional: a landing zone without identify records has no identities folder
        name = contract if root == Path(".") else f"{source.name}:{contract}"
        units.append(LoadUnit(name=name, contract=CONTRACTS[contract], folder=folder))
    return units


def source_units(source: Source, raw_dir: Path) -> list[LoadUnit]:
    """Every load unit of one source."""
    if source.preset == "exptrack":
        return _native_units(source, raw_dir)
    mapping = resolve(source)
    if mapping.format == "table":
        return _table_units(source, mapping)
    fed = [c for c in CONTRACTS if mapping.fields[c]]
    unrouted = [c for c in fed if c != "events" and c not in mapping.routes]
    if len(fed) > 1 and unrouted:
        raise SourcesError(
            f"source {source.name!r}: {', '.join(unrouted)} need a route saying which records they are "
            f"(routes: {{{unrouted[0]}: {{field: <path>, equals: <value>}}}}), since the source feeds {', '.join(fed)}"
        )
    return [
        LoadUnit(
            name=f"{source.name}:{contract}",
            contract=CONTRACTS[contract],
            folder=source.root,
            reader=mapped_reader(mapping.format, contract, mapping.fields[contract], mapping.routes,
                                 mapping.attributes if contract == "exposures" else {}),
            suffixes=SUFFIXES[mapping.format],
        )
        for contract in fed
    ]


def _table_units(source: Source, mapping) -> list[LoadUnit]:
    """One unit per contract that has a table: the table is read in place (the DuckDB warehouse), day by day."""
    missing = [c for c in CONTRACTS if mapping.fields[c] and c not in mapping.tables and c != "identities"]
    if missing:
        raise SourcesError(f"source {source.name!r}: no table for {', '.join(missing)}; add `tables: {{{missing[0]}: <schema.table>}}`")
    return [
        LoadUnit(
            name=f"{source.name}:{contract}", contract=CONTRACTS[contract], folder=source.root, table=table,
            reader=mapped_reader("table", contract, mapping.fields[contract], {},
                                 mapping.attributes if contract == "exposures" else {}, mapping.day_column),
        )
        for contract, table in mapping.tables.items()
    ]


def all_units(raw_dir: Path, sources_file: Path | None) -> list[LoadUnit]:
    config = load_sources(sources_file) if sources_file else None
    sources = config.sources if isinstance(config, SourcesFile) else [NATIVE]
    return [unit for source in sources for unit in source_units(source, raw_dir)]


def units_for_asset(asset_contract: str, raw_dir: Path, sources_file: Path | None) -> list[LoadUnit]:
    """The units the `raw_<asset_contract>` ingestion asset loads."""
    wanted = ASSET_CONTRACTS[asset_contract]
    return [u for u in all_units(raw_dir, sources_file) if u.contract.name in wanted]

