"""Asset checks of the lifecycle area: no scheduling conflicts, and an intact write-once archive."""

import dagster as dg

from exptrack_pipeline.defs.lifecycle.outputs import markdown_table
from exptrack_pipeline.defs.resources import OutputPathsResource, WarehouseResource
from exptrack_pipeline.lifecycle import archive, portfolio
from exptrack_pipeline.warehouse.targets import writer_pool


@dg.asset_check(
    asset="experiment_lifecycle",
    name="no_scheduling_conflicts",
    pool=writer_pool(),
    description="Active experiments overlapping in time on one surface and audience, unless they share a non-null "
    "layer.",
)
def no_scheduling_conflicts(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fail when active experiments overlap on a surface and audience without sharing a layer."""
    frame = warehouse.read_df("select * from main.experiment_lifecycle")
    conflicts = portfolio.find_conflicts(frame)
    text = portfolio.describe_conflicts(conflicts)
    return dg.AssetCheckResult(
        passed=conflicts.empty,
        description=text or "no scheduling conflicts",
        metadata={"conflicts": markdown_table(conflicts), "count": len(conflicts)},
    )


@dg.asset_check(
    asset="experiment_archive",
    name="archive_intact",
    description="Every archived file still matches its SHA-256 in MANIFEST.sha256.",
)
def archive_intact(output_paths: OutputPathsResource) -> dg.AssetCheckResult:
    """Fail when an archive folder's files no longer match its SHA-256 manifest."""
    out = output_paths.paths()
    folders = (
        sorted(d for d in out.archive.iterdir() if d.is_dir() and not d.name.startswith("."))
        if out.archive.is_dir()
        else []
    )
    problems = [p for folder in folders for p in archive.verify(folder)]
    return dg.AssetCheckResult(
        passed=not problems,
        description="\n".join(problems) or f"{len(folders)} archive(s) intact",
        metadata={"archives": len(folders)},
    )
