"""Experiment health monitoring, pure: health rules, triggers, routing and Slack Block Kit rendering.

No Dagster and no I/O here: frames in (:class:`HealthInputs`), :class:`Finding` and :class:`Alert` out.
The warehouse side lives in exptrack_pipeline.notify, the Dagster side in exptrack_pipeline.defs.monitoring.
"""

from exptrack_pipeline.monitoring.health import RULES, evaluate
from exptrack_pipeline.monitoring.inputs import HealthInputs
from exptrack_pipeline.monitoring.model import CHECKS, LEVEL_NAMES, TITLES, CheckSpec, Finding, HealthConfig
from exptrack_pipeline.monitoring.triggers import (
    Alert,
    Contacts,
    PauseDecision,
    alert_key,
    plan_alerts,
    plan_pauses,
    recipients_for,
)

__all__ = [
    "CHECKS",
    "LEVEL_NAMES",
    "RULES",
    "TITLES",
    "Alert",
    "CheckSpec",
    "Contacts",
    "Finding",
    "HealthConfig",
    "HealthInputs",
    "PauseDecision",
    "alert_key",
    "evaluate",
    "plan_alerts",
    "plan_pauses",
    "recipients_for",
]
