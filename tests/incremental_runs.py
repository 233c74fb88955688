"""The sequences of daily runs of the incremental-model tests (tests/test_incremental_models.py), on a Lab of any
engine: the hand-written hard cases (each run's scope checked exactly) and the randomized property (random runs of
random hard cases; after each, the scope equals what the world changed; after each sequence, every compared table
equals a --full-refresh to 1e-9).

Also a script, for the PostgreSQL half in the background lane (test_incremental_models.INCREMENTAL_POSTGRES):
`python tests/incremental_runs.py --root DIR --seeds 5,6` with EXPTRACK_PG_* set runs both on that database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from incremental_lab import Lab, assert_same
from incremental_world import World, changed_scope

EVENT_CASES = ["late_events", "resend_day", "duplicate_later", "duplicate_earlier", "shift_cap", "resend_without_unit"]
EXPOSURE_CASES = [
    "first_exposure_earlier",
    "multi_variant",
    "late_exposures",
    "second_variant_later",
    "resend_exposures",
    "drop_unit_exposures",
]
EXPERIMENT_CASES = ["new_experiment", "changed_dates", "changed_phases"]
METRIC_CASES = ["new_metric", "changed_window", "changed_retention_events", "changed_metric_list"]
REGISTRY_CASES = {
    "new_metric": {("metric", "checkouts"), ("experiment", "exp_c")},
    "changed_window": {("metric", "revenue_per_user")},
    "changed_retention_events": {("metric", "d1_retention")},
    "new_experiment": {("experiment", "exp_c")},
    "changed_dates": {("experiment", "exp_a")},
    "changed_phases": {("experiment", "exp_b")},
    "changed_metric_list": {("experiment", "exp_b")},
    "phase_tomorrow": {("experiment", "exp_b")},
    "identity_change": {("all", None)},
}
"""What each registry case of the hand-written sequence touches (incremental_registry.py), written out by hand."""

RANDOM_CASES = [
    *EVENT_CASES,
    *EXPOSURE_CASES,
    "new_metric",
    "changed_window",
    "changed_cap",
    "changed_retention_events",
    "new_experiment",
    "removed_experiment",
    "changed_dates",
    "changed_phases",
    "changed_metric_list",
    "phase_tomorrow",
    "identity_change",
]
RUNS_PER_SEED = 4
MAX_DAYS = 12
"""A world with more days starts over (a fresh world on an emptied warehouse) before the next seed: its experiments
end on day 20, and a longer sequence would mostly add days nobody analyses."""


# -- the hand-written hard cases ---------------------------------------------------------------------------------


def run_step(lab: Lab, world: World, cases: list[str], marts: bool = False) -> None:
    """A daily run: a new day plus `cases`; the run's scope must be exactly what they changed — the earliest changed
    partition, the changed metrics and experiments — nothing earlier, nothing else."""
    changed_days = [world.new_day()]
    expected: set[tuple[str, object]] = {("exposures", changed_days[0])}
    for case in cases:
        touched = getattr(world, case)()
        if case in REGISTRY_CASES:
            expected |= REGISTRY_CASES[case]
        elif case in EVENT_CASES:
            changed_days.append(touched)
        elif case in EXPOSURE_CASES:
            expected.add(("exposures", touched))
    lab.build(world, marts=marts)
    scope = lab.scope()
    assert scope == expected | {("events", day) for day in set(changed_days)}, (cases, scope)


def run_hard_cases(lab: Lab, seed: int) -> None:
    """Three days, an identity-map change with late data (a full rebuild: early, so that no case hides behind it),
    then the hard cases, one run per group (in a random order within the group), ordered so that no case hides
    behind a later run's wider scope (a changed experiment or metric is rebuilt whole, a unit active on a later day
    or re-assigned too): the experiment edits (exp_b's ramp moved to start tomorrow last); the usual daily run — the
    new partition only — whose purchases move a percentile cap under earlier values (its new day moves exp_b's
    analysed phase); the other event cases; the metric edits (a metric reload; a catalog metric added to exp_b, an
    experiment change that no assignment change covers) with late events; the exposure cases
    (a unit exposed only on a re-sent day dropped from it last); a re-sent day without a unit that is in no later
    partition. Finally every compared table equals a full refresh of the same inputs."""
    rng = np.random.default_rng(seed)
    world = World(seed)
    for _ in range(3):
        world.new_day()
    lab.build(world)
    assert ("all", None) in lab.scope()  # no state yet: the first build is a full one
    run_step(lab, world, ["identity_change", "late_events"])  # scope all: every model rebuilt
    run_step(lab, world, [*map(str, rng.permutation(EXPERIMENT_CASES)), "phase_tomorrow"])
    deltas = lab.deltas("exp_a", "revenue_per_user")
    run_step(lab, world, ["shift_cap"])  # the daily schedule's usual run: the new partition only
    assert moved_values(deltas, lab.deltas("exp_a", "revenue_per_user")), "shift_cap moved no earlier capped value"
    moved = lab.read("select experiment_id from main.int_refresh_exposure_experiments")
    assert "exp_b" in set(moved["experiment_id"]), "exp_b's analysed phase did not move with the new day"
    alone = ("shift_cap", "resend_without_unit")
    run_step(lab, world, [str(case) for case in rng.permutation(EVENT_CASES) if case not in alone])
    before = lab.history(world.days[-1])
    run_step(lab, world, [*map(str, rng.permutation(METRIC_CASES)), "late_events"])
    after = lab.history(world.days[-2])
    changed = set(before.itertuples(index=False)) ^ set(after.itertuples(index=False))
    # the metric reload rebuilt the history of revenue_per_user (its window changed) and d1_retention (its events)
    # and touched no other metric of exp_a
    assert {row.metric_id for row in changed if row.experiment_id == "exp_a"} == {
        "revenue_per_user",
        "d1_retention",
    }, changed
    before_units = lab.assignments()
    exposure_cases = [str(case) for case in rng.permutation(EXPOSURE_CASES) if case != "drop_unit_exposures"]
    run_step(lab, world, [*exposure_cases, "drop_unit_exposures"])
    assert lab.assignment_changes() == assignment_diff(before_units, lab.assignments())
    run_step(lab, world, ["resend_without_unit"], marts=True)
    incremental = lab.tables()
    lab.build(world, full_refresh=True)
    assert_same(incremental, lab.tables(), f"hard cases, seed {seed}: ")


def moved_values(before: pd.DataFrame, after: pd.DataFrame) -> bool:
    """Whether a day's capped sums (int_variant_metric_daily_deltas' Σy, Σy²) differ between two reads of the days
    both hold: a moved cap changed the value of a unit on an earlier day."""
    joined = before.merge(after, on=["variant", "analysis_date"], suffixes=("", "_after"))
    return any(
        not np.allclose(joined[column], joined[f"{column}_after"], rtol=1e-9, atol=1e-9)
        for column in ("delta_sum", "delta_sum_sq")
    )


# -- the randomized property -------------------------------------------------------------------------------------


def assignment_diff(before: pd.DataFrame, after: pd.DataFrame) -> set[tuple[str, str]]:
    """(experiment, unit) of the analysed units that are new, gone, or changed variant, unit type or first
    exposure between two snapshots of int_assignments."""
    keys = ["experiment_id", "user_id"]
    joined = before.merge(after, on=keys, how="outer", suffixes=("_before", "_after"), indicator=True)
    differs = joined["_merge"] != "both"
    for column in ("unit_type", "variant", "first_exposed_at"):
        differs |= joined[f"{column}_before"].astype(str) != joined[f"{column}_after"].astype(str)
    return set(joined.loc[differs, keys].itertuples(index=False, name=None))


def random_run(rng: np.random.Generator) -> list[str]:
    """One daily run's changes: usually a new day, plus none to three hard cases (a run with no change at all is a
    re-run, whose scope must be empty; several cases: registry edits and late data in the same run)."""
    cases = ["new_day"] if rng.random() < 0.8 else []
    count = int(rng.choice([0, 1, 1, 2, 2, 3]))
    return cases + [str(case) for case in rng.choice(RANDOM_CASES, size=count, replace=False)]


def apply_case(world: World, case: str, rng: np.random.Generator) -> object:
    """One hard case on the world, its target (metric, experiment) drawn at random where it has one."""
    if case in ("changed_window", "changed_cap"):
        kinds = ("mean", "ratio") if case == "changed_cap" else ("mean", "ratio", "conversion", "quantile")
        metric = str(rng.choice([m["id"] for m in world.metrics if m["kind"] in kinds]))
        return getattr(world, case)(metric)
    if case == "changed_dates":  # an experiment without a ramp (a ramp's first phase starts on start_date)
        return world.changed_dates(
            str(rng.choice([k for k, v in world.experiments.items() if "allocation_phases" not in v]))
        )
    if case == "changed_metric_list":  # a secondary metric of the catalog, never the primary or a guardrail
        experiment_id = str(rng.choice(sorted(world.experiments)))
        definition = world.experiments[experiment_id]
        fixed = {definition["primary_metric"], *(g["metric"] for g in definition["guardrail_metrics"])}
        return world.changed_metric_list(
            experiment_id, str(rng.choice([m["id"] for m in world.metrics if m["id"] not in fixed]))
        )
    if case == "first_exposure_earlier":
        return world.first_exposure_earlier(str(rng.choice(sorted(world.experiments))))
    return getattr(world, case)()


def run_property(lab: Lab, seeds: tuple[int, ...], runs: int = RUNS_PER_SEED) -> None:
    """For each seed, `runs` random daily runs on one world and one warehouse (a seed continues where the previous
    one's full refresh left them, until the world has MAX_DAYS days: the next seed starts a fresh world on an
    emptied warehouse), each run's scope checked against what the world changed, then every compared table against
    a --full-refresh. A failure names the seeds and every run's cases since the world was created (deterministic:
    rerun with the same seeds to reproduce)."""
    world = units = None
    log: list[str] = []
    for seed in seeds:
        if world is None or len(world.days) > MAX_DAYS:
            if world is not None:
                lab.reset()
            world, log = World(seed), [f"seeds {','.join(map(str, seeds))}: World({seed})"]
            for _ in range(3):
                world.new_day()
            lab.build(world)
            units = lab.assignments()
        rng = np.random.default_rng(seed)
        for number in range(runs):
            cases, before = random_run(rng), world.snapshot()
            for case in cases:
                apply_case(world, case, rng)
            log.append(f"seed {seed} run {number + 1}: {', '.join(cases) or 'a re-run, nothing changed'}")
            lab.build(world, marts=number == runs - 1)
            context = " / ".join(log) + ": "
            assert lab.scope() == changed_scope(before, world.snapshot()), (
                f"{context}scope {sorted(map(str, lab.scope()))}"
            )
            now = lab.assignments()
            assert lab.assignment_changes() == assignment_diff(units, now), f"{context}assignment changes"
            units = now
        incremental = lab.tables()
        lab.build(world, full_refresh=True)
        assert_same(incremental, lab.tables(), " / ".join(log) + ": ")
        units = lab.assignments()


def main() -> int:
    """The PostgreSQL half: the hard cases and the property on the database EXPTRACK_PG_* name."""
    import argparse
    import os
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--seeds", required=True, help="comma-separated seeds of the property's sequences")
    parser.add_argument("--hard-cases-seed", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    lab = Lab.postgres(args.root, dict(os.environ))
    run_hard_cases(lab, args.hard_cases_seed)
    print(f"hard cases (seed {args.hard_cases_seed}) equal a full refresh: {time.perf_counter() - started:.1f}s")
    run_property(lab, tuple(int(s) for s in args.seeds.split(",")))  # the same warehouse: its state carries over
    print(f"property (seeds {args.seeds}) holds: {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
