"""Experiment lifecycle (pure: no Dagster): states and transitions, the warehouse history, planning,
backlog priority, scheduling conflicts, operational metrics, the write-once archive and the ship handoff."""

from exptrack_pipeline.lifecycle.states import (
    ACTIVE_STATES,
    DECISIONS,
    STATES,
    TRANSITIONS,
    LifecycleError,
    LifecycleEvent,
    validate_decision,
    validate_transition,
)

__all__ = [
    "ACTIVE_STATES",
    "DECISIONS",
    "STATES",
    "TRANSITIONS",
    "LifecycleError",
    "LifecycleEvent",
    "validate_decision",
    "validate_transition",
]
