"""What each experiment's flag should serve, from its design, its effective status, its decision and the date (pure).

| effective status            | flag serves                                                               |
|-----------------------------|---------------------------------------------------------------------------|
| backlog, scheduled          | control to everyone                                                       |
| running, before start_date  | control to everyone (the split starts on the start date)                  |
| running                     | the split of the allocation phase in force (latest phase started ≤ today)  |
| paused                      | control to everyone (automatic or manual pause)                           |
| concluded/archived + ship V | V to everyone, or V to the `ship_ramp` share in force since the decision  |
| ... ship ramp stopped       | control to everyone (a guardrail breach during the ramp; until a new decision) |
| concluded/archived otherwise| control to everyone (rollback, iterate, no decision)                      |
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from exptrack_pipeline.flags.definition import FlagError, Serving, flag_entry


@dataclass(frozen=True)
class FlagDesign:
    """The parts of an experiment's design the flag needs; `variants` lists the control first."""

    experiment_id: str
    flag_key: str
    control: str
    variants: tuple[str, ...]
    start_date: dt.date
    phases: tuple[tuple[dt.date, tuple[tuple[str, float], ...]], ...]
    ship_ramp: tuple[tuple[int, float], ...] = ((0, 1.0),)

    @classmethod
    def from_experiment(cls, experiment) -> FlagDesign:
        """From a validated exptrack_pipeline.config.Experiment."""
        control = experiment.control.name
        names = (control, *[v.name for v in experiment.variants if v.name != control])
        phases = tuple(
            (first, tuple((n, float(weights[n])) for n in names)) for _, first, _, weights in experiment.phases
        )
        ramp = tuple((s.after_days, s.winner_share) for s in experiment.ship_ramp) or ((0, 1.0),)
        return cls(
            experiment.id, experiment.flag_key or experiment.id, control, names, experiment.start_date, phases, ramp
        )

    def phase_in_force(self, today: dt.date) -> tuple[int, dt.date, dict[str, float]] | None:
        """(number, start, weights) of the latest phase started on or before `today`, else None."""
        started = [(i + 1, start, dict(w)) for i, (start, w) in enumerate(self.phases) if start <= today]
        return started[-1] if started else None

    def entry(self, serving: Serving) -> dict:
        """This flag's entry in the flag file for `serving`."""
        return flag_entry(self.experiment_id, list(self.variants), serving)


def _shipping(design: FlagDesign, winner: str, decided_on: dt.date | None, today: dt.date) -> Serving:
    """The winner's share of the ship ramp step in force (`decided_on` None: the last step), control the rest."""
    if decided_on is None:
        after, share = design.ship_ramp[-1]
    else:
        started = [step for step in design.ship_ramp if step[0] <= (today - decided_on).days]
        after, share = started[-1] if started else design.ship_ramp[0]
    if share >= 1:
        return Serving(
            "winner", {n: float(n == winner) for n in design.variants}, f"shipped {winner}: every unit gets it"
        )
    weights = {n: (share if n == winner else 1 - share if n == design.control else 0.0) for n in design.variants}
    return Serving("ship_ramp", weights, f"shipping {winner}: {share:.0%} of units from day {after} after the decision")


def desired_serving(
    design: FlagDesign,
    status: str,
    decision: str | None,
    winner: str | None,
    today: dt.date,
    decided_on: dt.date | None = None,
    ramp_stopped: bool = False,
) -> Serving:
    """The flag's serving for the experiment's effective status (see the module table).

    `ramp_stopped`: monitoring stopped the ship ramp after the latest decision (a guardrail harmed during the ramp).
    The flag then goes back to control, not to the last ramp step: the step in force is the one that harmed, and
    an earlier step's data may be too thin to call safe. A new `exptrack decide` restarts the ramp from its first step.
    """

    def everyone(v, note):
        return Serving(
            "control" if v == design.control else "winner", {n: float(n == v) for n in design.variants}, note
        )

    if status == "running":
        phase = design.phase_in_force(today)
        if phase is None:
            return everyone(
                design.control, f"running but starts on {design.start_date}: everyone gets {design.control} until then"
            )
        number, start, weights = phase
        return Serving("split", weights, f"allocation phase {number} (from {start})")
    if status == "paused":
        return everyone(design.control, f"paused: every unit gets {design.control}")
    if status in ("concluded", "archived") and decision == "ship":
        if winner not in design.variants:
            raise FlagError(
                f"{design.experiment_id}: shipped variant {winner!r} is not one of its variants {list(design.variants)}"
            )
        if ramp_stopped:
            return everyone(
                design.control, f"ship ramp of {winner} stopped by monitoring: every unit gets {design.control}"
            )
        return _shipping(design, winner, decided_on, today)
    if status in ("concluded", "archived"):
        what = f"decision {decision}" if decision else "concluded without a decision"
        return everyone(design.control, f"{what}: every unit gets {design.control}")
    return everyone(design.control, f"{status}: not started, every unit gets {design.control}")


def design_to_json(design: FlagDesign) -> str:
    """The design as JSON for the registry table `registry.experiment_flags` (read back by `design_from_json`)."""
    return json.dumps(
        {
            "experiment_id": design.experiment_id,
            "flag_key": design.flag_key,
            "control": design.control,
            "variants": list(design.variants),
            "start_date": design.start_date.isoformat(),
            "phases": [[start.isoformat(), [[v, w] for v, w in weights]] for start, weights in design.phases],
            "ship_ramp": [list(step) for step in design.ship_ramp],
        }
    )


def design_from_json(text: str) -> FlagDesign:
    """A FlagDesign from its JSON form (registry.flags.definition_json)."""
    d = json.loads(text)
    phases = tuple((dt.date.fromisoformat(s), tuple((v, float(w)) for v, w in ws)) for s, ws in d["phases"])
    ramp = tuple((int(a), float(s)) for a, s in d.get("ship_ramp", [[0, 1.0]]))
    return FlagDesign(
        d["experiment_id"],
        d["flag_key"],
        d["control"],
        tuple(d["variants"]),
        dt.date.fromisoformat(d["start_date"]),
        phases,
        ramp,
    )
