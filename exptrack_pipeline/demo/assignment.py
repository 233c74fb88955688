"""The demo world assigns its users the way an application would: by evaluating exptrack's flagd flags through the
OpenFeature Python SDK with the flagd provider (in-process FILE resolver, offline).

The flags are built by exptrack's own flag code (exptrack_pipeline.flags) from the demo designs — one flag per
experiment serving its split as on its start date — and written to a temporary flag file; each user's variant is what
the SDK returns for `targetingKey = user_id`. So the demo's assignment is flagd's deterministic bucketing (murmur3 of
flag key + user id), the same the pipeline's flag file gives the same users.

Exposure rows come from exptrack's OpenFeature exposure hook (exptrack_pipeline.flags.hook.ExposureHook) attached to
that client, as an application would log them: every evaluation while the flag splits traffic yields one row
(user_id, experiment_id, variant, exposed_at). The demo's clock is simulated: the hook's clock returns the simulated
time of the evaluation. The world then applies its planted faults to the hook's rows (lost logging in some variants,
other-variant rows from a buggy client), demo/world.py.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext

from exptrack_pipeline.flags.definition import render_file
from exptrack_pipeline.flags.desired import FlagDesign, desired_serving
from exptrack_pipeline.flags.files import atomic_write
from exptrack_pipeline.flags.hook import ExposureHook, Row

DOMAIN = "exptrack-demo"


def flag_design(design) -> FlagDesign:
    """The flag design of a demo ExperimentDesign (one allocation phase from its start date)."""
    names = (design.control, *[v for v in design.variants if v != design.control])
    weights = dict(zip(design.variants, design.weights, strict=True))
    return FlagDesign(
        design.id,
        design.id,
        design.control,
        names,
        design.start,
        ((design.start, tuple((n, float(weights[n])) for n in names)),),
    )


class FlagAssigner:
    """Evaluate the demo experiments' flags for many users (one provider for the whole world); `epoch` is the
    simulated time 0 (seconds in `expose` count from it)."""

    def __init__(self, designs, epoch: dt.datetime = dt.datetime(2026, 10, 18, tzinfo=dt.UTC)) -> None:
        self.designs = {d.id: d for d in designs}
        self.epoch = epoch
        self.rows: list[Row] = []
        self._now = epoch
        flags = {}
        for d in designs:
            fd = flag_design(d)
            flags[fd.flag_key] = fd.entry(desired_serving(fd, "running", None, None, d.start))
        self._tmp = tempfile.TemporaryDirectory(prefix="exptrack-demo-flags-")
        self.path = Path(self._tmp.name) / "flags.flagd.json"
        atomic_write(self.path, render_file(flags))

    def __enter__(self) -> FlagAssigner:
        """Start the flagd file provider and the exposure hook."""
        self.provider = FlagdProvider(
            resolver_type=ResolverType.FILE, offline_flag_source_path=str(self.path), deadline_ms=50
        )
        api.set_provider_and_wait(self.provider, domain=DOMAIN)
        self.client = api.get_client(domain=DOMAIN)
        self.client.add_hooks([ExposureHook(self.rows.append, clock=lambda: self._now)])
        return self

    def __exit__(self, *exc) -> None:
        """Shut the provider down and wait for its file watcher."""
        self.provider.shutdown()
        # the provider's file watcher polls once more after shutdown (every deadline_ms): let it finish before the file
        # goes
        watcher = getattr(getattr(getattr(self.provider, "resolver", None), "connector", None), "thread", None)
        if watcher is not None:
            watcher.join(timeout=5)
        self._tmp.cleanup()

    def expose(self, experiment_id: str, user_ids: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate the flag for each user at its simulated time; (variant index, time in seconds) of the exposure rows
        the hook logged, one per user in order (an error names the experiment and the user)."""
        design = self.designs[experiment_id]
        index = {v: i for i, v in enumerate(design.variants)}
        get = self.client.get_string_details
        start = len(self.rows)
        for uid, t in zip(user_ids.tolist(), seconds.tolist(), strict=True):
            self._now = self.epoch + dt.timedelta(seconds=t)
            details = get(experiment_id, design.control, EvaluationContext(targeting_key=uid))
            if details.error_code is not None:
                raise RuntimeError(f"demo flag {experiment_id} for {uid}: {details.error_code} {details.error_message}")
        rows = self.rows[start:]
        if len(rows) != user_ids.size or [r["user_id"] for r in rows] != user_ids.tolist():
            raise RuntimeError(
                f"demo flag {experiment_id}: the exposure hook logged {len(rows)} rows for {user_ids.size} evaluations "
                "(does the flag serve its split?)"
            )
        variant = np.array([index[str(r["variant"])] for r in rows], dtype=np.int64)
        at = np.array(
            [int((dt.datetime.fromisoformat(str(r["exposed_at"])) - self.epoch).total_seconds()) for r in rows],
            dtype=np.int64,
        )
        return variant, at
