"""The landing zone as Spark sees it: the day folders' files listed and opened by Spark from a URI.

The landing root is a URI (`file:///data/raw` here; `s3a://bucket/landing`, `abfss://...`, `gs://...` on a cluster):
`EXPTRACK_LANDING_URI`, else the local `EXPTRACK_RAW_DIR` as a `file://` URI. Nothing here opens a file in this
process: Spark lists the day folders (one `binaryFile` listing of a glob over the days, contents not read), reads
every CSV header and JSON key set in one pass, and opens each file as a DataFrame whose rows carry their ordinal in
the file (`source_row`, counted from 1 like DuckDB's `with ordinality`).

Formats, as the DuckDB loader reads them (ingest/loader.py): parquet (typed columns), CSV (comma, one header row,
double-quote quoting and escaping, every column text, a line that does not split into the header's columns is a
row of its own marked `_corrupt`), JSON lines (every key of any object is a text column; a line that is not an
object is a row with every column null). One difference: a CSV field may not span lines (Spark reads CSV line by
line so that files split across executors).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from exptrack_pipeline.ingest.loader import FileProblem, LoadUnit, _normalise
from exptrack_pipeline.ingest.spark_contract import literal, quote

LANDING_URI_VAR = "EXPTRACK_LANDING_URI"
CORRUPT = "_corrupt"
ROW = "_row"


def landing_uri(raw_dir: Path | str) -> str:
    """The landing root URI: EXPTRACK_LANDING_URI, else the local raw dir as `file:///...`."""
    uri = os.environ.get(LANDING_URI_VAR) or Path(raw_dir).resolve().as_uri()
    return uri.rstrip("/")


@dataclass
class LandingFile:
    """One file of a day folder: its URI, its name relative to the landing root (raw.*.source_file) and day, and
    once described its columns as written with their Spark types, or why it cannot be read."""

    uri: str
    relative: str
    day: dt.date
    columns: tuple[tuple[str, str], ...] = ()
    problem: str | None = None

    @property
    def suffix(self) -> str:
        """The lower-case suffix (`.csv`), or '' for a name without one."""
        return Path(self.relative).suffix.lower()

    @property
    def kind(self) -> str:
        """parquet, csv or json (JSON lines)."""
        return {".parquet": "parquet", ".csv": "csv"}.get(self.suffix, "json")


@dataclass
class FileGroup:
    """Files of one format with the same columns: Spark reads them as one DataFrame."""

    kind: str
    columns: tuple[tuple[str, str], ...]
    files: list[LandingFile]

    @property
    def by_key(self) -> dict[str, tuple[str, str]]:
        """Contract name (trimmed, lower case) → (the group frame's column c<i>, its Spark type)."""
        names = [name for name, _ in self.columns]
        return {
            key: (f"c{names.index(name)}", self.columns[names.index(name)][1])
            for key, name in _normalise(names).items()
        }


def _relative(path: str, unit: LoadUnit) -> tuple[str, dt.date] | None:
    """`<folder>/date=YYYY-MM-DD/<name>` and its day, from any spelling of a file URI Spark returns."""
    text = unquote(path)
    start = text.rfind(f"/{unit.folder}/date=")
    if start < 0:
        return None
    relative = text[start + 1 :]
    day_part = relative[len(unit.folder) + len("/date=") :].split("/", 1)[0]
    try:
        return relative, dt.date.fromisoformat(day_part)
    except ValueError:
        return None


def list_files(session: Any, root: str, unit: LoadUnit, days: list[dt.date]) -> list[LandingFile]:
    """Every file of the days' folders, listed by Spark (names starting with `.` or `_` are skipped, as Spark and
    the DuckDB loader both do), sorted by name within each day."""
    glob = f"{root}/{unit.folder}/date={{{','.join(d.isoformat() for d in days)}}}"
    try:  # the file index of a binaryFile source (one round trip, no job; empty files included)
        paths = session.read.format("binaryFile").load(glob).inputFiles()
    except Exception as exc:  # no folder of these days exists
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc).lower():
            return []
        raise
    files = []
    for path in paths:  # URIs (percent-encoded); Spark's readers take the decoded path
        found = _relative(path, unit)
        if found and not Path(found[0]).name.startswith((".", "_")):
            files.append(LandingFile(uri=unquote(path), relative=found[0], day=found[1]))
    return sorted(files, key=lambda f: (f.day, f.relative))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def discover_text_columns(session: Any, files: list[LandingFile], unit: LoadUnit) -> dict[str, list[str]]:
    """One Spark pass over every CSV and JSON file: relative name → the CSV header's names, or the JSON keys
    (sorted) of every object. A file with no line is absent."""
    text = [f for f in files if f.suffix in (".csv", ".json", ".jsonl")]
    if not text:
        return {}
    lines = session.read.text([f.uri for f in text]).selectExpr(
        "_metadata.file_path as path",
        "_metadata.file_block_start as block",
        "value",
        "monotonically_increasing_id() as position",
    )
    from pyspark.sql import functions

    keys = "case when lower(path) like '%.csv' then null else json_object_keys(value) end"
    found = (
        lines.selectExpr("*", f"explode_outer({keys}) as key")
        .groupBy("path")
        .agg(
            functions.expr("min_by(value, position) filter (where block = 0)").alias("header"),
            functions.expr("array_sort(collect_set(key))").alias("keys"),
        )
        .collect()
    )
    out = {}
    for path, header, keys in found:
        relative = _relative(path, unit)
        if relative is None:
            continue
        if relative[0].lower().endswith(".csv"):
            out[relative[0]] = next(csv.reader([(header or "").lstrip("\ufeff")]), []) if header is not None else []
        else:
            out[relative[0]] = list(keys or [])
    return out


