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
from exptrack_pipeline.ingest.units import TableMapping
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
        return (
            _native_table_units(source) if source.warehouse_schema or source.tables else _native_units(source, raw_dir)
        )
    mapping = resolve(source)
    if mapping.format == "table":
        missing = [c for c in CONTRACTS if mapping.fields[c] and c not in mapping.tables and c != "identities"]
        if missing:
            raise SourcesError(
                f"source {source.name!r}: no table for {', '.join(missing)}; add `tables: {{{missing[0]}: "
                f"<schema.table>}}`"
            )
        return _table_units(source, mapping.tables, mapping.fields, mapping.attributes, lambda _: mapping.day_column)
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
            reader=mapped_reader(
                mapping.format,
                contract,
                mapping.fields[contract],
                mapping.routes,
                mapping.attributes if contract == "exposures" else {},
            ),
            suffixes=SUFFIXES[mapping.format],
        )
        for contract in fed
    ]


def _native_table_units(source: Source) -> list[LoadUnit]:
    """The native contract in warehouse tables (what EXPTRACK_RAW_SCHEMA pointed at): `<warehouse_schema>.exposures`
    and `.events` (and `identities` when listed in `tables`), columns named as in the contract, each table's rows put
    on a day by its own timestamp (exposed_at, occurred_at, identified_at) unless `day_column` says otherwise."""
    schema = f"{source.warehouse_schema}." if source.warehouse_schema else ""
    tables = {**({"exposures": f"{schema}exposures", "events": f"{schema}events"} if schema else {}), **source.tables}
    fields = {c: {column: column for column in CONTRACTS[c].core_columns} for c in CONTRACTS}
    return _table_units(
        source,
        tables,
        fields,
        dict(source.attributes),
        lambda contract: source.day_column or CONTRACTS[contract].timestamp_column,
    )


def _table_units(source: Source, tables: dict[str, str], fields: dict, attributes: dict, day_column) -> list[LoadUnit]:
    """One unit per contract that has a table: the table is read in place, day by day (`day_column(contract)`)."""
    units = []
    for contract, table in tables.items():
        mapped = TableMapping(fields[contract], attributes if contract == "exposures" else {}, day_column(contract))
        units.append(
            LoadUnit(
                name=f"{source.name}:{contract}",
                contract=CONTRACTS[contract],
                folder=source.root,
                table=table,
                reader=mapped_reader("table", contract, mapped.fields, {}, mapped.attributes, mapped.day_column),
                in_place=mapped,
            )
        )
    return units


def all_units(raw_dir: Path, sources_file: Path | None) -> list[LoadUnit]:
    """Every load unit of every configured source (exptrack's own format without a sources YAML)."""
    config = load_sources(sources_file) if sources_file else None
    sources = config.sources if isinstance(config, SourcesFile) else [NATIVE]
    return [unit for source in sources for unit in source_units(source, raw_dir)]


def units_for_asset(asset_contract: str, raw_dir: Path, sources_file: Path | None) -> list[LoadUnit]:
    """The units the `raw_<asset_contract>` ingestion asset loads."""
    wanted = ASSET_CONTRACTS[asset_contract]
    return [u for u in all_units(raw_dir, sources_file) if u.contract.name in wanted]
