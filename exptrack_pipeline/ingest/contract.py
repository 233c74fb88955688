"""The landing-zone input contract: required columns per source and how each row is checked."""

from __future__ import annotations

from dataclasses import dataclass

READERS = {
    ".parquet": "read_parquet('{path}', hive_partitioning = false)",
    ".csv": "read_csv('{path}', all_varchar = true, header = true, hive_partitioning = false)",
    ".jsonl": "read_json('{path}', format = 'newline_delimited', hive_partitioning = false)",
    ".json": "read_json('{path}', format = 'newline_delimited', hive_partitioning = false)",
}
"""DuckDB table functions per file suffix; every column is read back as text and checked here."""


@dataclass(frozen=True)
class SourceContract:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    timestamp_column: str
    dedup_key: str | None
    keeps_attributes: bool

    @property
    def core_columns(self) -> tuple[str, ...]:
        return self.required + self.optional


EXPOSURES = SourceContract(
    name="exposures",
    required=("user_id", "experiment_id", "variant", "exposed_at"),
    optional=(),
    timestamp_column="exposed_at",
    dedup_key=None,
    keeps_attributes=True,
)

EVENTS = SourceContract(
    name="events",
    required=("event_id", "user_id", "event_name", "occurred_at"),
    optional=("value", "session_id"),
    timestamp_column="occurred_at",
    dedup_key="event_id",
    keeps_attributes=False,
)

CONTRACTS = {c.name: c for c in (EXPOSURES, EVENTS)}


def rejection_reason_sql(contract: SourceContract) -> str:
    """A SQL CASE giving the first reason a text row breaks the contract, or null when it holds."""
    checks = [
        f"when nullif(trim({col}), '') is null then 'missing {col}'" for col in contract.required if col != contract.timestamp_column
    ]
    ts = contract.timestamp_column
    checks.append(f"when nullif(trim({ts}), '') is null then 'missing {ts}'")
    checks.append(f"when try_cast({ts} as timestamptz) is null then 'unparseable {ts}: ' || {ts}")
    if "value" in contract.optional:
        checks.append("when nullif(trim(value), '') is not null and try_cast(value as double) is null then 'non-numeric value: ' || value")
    return "case " + " ".join(checks) + " end"
