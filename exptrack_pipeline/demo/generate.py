"""Seeded synthetic demo data for exptrack: a landing zone with known true effects.

    from exptrack_pipeline.demo.generate import generate_demo
    truth = generate_demo(Path("data/raw"), seed=7, scale=1.0, bad_rows=True)

    python -m exptrack_pipeline.demo.generate --out data/raw [--seed 7] [--scale 1.0] [--no-bad-rows]

The world (users, sessions, effects) lives in `world.py`, file layout and dirt in `landing.py`. The same
seed and scale give byte-identical files; `bad_rows` changes only the dirt, never the simulated world.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from exptrack_pipeline.demo.landing import write_landing
from exptrack_pipeline.demo.world import (
    CHECKOUT,
    CTR,
    DATA_END,
    DATA_START,
    ERROR_HARM,
    EXPERIMENTS,
    HOMEPAGE,
    LOGGING_LOSS,
    SIGNUP,
    SIGNUP_RATE,
    World,
    simulate,
)

TRUTH_FILE = "demo_truth.json"

METRICS = {
    SIGNUP.id: ("signup_conversion", "d1_retention", "d7_retention", "session_duration", "error_rate"),
    HOMEPAGE.id: ("card_ctr", "saved_search_adoption", "seconds_per_session", "error_rate", "page_load_p90"),
    CHECKOUT.id: ("purchase_conversion", "revenue_per_user", "error_rate", "session_seconds_p50"),
}
"""Every metric each demo experiment uses (primary, secondary, guardrails), as in experiments/*.yaml."""

TRUE_EFFECTS = {
    SIGNUP.id: {"signup_conversion": {"social_proof": SIGNUP_RATE["social_proof"] / SIGNUP_RATE["control"] - 1}},
    HOMEPAGE.id: {"card_ctr": {v: CTR[v] / CTR["control"] - 1 for v in HOMEPAGE.variants[1:]}},
    CHECKOUT.id: {"error_rate": {"one_page": ERROR_HARM}},
}
"""Non-zero true relative lifts; every other (metric, variant) pair has a true lift of exactly 0."""

CONTROL_LEVELS = {
    SIGNUP.id: {"signup_conversion": SIGNUP_RATE["control"]},
    HOMEPAGE.id: {"card_ctr": CTR["control"]},
}

NOTES = [
    "true_lift: relative lift of the per-user probability (per-impression for card_ctr) over control, "
    "exact in expectation for every segment and exposure date; 0.0 means no effect.",
    "users_per_variant: distinct users whose logged exposures show a single variant (multi-variant users, "
    "which the pipeline must exclude, are counted only in multi_variant_users).",
    "checkout_redesign: 10% of one_page users are never logged (random, behaviour-independent), so its "
    "split is a sample ratio mismatch by design; assigned_users is the split before the loss.",
    "signup_completed happens in the session of the signup exposure, so signup_conversion is fully observed; "
    "users exposed to checkout_redesign or homepage_cards fewer than window_days before data_end are censored.",
    "bad rows are copies of real rows with one field broken; duplicate rows repeat a real row with the same "
    "event_id, in the same day's file or re-delivered in the next day's folder (jsonl).",
]


@dataclass
class DemoTruth:
    """What the generator put into the landing zone: design, true effects and row counts."""

    seed: int
    scale: float
    bad_rows: bool
    data_start: str
    data_end: str
    users: dict = field(default_factory=dict)
    experiments: dict = field(default_factory=dict)
    true_lift: dict = field(default_factory=dict)
    control_levels: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """The truth as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DemoTruth:
        """The truth from its dict form."""
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> DemoTruth:
        """Read `demo_truth.json` (pass the file or the raw_dir holding it)."""
        path = Path(path)
        return cls.from_dict(json.loads((path / TRUTH_FILE if path.is_dir() else path).read_text()))


def _experiment_truth(world: World) -> dict:
    out = {}
    for e, arm in enumerate(world.arms):
        d = arm.design
        rows = world.ex_exp == e
        pairs = np.unique(
            np.stack([world.ex_user[rows], np.searchsorted(np.array(sorted(d.variants)), world.ex_variant[rows])]),
            axis=1,
        )
        users, n_variants = np.unique(pairs[0], return_counts=True)
        single = users[n_variants == 1]
        variant_of = np.full(world.user_id.size, -1)
        variant_of[arm.users] = arm.variant
        clean = np.bincount(variant_of[single], minlength=len(d.variants))
        assigned = np.bincount(arm.variant, minlength=len(d.variants))
        lost = np.bincount(arm.variant[~arm.logged], minlength=len(d.variants))
        out[d.id] = {
            "start_date": d.start.isoformat(),
            "end_date": d.end.isoformat(),
            "exposure_end_date": d.exposure_end.isoformat(),
            "control": d.control,
            "weights": dict(zip(d.variants, d.weights, strict=True)),
            "assigned_users": {v: int(n) for v, n in zip(d.variants, assigned, strict=True)},
            "unlogged_users": {v: int(n) for v, n in zip(d.variants, lost, strict=True)},
            "users_per_variant": {v: int(n) for v, n in zip(d.variants, clean, strict=True)},
            "multi_variant_users": int((n_variants > 1).sum()),
            "users_with_repeat_exposures": world.repeat_users[d.id],
            "logging_loss": LOGGING_LOSS.get(d.id, {}),
        }
    return out


def _user_truth(world: World) -> dict:
    logged = [set(arm.users[arm.logged].tolist()) for arm in world.arms]
    overlap = {}
    for i in range(len(logged)):
        for j in range(i + 1, len(logged)):
            overlap[f"{world.arms[i].design.id}+{world.arms[j].design.id}"] = len(logged[i] & logged[j])
    return {
        "total": int(world.user_id.size),
        "returning": world.n_returning,
        "new": world.n_new,
        "exposed": len(set().union(*logged)),
        "in_two_experiments": overlap,
    }


def _true_lift() -> dict:
    lifts = {}
    for design in EXPERIMENTS:
        treatments = [v for v in design.variants if v != design.control]
        effects = TRUE_EFFECTS.get(design.id, {})
        lifts[design.id] = {
            m: {v: float(effects.get(m, {}).get(v, 0.0)) for v in treatments} for m in METRICS[design.id]
        }
    return lifts


def simulate_world(seed: int = 7, scale: float = 1.0) -> World:
    """The simulated world `generate_demo` writes for this seed and scale (no files)."""
    world_seed, _ = np.random.SeedSequence(seed).spawn(2)
    return simulate(np.random.default_rng(world_seed), float(scale))


def generate_demo(raw_dir: Path, *, seed: int = 7, scale: float = 1.0, bad_rows: bool = True) -> DemoTruth:
    """Replace `<raw_dir>/exposures` and `<raw_dir>/events` with fresh demo data; write and return the truth."""
    if not (isinstance(scale, (int, float)) and 0 < scale <= 20):
        raise ValueError(f"scale must be a number in (0, 20], got {scale!r}")
    raw_dir = Path(raw_dir)
    for source in ("exposures", "events"):
        if (raw_dir / source).is_dir():
            shutil.rmtree(raw_dir / source)
    raw_dir.mkdir(parents=True, exist_ok=True)

    world = simulate_world(seed, scale)
    _, file_seed = np.random.SeedSequence(seed).spawn(2)
    counts = write_landing(raw_dir, world, np.random.default_rng(file_seed), bad_rows)
    truth = DemoTruth(
        seed=seed,
        scale=float(scale),
        bad_rows=bad_rows,
        data_start=DATA_START.isoformat(),
        data_end=DATA_END.isoformat(),
        users=_user_truth(world),
        experiments=_experiment_truth(world),
        true_lift=_true_lift(),
        control_levels=CONTROL_LEVELS,
        counts=counts,
        notes=NOTES,
    )
    (raw_dir / TRUTH_FILE).write_text(json.dumps(truth.to_dict(), indent=2) + "\n")
    return truth


def summary(truth: DemoTruth, raw_dir: Path, seconds: float) -> str:
    """A few lines on what was generated: per experiment, the split and the true effects."""
    c = truth.counts
    parts = []
    for exp_id, info in truth.experiments.items():
        split = " / ".join(f"{v} {n:,}" for v, n in info["users_per_variant"].items())
        effects = ", ".join(
            f"{m} {v} {lift:+.1%}" for m, per in truth.true_lift[exp_id].items() for v, lift in per.items() if lift
        )
        parts.append(f"{exp_id}: {split} users ({info['multi_variant_users']} multi-variant), true {effects}")
    bad = sum(c["bad_rows"].values())
    return (
        f"Wrote {truth.users['total']:,} users ({truth.users['returning']:,} returning, {truth.users['new']:,} new), "
        f"{c['exposure_rows']:,} exposure rows and {c['event_rows']:,} event rows "
        f"({c['duplicate_event_rows']:,} duplicates, {bad} bad rows) for {truth.data_start}..{truth.data_end} "
        f"to {raw_dir} in {seconds:.1f} s (seed {truth.seed}, scale {truth.scale:g}). "
        + "; ".join(parts)
        + f". Truth: {raw_dir / TRUTH_FILE}."
    )


def main(argv: list[str] | None = None) -> int:
    """Generate the demo landing zone (`python -m exptrack_pipeline.demo.generate`)."""
    parser = argparse.ArgumentParser(description="Generate exptrack's seeded synthetic demo landing zone.")
    parser.add_argument("--out", type=Path, default=Path("data/raw"), help="raw landing-zone folder (default data/raw)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies user counts (default 1.0)")
    parser.add_argument("--no-bad-rows", action="store_true", help="no duplicates and no malformed rows")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        truth = generate_demo(args.out, seed=args.seed, scale=args.scale, bad_rows=not args.no_bad_rows)
    except ValueError as exc:
        parser.error(str(exc))
    print(summary(truth, args.out, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
