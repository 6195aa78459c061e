"""Seed statistics: the mean over training seeds and an interval that fits their number.

A Student-t interval from two seeds is mostly t(0.975, 1) = 12.7: "FID 125 ± 159", accuracies
above 1 and error bars below 0. So fewer than STUDENT_T_MIN_SEEDS seeds give what they can
honestly give, the range (min–max) of the seeds' values; 5 or more give the 95% Student-t
interval of the mean. Either is clipped to the metric's domain (gans.metrics.registry): an
interval reaching values the metric cannot take says nothing about it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

from scipy import stats

from gans.metrics.registry import ANY_REAL, Domain

STUDENT_T_MIN_SEEDS = 5
CLASSIFIER = "classifier"  # the dataset's own classifier (gans.metrics.extractors)
LEVEL = 0.95
# How an Interval was made.
NO_VALUE = "none"          # no seed gave a number
SINGLE = "single"          # one seed: its value, no interval
RANGE = "range"            # 2-4 seeds: min–max of their values
STUDENT_T = "student-t"    # 5+ seeds: 95% Student-t interval of the mean, clipped to the domain


@dataclass(frozen=True)
class Interval:
    """The mean of n seeds' values and an interval [lo, hi] around it, made by `method`
    (lo and hi are None without an interval: no value or one seed)."""

    mean: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    n: int
    method: str

    @property
    def has_interval(self) -> bool:
        return self.lo is not None


def seed_interval(values: Iterable[Optional[float]], domain: Domain = ANY_REAL,
                  num_classes: Optional[int] = None) -> Interval:
    """Mean and interval of the finite values: their range below 5 values, the 95% Student-t
    interval t(0.975, n-1) * s / sqrt(n) from 5 on, both clipped to `domain` (a bound in K is
    resolved with `num_classes`, left open when that is unknown).

    Missing (None/NaN) values are left out, so n counts the seeds that produced a number.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return Interval(None, None, None, 0, NO_VALUE)
    mean = sum(finite) / n
    if n == 1:
        return Interval(mean, None, None, 1, SINGLE)
    if n < STUDENT_T_MIN_SEEDS:
        lo, hi, method = min(finite), max(finite), RANGE
    else:
        sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
        half_width = float(stats.t.ppf((1 + LEVEL) / 2, n - 1)) * sd / math.sqrt(n)
        lo, hi, method = mean - half_width, mean + half_width, STUDENT_T
    low, high = domain.known_bounds(num_classes)
    return Interval(mean, min(max(lo, low), high), max(min(hi, high), low), n, method)


def describe(intervals: Iterable[Optional[Interval]]) -> str:
    """What the cells or bars made of these intervals show, for a caption: e.g. "mean and range
    (min–max) over the 2 seeds"; every method used is named, with its numbers of seeds."""
    seeds: dict[str, set[int]] = {}
    for interval in intervals:
        if isinstance(interval, Interval):  # not None (n/a) nor a table's NaN
            seeds.setdefault(interval.method, set()).add(interval.n)

    def over(method: str) -> str:
        low, high = min(seeds[method]), max(seeds[method])
        return f"over the {low} seeds" if low == high else f"over {low} to {high} seeds"

    parts = []
    if STUDENT_T in seeds:
        parts.append(f"mean and {LEVEL:.0%} Student-t interval [lo, hi] {over(STUDENT_T)}, "
                     "clipped to the metric's domain")
    if RANGE in seeds:
        parts.append(f"mean and range (min–max) {over(RANGE)}")
    if SINGLE in seeds:
        parts.append("one seed: the value alone" if parts else "the value of the one seed")
    return "; ".join(parts) if parts else "no values"


def class_count(dataset: str, extractor: str) -> Optional[int]:
    """K of the domains written in K (IS up to K, modes covered up to K, reverse KL up to log K):
    the dataset's modes on toy data and its classes under its own classifier; None (the bound is
    left open) under other extractors, whose logits have classes of their own."""
    from gans.data import DATASETS
    from gans.layout import TOY_EXTRACTOR

    if extractor not in (TOY_EXTRACTOR, CLASSIFIER) or dataset not in DATASETS:
        return None
    return DATASETS.get(dataset).num_classes or None


@dataclass(frozen=True)
class MeanError:
    """The mean of n values and its standard error s / sqrt(n) (None below two values)."""

    mean: Optional[float]
    se: Optional[float]
    n: int


def mean_standard_error(values: Iterable[Optional[float]]) -> MeanError:
    """Mean and standard error of the finite values (the toy papers' "mean +- s.e." over runs);
    missing (None/NaN) values are left out."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return MeanError(None, None, 0)
    mean = sum(finite) / n
    if n == 1:
        return MeanError(mean, None, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    return MeanError(mean, sd / math.sqrt(n), n)
