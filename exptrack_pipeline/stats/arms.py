"""Sufficient statistics of one experiment arm, one entry per result row."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, as_float


@dataclass(frozen=True)
class ArmStats:
    """Per-arm sufficient statistics; every field is a float array (scalars broadcast).

    For unit i with metric value y_i, optional ratio denominator d_i and optional
    pre-exposure covariate x_i:

    - ``n`` = number of units, ``sum`` = Σy, ``sum_sq`` = Σy² (for 0/1 conversions Σy² = Σy);
    - ratio metrics (Σy/Σd): ``sum_den`` = Σd, ``sum_den_sq`` = Σd², ``sum_num_den`` = Σy·d;
    - CUPED: ``sum_x`` = Σx, ``sum_x_sq`` = Σx², ``sum_xy`` = Σx·y.
    """

    n: FloatArray
    sum: FloatArray
    sum_sq: FloatArray
    sum_den: FloatArray | None = None
    sum_den_sq: FloatArray | None = None
    sum_num_den: FloatArray | None = None
    sum_x: FloatArray | None = None
    sum_x_sq: FloatArray | None = None
    sum_xy: FloatArray | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, as_float(getattr(self, f.name)))

    @property
    def shape(self) -> tuple[int, ...]:
        """Broadcast shape of all present fields."""
        present = [np.shape(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]
        return np.broadcast_shapes(*present)

    @property
    def has_ratio(self) -> bool:
        """True when the ratio sums (denominator, its square, the cross product) are present."""
        return self.sum_den is not None and self.sum_den_sq is not None and self.sum_num_den is not None

    @property
    def has_covariate(self) -> bool:
        """True when the CUPED covariate sums (x, x², xy) are present."""
        return self.sum_x is not None and self.sum_x_sq is not None and self.sum_xy is not None

    @classmethod
    def from_samples(
        cls,
        y: ArrayLike,
        den: ArrayLike | None = None,
        x: ArrayLike | None = None,
    ) -> ArmStats:
        """Sufficient statistics of one row from raw per-unit values (tests and examples)."""
        yv = np.asarray(y, dtype=np.float64)
        kwargs: dict[str, float] = {"n": float(yv.size), "sum": yv.sum(), "sum_sq": (yv * yv).sum()}
        if den is not None:
            dv = np.asarray(den, dtype=np.float64)
            kwargs |= {"sum_den": dv.sum(), "sum_den_sq": (dv * dv).sum(), "sum_num_den": (yv * dv).sum()}
        if x is not None:
            xv = np.asarray(x, dtype=np.float64)
            kwargs |= {"sum_x": xv.sum(), "sum_x_sq": (xv * xv).sum(), "sum_xy": (xv * yv).sum()}
        return cls(**kwargs)  # type: ignore[arg-type]
