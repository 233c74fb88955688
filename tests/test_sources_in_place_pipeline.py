"""The same warehouse tables read in place by the whole pipeline on DuckDB and on a real PostgreSQL server give the
same raw tables and the same experiment_results (to 1e-9): Segment's warehouse sync (segment_warehouse preset, a
logged-out experiment stitched through `identifies`) and the native contract's tables under a schema (the exptrack
preset with warehouse_schema, which replaces EXPTRACK_RAW_SCHEMA). Within each engine the Segment copy equals the
native copy, so the stitching is exact there too.
"""

from __future__ import annotations

import duckdb
import pandas as pd
from sources_runs import IN_PLACE_EXPERIMENTS, SOURCES_IN_PLACE, in_place_settings, postgres_warehouse
from test_sources_e2e import _assert_same

BACKGROUND_RUNS = (SOURCES_IN_PLACE,)  # both pipeline runs, started at collection (sources_runs.py)
RAW = {
    "raw.exposures": "select source, source_file, source_row, user_id, anonymous_id, experiment_id, variant, "
    "exposed_at from "
    "raw.exposures",
    "raw.events": "select source, source_file, event_id, user_id, anonymous_id, event_name, occurred_at, value from "
    "raw.events",
    "raw.identities": "select source, user_id, anonymous_id, identified_at from raw.identities",
    "raw.ingestion_log": "select source, partition_date, files_read, rows_read, rows_loaded, rows_quarantined, "
    "rows_deduplicated "
    "from raw.ingestion_log",
}


def _results(read, experiment_id: str) -> pd.DataFrame:
    frame = read(f"select * from main.experiment_results where experiment_id = '{experiment_id}'")
    return (
        frame.drop(columns=["experiment_id"])
        .sort_values(["metric_id", "variant", "analysis_date"])
        .reset_index(drop=True)
    )


def test_tables_in_place_give_the_same_results_on_duckdb_and_postgres(pg_server, background):
    run = background(SOURCES_IN_PLACE)
    run.check("the in-place pipeline runs (DuckDB, then PostgreSQL)")
    duck_settings, warehouse = in_place_settings(run.root, "duckdb"), postgres_warehouse(pg_server)

    def duck_read(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(duck_settings.warehouse), read_only=True) as con:
            return con.execute(sql).df()

    for table, sql in RAW.items():
        expected, got = duck_read(sql), warehouse.read_df(sql)
        keys = list(expected.columns[:4])
        assert len(expected) > 0, table
        pd.testing.assert_frame_equal(
            got.sort_values(keys).reset_index(drop=True),
            expected.sort_values(keys).reset_index(drop=True),
            check_dtype=False,
            obj=table,
        )
    log = warehouse.read_df(
        "select source, sum(rows_read) as r, sum(rows_loaded) as l from raw.ingestion_log group by 1"
    )
    assert set(log["source"]) == {
        "native:exposures",
        "native:events",
        "warehouse:exposures",
        "warehouse:events",
        "warehouse:identities",
    }
    assert (log["r"] > 0).all() and (log["r"] == log["l"]).all()  # clean tables: every row loaded
    # the rows were read through the dbt models the ingestion job rendered from the sources YAML: each unit's rows in
    # its in_place model are the rows its days read
    mapped = " union all ".join(
        f"select source, count(*) as n from main.in_place_{c} group by 1" for c in ("exposures", "events", "identities")
    )
    for read in (duck_read, warehouse.read_df):
        in_models = read(mapped).set_index("source")["n"].astype(int).sort_index()
        read_rows = read("select source, sum(rows_read) as r from raw.ingestion_log group by 1")
        assert in_models.to_dict() == read_rows.set_index("source")["r"].astype(int).sort_index().to_dict()
    for experiment_id in IN_PLACE_EXPERIMENTS:
        _assert_same(_results(warehouse.read_df, experiment_id), _results(duck_read, experiment_id))
    for experiment in ("signup", "logout"):
        _assert_same(
            _results(warehouse.read_df, f"{experiment}_segwh"), _results(warehouse.read_df, f"{experiment}_native")
        )
