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
    - CUPED: ``sum_x`` = Σx, ``sum_x_sq`` = Σx², ``sum_xy`` = Σx·y;
    - CUPED on a ratio metric, x the pre-period numerator and w the pre-period denominator: ``sum_w`` = Σw,
      ``sum_w_sq`` = Σw², ``sum_xw`` = Σx·w, ``sum_xd`` = Σx·d, ``sum_wy`` = Σw·y, ``sum_wd`` = Σw·d.
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
    sum_w: FloatArray | None = None
    sum_w_sq: FloatArray | None = None
    sum_xw: FloatArray | None = None
    sum_xd: FloatArray | None = None
    sum_wy: FloatArray | None = None
    sum_wd: FloatArray | None = None

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

    @property
    def has_ratio_covariate(self) -> bool:
        """Pre-period numerator and denominator sums for CUPED on a ratio metric are all present."""
        extra = (self.sum_w, self.sum_w_sq, self.sum_xw, self.sum_xd, self.sum_wy, self.sum_wd)
        return self.has_covariate and self.has_ratio and all(v is not None for v in extra)

    @classmethod
    def from_samples(
        cls,
        y: ArrayLike,
        den: ArrayLike | None = None,
        x: ArrayLike | None = None,
        w: ArrayLike | None = None,
    ) -> ArmStats:
        """Sufficient statistics of one row from raw per-unit values (tests, examples); ``w`` needs ``den``, ``x``."""
        yv = np.asarray(y, dtype=np.float64)
        kwargs: dict[str, float] = {"n": float(yv.size), "sum": yv.sum(), "sum_sq": (yv * yv).sum()}
        if den is not None:
            dv = np.asarray(den, dtype=np.float64)
            kwargs |= {"sum_den": dv.sum(), "sum_den_sq": (dv * dv).sum(), "sum_num_den": (yv * dv).sum()}
        if x is not None:
            xv = np.asarray(x, dtype=np.float64)
            kwargs |= {"sum_x": xv.sum(), "sum_x_sq": (xv * xv).sum(), "sum_xy": (xv * yv).sum()}
        if x is not None and w is not None and den is not None:
            wv = np.asarray(w, dtype=np.float64)
            kwargs |= {"sum_w": wv.sum(), "sum_w_sq": (wv * wv).sum(), "sum_xw": (xv * wv).sum()}
            kwargs |= {"sum_xd": (xv * dv).sum(), "sum_wy": (wv * yv).sum(), "sum_wd": (wv * dv).sum()}
        return cls(**kwargs)  # type: ignore[arg-type]
