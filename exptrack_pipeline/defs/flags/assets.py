"""`feature_flags`: every daily run plans the flag changes the lifecycle and the calendar call for (allocation phases
start on their dates) and writes exptrack's flagd flag file; the check `flag_file_matches_record` fails when the file
was edited by hand (it is then left alone)."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd

from exptrack_pipeline.defs.resources import FlagFileResource, WarehouseResource
from exptrack_pipeline.flags import store
from exptrack_pipeline.flags.sync import sync
from exptrack_pipeline.warehouse.targets import writer_pool

ASSET = "feature_flags"
CHECK = "flag_file_matches_record"


@dg.asset(
    key=ASSET,
    deps=["experiment_registry", "experiment_alerts"],
    pool=writer_pool(),
    group_name="flags",
    kinds={"python", "json"},
    check_specs=[
        dg.AssetCheckSpec(
            CHECK, asset=ASSET, description="The flag file holds exactly what exptrack last wrote (no hand edits)."
        )
    ],
    description="exptrack's flagd flag-definition file: one flag per experiment, serving what its lifecycle status, "
    "decision and "
    "allocation phase call for; every change recorded in state.flag_changes (who, why, when).",
)
def feature_flags(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, flag_file: FlagFileResource
) -> dg.MaterializeResult:
    """Plan the flag changes the lifecycle calls for and write the flag file."""
    outcome = sync(
        warehouse.connect,
        Path(flag_file.path),
        today=dt.datetime.now(dt.UTC).date(),
        actor="exptrack",
        reason="daily run: lifecycle status, decisions and allocation phases",
        source="schedule",
    )
    for line in outcome.lines:
        (context.log.error if "NOT written" in line or "problem" in line else context.log.info)(line)
    with warehouse.connect() as con:
        latest = store.latest_changes(con)
    table = (
        latest[["flag_key", "experiment_id", "serving", "note", "changed_at", "actor", "written_at"]]
        if not latest.empty
        else pd.DataFrame()
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(flag_file.path),
            "flags": dg.MetadataValue.md(table.to_markdown(index=False) if not table.empty else "_no flags_"),
            "changes": dg.MetadataValue.int(len(outcome.plan.changes)),
            "problems": dg.MetadataValue.json(outcome.plan.problems),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK,
                passed=outcome.error is None,
                severity=dg.AssetCheckSeverity.ERROR,
                description=outcome.error or "the file matches exptrack's record",
            )
        ],
    )
