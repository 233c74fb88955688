"""The compile-time reads of the refresh scope are sent once per dbt invocation (macros/exptrack_read_once.sql), and
a later invocation on the same parsed manifest (dbtRunner(manifest=...): the stored rows live in dbt's `graph`)
reads them anew: a late event's run, following a quiet day's on the same manifest, rebuilds from the late event's
day and equals a full refresh. Counted in dbt.log, not timed.
"""

from __future__ import annotations

from pathlib import Path

from incremental_world import World
from test_incremental_more import assert_equal, lab, since_dates, tables

SCOPE_READ = "min(case when scope_kind = 'events' then since_date end) as since from"
"""exptrack_refresh_since's select over int_refresh_scope (before: one per calling macro, ~80 per daily run)."""
KEYS_READ = "select scope_kind, scope_key from"
"""exptrack_refresh_changed_keys' select over int_refresh_scope."""
DELTAS_READ = "select cast(min(delta_since_date) as date) from"
"""exptrack_refresh_min_date's select over int_refresh_metric_dates for the deltas' bounds."""


def new_log_text(log: Path, offset: int) -> tuple[str, int]:
    """What dbt appended to its log since `offset`, and the new end of the file."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[offset:], len(text)


def test_scope_reads_are_sent_once_per_invocation_and_fresh_in_the_next(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    runs.dbt_output = []  # dbt.log at its default (debug) level: the statements are counted there
    warehouse = runs.resource.backend()
    log = tmp_path / "logs" / "dbt.log"
    world = World(11)
    for _ in range(4):
        world.new_day()
    runs.build(world)
    _, offset = new_log_text(log, 0)

    # a quiet new day: every model and test over the scope reads int_refresh_scope's facts once between them
    world.new_day()
    runs.build(world)
    text, offset = new_log_text(log, offset)
    assert text.count(SCOPE_READ) == 1, text.count(SCOPE_READ)
    assert text.count(KEYS_READ) == 1, text.count(KEYS_READ)

    # the next invocation, on the same manifest, reads the new scope again (a read each, not the last run's rows):
    # late events of earlier days in the new partition; the tables then equal a full refresh
    new_day = world.new_day()
    for _ in range(4):
        world.late_events()
    runs.build(world)
    text, offset = new_log_text(log, offset)
    assert text.count(SCOPE_READ) == 1, text.count(SCOPE_READ)
    assert text.count(DELTAS_READ) == 1, text.count(DELTAS_READ)
    assert min(since_dates(warehouse).values()) < new_day  # the late events reach back
    incremental = tables(warehouse)
    runs.build(world, full_refresh=True)
    assert_equal(incremental, tables(warehouse))
