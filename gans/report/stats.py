"""Seed statistics: the mean over training seeds with a 95% Student-t confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

from scipy import stats


@dataclass(frozen=True)
class MeanCI:
    """Mean of n values and the half-width of its CI (None when n < 2: no interval exists)."""

    mean: Optional[float]
    half_width: Optional[float]
    n: int

    @property
    def has_ci(self) -> bool:
        return self.half_width is not None


def mean_ci(values: Iterable[Optional[float]], level: float = 0.95) -> MeanCI:
    """Mean and Student-t CI half-width t((1+level)/2, n-1) * s / sqrt(n) of the finite values.

    Missing (None/NaN) values are left out, so n counts the seeds that produced a number.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return MeanCI(None, None, 0)
    mean = sum(finite) / n
    if n == 1:
        return MeanCI(mean, None, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    t = float(stats.t.ppf((1 + level) / 2, n - 1))
    return MeanCI(mean, t * sd / math.sqrt(n), n)
