"""Experiment lifecycle: the states, the allowed transitions, decisions and the effective status.

States: backlog → scheduled → running ⇄ paused → concluded → archived (scheduled → backlog un-schedules).
The YAML's `status` is only the starting point: every later move is an event in the warehouse
(`state.lifecycle_events`, written by `exptrack move/decide`), and the monitoring feature may add automatic
pause/resume events (`state.experiment_status_events`). The effective status is the `to_status` of the latest
event across both tables (by time; on a tie, the manual event wins), else the YAML status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Literal, get_args

Status = Literal["backlog", "scheduled", "running", "paused", "concluded", "archived"]
DecisionKind = Literal["ship", "rollback", "iterate"]
EventType = Literal["transition", "decision", "implemented"]

STATES: tuple[str, ...] = get_args(Status)
DECISIONS: tuple[str, ...] = get_args(DecisionKind)
ACTIVE_STATES = ("scheduled", "running", "paused")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "backlog": ("scheduled",),
    "scheduled": ("running", "backlog"),
    "running": ("paused", "concluded"),
    "paused": ("running", "concluded"),
    "concluded": ("archived",),
    "archived": (),
}
HOW_TO_MOVE = "exptrack move {experiment} --to STATE --actor WHO --reason WHY"


class LifecycleError(ValueError):
    """A lifecycle move or decision is not allowed; the message names the experiment and what to do."""


@dataclass(frozen=True)
class LifecycleEvent:
    """One row of `state.lifecycle_events`: who did what to which experiment, when and why."""

    experiment_id: str
    event_type: EventType
    actor: str
    reason: str
    occurred_at: dt.datetime
    from_status: str | None = None
    to_status: str | None = None
    decision: str | None = None
    variant: str | None = None
    source: str = "cli"

    def as_row(self) -> dict[str, object]:
        """The event as a row of state.experiment_status_events."""
        return asdict(self)


def validate_transition(experiment_id: str, current: str, target: str) -> None:
    """Raise LifecycleError unless `current → target` is an allowed move."""
    if target not in STATES:
        raise LifecycleError(f"{experiment_id}: unknown state {target!r}; use one of {', '.join(STATES)}")
    if current not in STATES:
        raise LifecycleError(
            f"{experiment_id}: current state {current!r} is not a lifecycle state; fix its YAML `status`"
        )
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(allowed) if allowed else "nothing (archived is final)"
        raise LifecycleError(
            f"{experiment_id}: cannot move from {current} to {target}; from {current} it can move to {options}"
        )


def validate_decision(
    experiment_id: str, current: str, decision: str, variant: str | None, variants: list[str], control: str
) -> None:
    """A decision needs a running, paused or concluded experiment; `ship` needs one of its non-control variants."""
    if decision not in DECISIONS:
        raise LifecycleError(f"{experiment_id}: unknown decision {decision!r}; use ship VARIANT, rollback or iterate")
    if current not in ("running", "paused", "concluded"):
        raise LifecycleError(
            f"{experiment_id}: is {current}; decisions are recorded for running, paused or concluded experiments "
            f"(an archived experiment is frozen). Move it first: {HOW_TO_MOVE.format(experiment=experiment_id)}"
        )
    treatments = [v for v in variants if v != control]
    if decision == "ship" and variant not in treatments:
        raise LifecycleError(
            f"{experiment_id}: `ship` needs the variant to ship, one of {', '.join(treatments)} (got {variant!r})"
        )
    if decision != "ship" and variant is not None:
        raise LifecycleError(f"{experiment_id}: only `ship` takes a variant (got {decision} {variant})")


def transitions_for_decision(
    experiment_id: str, current: str, actor: str, rationale: str, at: dt.datetime
) -> list[LifecycleEvent]:
    """A decision on a running or paused experiment also concludes it (one transition event)."""
    if current in ("running", "paused"):
        return [
            LifecycleEvent(
                experiment_id, "transition", actor, rationale, at, from_status=current, to_status="concluded"
            )
        ]
    return []
