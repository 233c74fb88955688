"""The landing-zone input contract: required columns per source and how each row is checked.

Files: `.parquet`, `.csv` (comma-separated, one header row, double-quote quoting) and `.jsonl` / `.json` (one JSON
object per line). Column names match after trimming and lower-casing; other columns of exposure files are kept as
user attributes, of event files ignored.

Every value is checked as text: ids and names are trimmed, and blank or a null token ('null', 'None', 'NaN', 'N/A')
counts as missing; the timestamp must parse as ISO-8601 (an offset or zone name is converted to UTC, no zone means
UTC); `value` must be empty or a finite number. A typed parquet column needs no parsing (a TIMESTAMP is UTC, a
TIMESTAMP WITH TIME ZONE is converted). A row that breaks the contract is quarantined with the first reason below
that applies; a file that cannot be read at all is recorded in the quarantine as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")
NULL_TOKENS = ("", "null", "NULL", "Null", "none", "None", "NONE", "nan", "NaN", "NAN", "n/a", "N/A")
"""Text that means "no value" in an id column (written by pandas, Spark or hand-made CSVs), after trimming."""

NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
)


@dataclass(frozen=True)
class SourceContract:
    """The columns a raw table accepts, its timestamp and dedup key, and what it keeps."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    timestamp_column: str
    dedup_key: str | None
    keeps_attributes: bool
    one_of: tuple[str, ...] = ()
    """Id columns that stand in for each other: the required one among them (user_id) is satisfied by any of them,
    since a row names its unit by any id the identity map links (a logged-out exposure has an anonymous id only)."""

    @property
    def table(self) -> str:
        """The warehouse table in schema raw."""
        return self.name

    @property
    def core_columns(self) -> tuple[str, ...]:
        """Required, id and optional columns, in the table's order."""
        return self.required + tuple(c for c in self.one_of if c not in self.required) + self.optional

    def lacking(self, columns: set[str]) -> list[str]:
        """Required columns a file lacks (an id of `one_of` counts as present when any of them is)."""
        ids = bool(columns & set(self.one_of))
        return [c for c in self.required if c not in columns and not (c in self.one_of and ids)]

    @property
    def text_columns(self) -> tuple[str, ...]:
        """Core columns loaded as trimmed text (ids, names)."""
        return tuple(c for c in self.core_columns if c not in (self.timestamp_column, "value"))

    @property
    def warehouse_types(self) -> dict[str, str]:
        """Warehouse type per core column: the timestamp, value as double, the rest varchar."""
        return {
            c: "timestamp" if c == self.timestamp_column else "double" if c == "value" else "varchar"
            for c in self.core_columns
        }


UNIT_IDS = ("user_id", "anonymous_id", "device_id")
"""The ids a row may carry; an experiment randomizes on one of them (its `unit`), the identity map links the rest."""

EXPOSURES = SourceContract(
    name="exposures",
    required=("user_id", "experiment_id", "variant", "exposed_at"),
    optional=(),
    timestamp_column="exposed_at",
    dedup_key=None,
    keeps_attributes=True,
    one_of=UNIT_IDS,
)

EVENTS = SourceContract(
    name="events",
    required=("event_id", "user_id", "event_name", "occurred_at"),
    optional=("value", "session_id"),
    timestamp_column="occurred_at",
    dedup_key="event_id",
    keeps_attributes=False,
    one_of=UNIT_IDS,
)

IDENTITIES = SourceContract(
    name="identities",
    required=("user_id", "anonymous_id", "identified_at"),
    optional=(),
    timestamp_column="identified_at",
    dedup_key=None,
    keeps_attributes=False,
    one_of=("anonymous_id", "device_id"),
)
"""An identify / alias / merge record: `user_id` is known to be the same person as the anonymous or device id."""

CONTRACTS = {c.name: c for c in (EXPOSURES, EVENTS, IDENTITIES)}


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def raw_name(column: str) -> str:
    """The staging name of a core column's text exactly as read."""
    return f"_raw_{column}"


def clean_text_sql(text: str) -> str:
    """Trimmed text, or null when blank or a null token."""
    tokens = ", ".join(f"'{t}'" for t in NULL_TOKENS)
    return f"case when trim({text}) in ({tokens}) then null else trim({text}) end"


def timestamp_sql(column: str, source_type: str) -> str:
    """A file column → UTC timestamp without zone (null when it does not parse). The session TimeZone must be UTC."""
    t = source_type.upper()
    if t == "TIMESTAMP WITH TIME ZONE":
        return f"make_timestamp(epoch_us({column}))"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"cast({column} as timestamp)"
    # epoch_us of the parsed instant avoids a second time-zone conversion
    return f"make_timestamp(epoch_us(try_cast(trim(cast({column} as varchar)) as timestamptz)))"


def value_sql(column: str, source_type: str) -> str:
    """SQL casting `column` to double: directly when numeric, else trimmed text with blanks as null."""
    if source_type.upper() in NUMERIC_TYPES or source_type.upper().startswith("DECIMAL"):
        return f"cast({column} as double)"
    return f"try_cast(nullif(trim(cast({column} as varchar)), '') as double)"


def rejection_reason_sql(
    contract: SourceContract, not_finite: str = "not isfinite(_value)", text_type: str = "varchar"
) -> str:
    """A SQL CASE giving the first reason a staged row breaks the contract, or null when it holds.

    It reads the columns as read (`_raw_<column>`, text or a parquet type), the cleaned text columns, `_ts` (the
    parsed timestamp) and `_value`. Conditions test the cheap typed value first: DuckDB evaluates the text
    fallbacks and messages only for the rows that reach them. `not_finite` is the engine's test of a non-finite
    `_value` (PostgreSQL has no isfinite for numbers), `text_type` its name of the text type (Spark: string).
    """
    everything = " and ".join(f"{raw_name(c)} is null" for c in contract.core_columns)
    ts, raw_ts = contract.timestamp_column, raw_name(contract.timestamp_column)
    checks = [f"when {everything} then 'empty or malformed record'"]
    for c in (c for c in contract.required if c in contract.text_columns):
        # an id of `one_of` is missing only when every one of them is ('missing user_id': the row names no unit)
        nulls = " and ".join(f"{o} is null" for o in contract.one_of) if c in contract.one_of else f"{c} is null"
        checks.append(f"when {nulls} then 'missing {c}'")
    checks.append(
        f"when _ts is null and ({raw_ts} is null or trim(cast({raw_ts} as {text_type})) = '') then 'missing {ts}'"
    )
    checks.append(f"when _ts is null then 'unparseable {ts}: ' || cast({raw_ts} as {text_type})")
    if "value" in contract.optional:
        raw_value = raw_name("value")
        checks.append(
            f"when _value is null and {raw_value} is not null and trim(cast({raw_value} as {text_type})) <> '' "
            f"then 'non-numeric value: ' || cast({raw_value} as {text_type})"
        )
        checks.append(f"when {not_finite} then 'non-finite value: ' || cast({raw_value} as {text_type})")
    return "case " + " ".join(checks) + " end"
