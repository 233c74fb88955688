"""The Dagster concurrency pool follows the warehouse target: one writer on a DuckDB file, parallel writers elsewhere.

The pools are set when the asset modules are imported (module-level assets), so each target's definitions are
loaded in a fresh interpreter with EXPTRACK_DBT_TARGET=spark, as `dagster dev` / the daemon would load them, and
compared with this session's (duckdb) definitions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = """
import json
from exptrack_pipeline.definitions import build_definitions
from test_writer_pools import pools
print(json.dumps(pools(build_definitions())))
"""


def pools(defs) -> dict[str, str | None]:
    """{asset key: pool} of every materializable asset of the definitions."""
    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string(): defs.resolve_assets_def(key).op.pool
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }


def spark_pools() -> dict[str, str | None]:
    """The pools of the definitions a fresh interpreter loads with EXPTRACK_DBT_TARGET=spark."""
    env = {
        **os.environ,
        "EXPTRACK_DBT_TARGET": "spark",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONPATH": str(REPO / "tests"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"the spark target's definitions failed to load:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pool_is_duckdb_only_on_the_duckdb_target():
    from exptrack_pipeline.definitions import build_definitions
    from exptrack_pipeline.warehouse.targets import writer_pool

    duck = pools(build_definitions())  # this session: EXPTRACK_DBT_TARGET unset, the duckdb default
    # the writers of every layer are in the one-slot pool on DuckDB (dagster.yaml: default_limit 1)
    for key in ("raw_events", "experiment_registry", "fct_variant_metric_stats", "experiment_results"):
        assert duck[key] == "duckdb", key
    for key in ("experiment_health", "experiment_alerts", "experiment_lifecycle", "feature_flags"):
        assert duck[key] == "duckdb", key
    assert set(duck.values()) == {"duckdb"}, {k: p for k, p in duck.items() if p != "duckdb"}
    spark = spark_pools()
    assert set(spark) == set(duck), "the spark target defines other assets than duckdb"
    pooled = {key: pool for key, pool in spark.items() if pool is not None}
    assert not pooled, f"Spark takes parallel writers, yet these assets are pooled: {pooled}"
    assert writer_pool("postgres") is None and writer_pool("spark") is None and writer_pool("duckdb") == "duckdb"