def describe_file(session: Any, file: LandingFile, unit: LoadUnit, text_columns: dict[str, list[str]]) -> None:
    """Set `file.columns` ((name as written, Spark type) in file order), or `file.problem`."""
    try:
        if file.suffix not in unit.suffixes:
            suffix = Path(file.relative).suffix or "(none)"
            raise FileProblem(f"unsupported file type {suffix}: expected one of {', '.join(unit.suffixes)}")
        if file.kind == "parquet":  # the footer: one round trip, and the error when the file is not parquet
            columns = [(f.name, f.dataType.simpleString()) for f in session.read.parquet(file.uri).schema.fields]
        else:
            names = text_columns.get(file.relative)
            if file.kind == "csv" and not names:
                raise FileProblem("unreadable file: empty file (no header row)")
            if file.kind == "csv" and len(set(names)) != len(names):
                raise FileProblem(f"unreadable file: duplicate column names in the header {names}")
            columns = [(name, "string") for name in names or []]
        _normalise([name for name, _ in columns])  # two spellings of one column: a file problem
        file.columns = tuple(columns)
    except FileProblem as problem:
        file.problem = str(problem)
    except Exception as exc:  # Spark could not read the file (e.g. not parquet)
        file.problem = f"unreadable file: {_first_line(exc)}"


def groups(files: list[LandingFile]) -> list[FileGroup]:
    """The readable files grouped by format and columns."""
    out: dict[tuple, FileGroup] = {}
    for file in files:
        if file.problem is None:
            key = (file.kind, file.columns)
            out.setdefault(key, FileGroup(file.kind, file.columns, [])).files.append(file)
    return list(out.values())


def _located(frame: Any, unit: LoadUnit, columns: list[str]) -> Any:
    """The frame with source_file (`<folder>/date=<day>/<name>`, the name decoded from Spark's URI) and
    partition_date (the folder's day) of each row, then `columns`."""
    day = r"regexp_extract(_metadata.file_path, '/date=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1)"
    name = "url_decode(replace(_metadata.file_name, '+', '%2B'))"
    return frame.selectExpr(
        f"concat({literal(unit.folder + '/date=')}, {day}, '/', {name}) as source_file",
        f"cast({day} as date) as partition_date",
        "_metadata.file_block_start as _block",
        "monotonically_increasing_id() as _position",
        *columns,
    )


def group_frame(session: Any, group: FileGroup, unit: LoadUnit) -> Any:
    """The group's rows: source_file, partition_date, `_row` (ordinal in the file, from 1), c0..cN, `_corrupt`
    (a CSV line that does not split into the header's columns; source_row is then its line number)."""
    uris = [f.uri for f in group.files]
    count = len(group.columns)
    cells = [f"c{i}" for i in range(count)]
    file_order = "partition by source_file order by _block, _position"
    if group.kind == "parquet":
        frame = _located(
            session.read.parquet(*uris),
            unit,
            [f"_metadata.row_index + 1 as {ROW}", *(f"{quote(n)} as c{i}" for i, (n, _) in enumerate(group.columns))],
        )
        return frame.selectExpr("source_file", "partition_date", ROW, *cells, f"cast(null as string) as {CORRUPT}")
    if group.kind == "csv":
        schema = ", ".join(f"{c} string" for c in cells) + f", {CORRUPT} string"
        options = {"header": True, "sep": ",", "quote": '"', "escape": '"', "mode": "PERMISSIVE"}
        reader = session.read.schema(schema).options(**options, columnNameOfCorruptRecord=CORRUPT)
        frame = _located(reader.csv(uris), unit, [*cells, CORRUPT])
        # parsed rows are numbered without the malformed lines (DuckDB's ordinality); a malformed line has its line
        # number in the file (the header is line 1), as DuckDB's reject table records it
        return frame.selectExpr(
            "*",
            f"row_number() over ({file_order}) as _line",
            f"count_if({CORRUPT} is not null) over ({file_order}) as _bad_before",
        ).selectExpr(
            "source_file",
            "partition_date",
            f"case when {CORRUPT} is null then _line - _bad_before else _line + 1 end as {ROW}",
            *cells,
            CORRUPT,
        )
    keys = [name for name, _ in group.columns]
    schema = ", ".join(f"{quote(k)} string" for k in keys) or "_none string"
    frame = _located(session.read.text(uris), unit, ["value"]).where("trim(value) <> ''")  # blank lines: no rows
    return frame.selectExpr(
        "source_file",
        "partition_date",
        f"row_number() over ({file_order}) as {ROW}",
        f"from_json(value, {literal(schema)}) as j",
    ).selectExpr(
        "source_file",
        "partition_date",
        ROW,
        *(f"j.{quote(k)} as c{i}" for i, k in enumerate(keys)),
        f"cast(null as string) as {CORRUPT}",
    )
