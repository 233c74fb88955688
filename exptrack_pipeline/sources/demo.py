"""The demo with its exposures in Segment's format: rewrite a generated landing zone's exposure files as Segment
`Experiment Viewed` track messages (gzipped JSON lines, one file per day) and write the sources YAML that reads them.

    python -m exptrack_pipeline.demo.generate --out data/raw-segment
    python -m exptrack_pipeline.sources.demo --raw data/raw-segment
    EXPTRACK_RAW_DIR=data/raw-segment EXPTRACK_SOURCES_FILE=data/raw-segment/sources.yaml exptrack run ...

(`make demo-segment` does this.) DuckDB reads each exposure file with the landing zone's own reader and writes the
messages; the extra columns (platform, country, is_new_user, ...) travel as message properties and come back as
exposure attributes through the source's `attributes`. A CSV line the reader cannot split is not carried over
(the native run quarantines it); everything else, dirt included, is.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb
import yaml

from exptrack_pipeline.ingest.contract import EXPOSURES, ident
from exptrack_pipeline.ingest.loader import FileProblem, _normalise, _reader

FOLDER = "segment"


def _messages_sql(relation: str, types: dict[str, str], relative: str) -> tuple[str, list[str]]:
    """Segment messages of one exposure file, and the names of the extra columns carried as properties."""
    by_key = _normalise(list(types))

    def column(name: str) -> str:
        if name not in by_key:
            return "null::varchar"
        source = ident(by_key[name])
        if types[by_key[name]].upper().startswith("TIMESTAMP"):
            return f"strftime({source}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        return f"cast({source} as varchar)"

    extras = [k for k in by_key if k not in EXPOSURES.core_columns and not k.startswith("_")]
    properties = ", ".join(
        [f"experiment_id := {column('experiment_id')}", f"variation_id := {column('variant')}"]
        + [f"{ident(e)} := {column(e)}" for e in extras]
    )
    message_id = f"md5({_quote(relative)} || ':' || cast(ordinality as varchar))"
    sql = (
        f"select 'track' as type, 'Experiment Viewed' as event, {message_id} as messageId, {column('user_id')} "
        "as userId, "
        f"{column('exposed_at')} as timestamp, struct_pack({properties}) as properties from {relation}"
    )
    return sql, extras


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def exposures_to_segment(raw_dir: Path) -> dict[str, int]:
    """Rewrite <raw>/exposures/ as <raw>/segment/ and remove the native exposure files; return messages per day."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    written: dict[str, int] = {}
    extras: set[str] = set()
    for day in sorted((raw_dir / "exposures").glob("date=*")):
        parts = []
        for index, path in enumerate(sorted(p for p in day.iterdir() if p.is_file())):
            try:
                relation, types = _reader(con, path, f"_rejects_{index}")
            except FileProblem:
                continue
            sql, file_extras = _messages_sql(relation, types, path.relative_to(raw_dir).as_posix())
            parts.append(sql)
            extras.update(file_extras)
        if not parts:
            continue
        out = raw_dir / FOLDER / day.name
        out.mkdir(parents=True, exist_ok=True)
        target = out / "exposures.jsonl.gz"
        union = " union all by name ".join(f"({p})" for p in parts)
        con.execute(f"copy ({union}) to {_quote(str(target))} (format json, compression gzip)")
        written[day.name] = con.execute(f"select count(*) from read_ndjson_objects({_quote(str(target))})").fetchone()[
            0
        ]
    shutil.rmtree(raw_dir / "exposures")
    sources = {
        "sources": [
            {"name": "native", "preset": "exptrack", "folder": "."},
            {
                "name": "web",
                "preset": "segment",
                "folder": FOLDER,
                "attributes": {e: f"properties.{e}" for e in sorted(extras)},
            },
        ]
    }
    (raw_dir / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))
    con.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the demo's exposures in Segment's format (`python -m exptrack_pipeline.sources.demo`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--raw", type=Path, required=True, help="a landing zone written by exptrack_pipeline.demo.generate"
    )
    args = parser.parse_args(argv)
    written = exposures_to_segment(args.raw)
    print(
        f"wrote {sum(written.values())} Segment messages in {len(written)} day files under {args.raw / FOLDER}; "
        f"sources: {args.raw / 'sources.yaml'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
