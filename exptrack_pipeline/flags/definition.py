"""flagd flag definitions of exptrack's experiments (pure: no I/O).

One flag per experiment, keyed by the experiment id or the YAML's `flag_key`. A flag serves one of:

* `split`   — `fractional` targeting over the variants with the allocation phase's weights as relative integers;
  flagd hashes the flag key and the evaluation context's `targetingKey` (the experiment's unit, `user_id`) with
  murmur3 (openfeature-provider-flagd 0.5 / flagd-core 1.0: ``mmh3(flagKey + targetingKey)``) and serves the
  variant whose weight range holds ``(hash * Σweights) >> 32``;
* `control` — everyone gets the control variant (not started, paused, rolled back);
* `winner`  — everyone gets the shipped variant;
* `ship_ramp` — after `decide ship V` with a `ship_ramp` in the YAML: V serves the step's share, control the rest
  (a `fractional` rule like `split`; the exposure hook logs it, so monitoring watches the guardrails during the ramp;
  a breach stops the ramp: everyone back to control).

Schema: https://flagd.dev/reference/flag-definitions/ (`flags`, `state`, `variants`, `defaultVariant`, `targeting`,
`metadata`). The flag's `metadata` carries `experiment_id` and `serving`, so the exposure hook knows what it saw.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"
MAX_DENOMINATOR = (
    10_000  # weights are expressible when each is a fraction k/d with d ≤ 10,000 (e.g. 1/3, 0.125, 0.0001)
)
EXACT = 1e-9

Mode = Literal["split", "control", "winner", "ship_ramp"]


class FlagError(ValueError):
    """A flag exptrack cannot write as asked; the message names the experiment, the flag and the fix."""


@dataclass(frozen=True)
class Serving:
    """What a flag serves: `weights` maps every variant to its share (1 for the one variant served to everyone)."""

    mode: Mode
    weights: dict[str, float]
    note: str = field(default="", compare=False)


def integer_weights(experiment_id: str, weights: dict[str, float]) -> dict[str, int]:
    """Relative integer weights with exactly the shares of `weights` (flagd's `fractional` takes integers).

    Each weight must equal a fraction with denominator ≤ MAX_DENOMINATOR (within 1e-9); the integers are the
    numerators over the least common denominator, divided by their greatest common divisor.
    """
    fractions: dict[str, Fraction] = {}
    for variant, weight in weights.items():
        if not math.isfinite(weight) or weight < 0:
            raise FlagError(
                f"{experiment_id}: weight of variant {variant!r} is {weight!r}; weights must be finite and ≥ 0"
            )
        approx = Fraction(weight).limit_denominator(MAX_DENOMINATOR)
        if abs(float(approx) - weight) > EXACT:
            raise FlagError(
                f"{experiment_id}: weight {weight!r} of variant {variant!r} cannot be expressed by the feature flag "
                f"(weights must be multiples of 1/{MAX_DENOMINATOR:,} or simple fractions such as 1/3); round "
                f"it, e.g. to {round(weight, 4)}"
            )
        fractions[variant] = approx
    if sum(fractions.values()) <= 0:
        raise FlagError(f"{experiment_id}: every weight is 0; at least one variant must get traffic")
    denominator = math.lcm(*(f.denominator for f in fractions.values()))
    numerators = {v: int(f * denominator) for v, f in fractions.items()}
    divisor = math.gcd(*numerators.values())
    return {v: n // divisor for v, n in numerators.items()}


def flag_entry(experiment_id: str, variants: list[str], serving: Serving) -> dict:
    """The flagd definition of one flag; variant values are the variant names (a string flag)."""
    entry: dict = {"state": "ENABLED", "variants": {v: v for v in variants}}
    if serving.mode in ("split", "ship_ramp"):
        ints = integer_weights(experiment_id, serving.weights)
        entry["defaultVariant"] = variants[0]
        entry["targeting"] = {"fractional": [[v, ints[v]] for v in variants]}
    else:
        served = [v for v, w in serving.weights.items() if w > 0]
        if len(served) != 1 or served[0] not in variants:
            raise FlagError(f"{experiment_id}: serving {serving.mode} needs exactly one known variant, got {served}")
        entry["defaultVariant"] = served[0]
    entry["metadata"] = {"experiment_id": experiment_id, "serving": serving.mode, "managed_by": "exptrack"}
    return entry


def canonical(value: object) -> str:
    """Deterministic JSON text (sorted keys): equal definitions give equal text and equal hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def render_file(flags: dict[str, dict]) -> str:
    """The whole flag-definition file, pretty-printed with sorted keys (stable bytes for the same flags)."""
    return json.dumps({"$schema": FLAGD_SCHEMA, "flags": flags}, sort_keys=True, indent=2) + "\n"
