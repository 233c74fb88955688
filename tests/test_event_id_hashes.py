"""int_events_deduplicated's check of new event ids against the kept ones through int_event_id_hashes (issue 16: a
daily run should not read and hash every kept id string).

A new id whose 64-bit hash a kept event of an earlier partition has is only a candidate; the kept id itself decides,
read in the partition the hash names. And a hash table written with another hash function (an engine upgrade that
changed hash()) must not be trusted. Planted in a real warehouse between two daily runs:

* a kept hash equal to a new event's hash without that event kept (a collision): the new event stays — without the
  check against the kept id (already_kept) it would be dropped;
* every kept hash and the check row shifted (another hash function): a copy of an earlier event arriving days later
  is still dropped, by the comparison with every kept id — trusting the table would keep the copy;
* untouched: a copy arriving days later is dropped through the hashes, and the events and the hash table equal a
  --full-refresh of the same inputs.
"""

from __future__ import annotations

import duckdb
import pandas as pd
from incremental_lab import Lab, assert_same, normalized
from incremental_world import World

TABLES = ["int_events_deduplicated", "int_event_id_hashes"]
SEED = 41
"""One world for the three tests: each plants its own case after the same start (its two builds are run once and
copied to the other tests' warehouses: incremental_lab.build_key)."""


def _started(tmp_path, dbt_manifest, seed: int) -> tuple[Lab, World]:
    lab, world = Lab.duckdb(tmp_path, dbt_manifest), World(seed)
    for _ in range(4):
        world.new_day()
    lab.build(world)
    world.new_day()
    lab.build(world)  # a daily run: the hash table is used from here on
    return lab, world


def _kept_ids(lab: Lab) -> pd.Series:
    return lab.read("select event_id from main.int_events_deduplicated")["event_id"]


def _equal_to_a_full_refresh(lab: Lab, world: World, context: str) -> None:
    incremental = {name: normalized(lab.read(f"select * from main.{name}")) for name in TABLES}
    lab.build(world, full_refresh=True)
    assert_same(incremental, {name: normalized(lab.read(f"select * from main.{name}")) for name in TABLES}, context)


def test_a_copy_arriving_days_later_is_dropped_through_the_hashes(tmp_path, dbt_manifest):
    lab, world = _started(tmp_path, dbt_manifest, SEED)
    before = len(_kept_ids(lab))
    new_day = world.new_day()
    world.duplicate_later()
    lab.build(world)
    ids = _kept_ids(lab)
    assert ids.is_unique and len(ids) == before + len(world.events[new_day]) - 5  # the five copies dropped
    _equal_to_a_full_refresh(lab, world, "hashes: ")


def test_a_hash_match_without_the_kept_id_keeps_the_new_event(tmp_path, dbt_manifest):
    lab, world = _started(tmp_path, dbt_manifest, SEED)
    new_day = world.new_day()
    planted = world.events[new_day]["event_id"].iloc[0]
    with duckdb.connect(lab.resource.path) as con:  # an earlier partition "keeps" the new id's hash (a collision)
        con.execute(f"insert into main.int_event_id_hashes values (hash('{planted}'), cast('{world.days[0]}' as date))")
    lab.build(world)
    assert planted in set(_kept_ids(lab)), "a hash match alone dropped a new event"


def test_a_hash_table_written_with_another_hash_function_is_not_trusted(tmp_path, dbt_manifest):
    lab, world = _started(tmp_path, dbt_manifest, SEED)
    with duckdb.connect(lab.resource.path) as con:
        con.execute("update main.int_event_id_hashes set event_id_hash = xor(event_id_hash, cast(1 as ubigint))")
    world.new_day()
    world.duplicate_later()
    lab.build(world)
    ids = _kept_ids(lab)
    assert ids.is_unique, "copies of kept events were kept: the shifted hashes were trusted"
