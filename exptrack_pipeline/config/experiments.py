"""One experiment's design, as written in its YAML file in the registry."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["backlog", "scheduled", "running", "paused", "concluded", "archived"]
WEIGHT_TOLERANCE = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Strict):
    """One arm of an experiment: its name, traffic weight and whether it is the control."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    weight: float = Field(gt=0, le=1)
    is_control: bool = False


class GuardrailMetric(_Strict):
    """A metric that must not get worse by more than `max_relative_harm` (e.g. 0.05 = 5% relative)."""

    metric: str
    max_relative_harm: float = Field(default=0.0, ge=0, le=1)


class SuccessCriteria(_Strict):
    """The test's error rates and the minimum detectable effect the experiment is sized for."""

    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1)
    minimum_detectable_effect: float = Field(gt=0)
    mde_type: Literal["relative", "absolute"] = "relative"


class Prioritization(_Strict):
    """ICE prioritisation scores (impact, confidence, effort) that order the backlog."""

    expected_impact: float = Field(ge=0, le=10)
    confidence: float = Field(ge=0, le=10)
    effort: float = Field(gt=0, le=10)


class AllocationPhase(_Strict):
    """Traffic weights in force from `start_date` until the next phase starts (a ramp, e.g. 10% then 50%)."""

    start_date: dt.date
    weights: dict[str, float]


class ShipStep(_Strict):
    """After `decide ship V`: from `after_days` days after the decision, V serves `winner_share` of units (control the
    rest)."""

    after_days: int = Field(ge=0)
    winner_share: float = Field(gt=0, le=1)


class AlertRouting(_Strict):
    """Who hears about each escalation level: Slack channels ("#name") or user ids/handles ("@name", "U123").

    Unset levels fall back to the global defaults: level 1 → owner; level 2 → owner + pm;
    level 3 → owner + pm + the leadership channel (configured on the Slack resource).
    """

    level_1: list[str] | None = None
    level_2: list[str] | None = None
    level_3: list[str] | None = None


class Experiment(_Strict):
    """One experiment's YAML: design, metrics, owners, schedule and lifecycle status."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    hypothesis: str
    owner: str
    pm: str | None = None
    slack_channel: str
    status: Status
    surface: str
    audience: str = "all_users"
    unit: Literal["user_id", "anonymous_id", "device_id"] = "user_id"
    """The randomization unit: the id the assignment was made on (a logged-out experiment: anonymous_id). Events
    carrying another id reach the unit through the identity map (docs/sources.md)."""
    layer: str | None = None
    start_date: dt.date
    end_date: dt.date
    variants: list[Variant] = Field(min_length=2)
    primary_metric: str
    secondary_metrics: list[str] = Field(default_factory=list)
    guardrail_metrics: list[GuardrailMetric] = Field(default_factory=list)
    success_criteria: SuccessCriteria
    prioritization: Prioritization | None = None
    allocation_phases: list[AllocationPhase] = Field(default_factory=list)
    alerting: AlertRouting = AlertRouting()
    flag_key: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.\-]+$"
    )  # the feature flag's key (default: the id)
    ship_ramp: list[ShipStep] = Field(default_factory=list)  # default: the shipped variant serves everyone at once

    @field_validator("guardrail_metrics", mode="before")
    @classmethod
    def _guardrail_shorthand(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"metric": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        total = sum(v.weight for v in self.variants)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            weights = ", ".join(f"{v.name}={v.weight:g}" for v in self.variants)
            raise ValueError(f"variant weights must sum to 1 but sum to {total:g} ({weights})")
        controls = [v.name for v in self.variants if v.is_control]
        if len(controls) != 1:
            raise ValueError(
                f"exactly one variant needs `is_control: true`, found {len(controls)} ({controls or 'none'})"
            )
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        self._check_phases(names)
        days = [s.after_days for s in self.ship_ramp]
        if self.ship_ramp and (days != sorted(set(days)) or days[0] != 0 or self.ship_ramp[-1].winner_share != 1):
            raise ValueError(
                "ship_ramp must start at after_days 0, increase, and end with winner_share 1, got "
                f"{[s.model_dump() for s in self.ship_ramp]}"
            )
        return self

    def _check_phases(self, names: list[str]) -> None:
        phases = self.allocation_phases
        if not phases:
            return
        starts = [p.start_date for p in phases]
        if starts != sorted(set(starts)):
            raise ValueError(f"allocation_phases must have increasing, distinct start dates, got {starts}")
        if starts[0] != self.start_date:
            raise ValueError(f"the first allocation phase must start on start_date {self.start_date}, not {starts[0]}")
        if starts[-1] > self.end_date:
            raise ValueError(f"allocation phase starting {starts[-1]} begins after end_date {self.end_date}")
        for phase in phases:
            if sorted(phase.weights) != sorted(names):
                raise ValueError(
                    f"allocation phase {phase.start_date} must give a weight to each variant {names}, got "
                    f"{sorted(phase.weights)}"
                )
            if abs(sum(phase.weights.values()) - 1.0) > WEIGHT_TOLERANCE:
                raise ValueError(
                    f"allocation phase {phase.start_date}: weights must sum to 1, got {sum(phase.weights.values()):g}"
                )
        final = phases[-1].weights
        if any(abs(final[v.name] - v.weight) > WEIGHT_TOLERANCE for v in self.variants):
            raise ValueError(
                "the last allocation phase's weights must equal the variants' `weight` (the target allocation)"
            )

    @property
    def phases(self) -> list[tuple[int, dt.date, dt.date, dict[str, float]]]:
        """(number, first day, last day, weights) of every allocation phase; one phase when no ramp is declared."""
        if not self.allocation_phases:
            return [(1, self.start_date, self.end_date, {v.name: v.weight for v in self.variants})]
        out = []
        for i, phase in enumerate(self.allocation_phases):
            last = (
                self.allocation_phases[i + 1].start_date - dt.timedelta(days=1)
                if i + 1 < len(self.allocation_phases)
                else self.end_date
            )
            out.append((i + 1, phase.start_date, last, dict(phase.weights)))
        return out

    @property
    def control(self) -> Variant:
        """The control variant."""
        return next(v for v in self.variants if v.is_control)

    @property
    def metric_roles(self) -> list[tuple[str, str]]:
        """(metric_id, role) for every metric of the experiment; role is primary, secondary or guardrail."""
        roles = [(self.primary_metric, "primary")]
        roles += [(m, "secondary") for m in self.secondary_metrics]
        roles += [(g.metric, "guardrail") for g in self.guardrail_metrics]
        return roles
