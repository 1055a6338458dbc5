"""Distributions of measured times: summaries, fits, and the two-sample Kolmogorov-Smirnov distance.

Pure functions over lists of seconds, with no dependency beyond the standard library (scipy is
not needed for one statistic). ``fit`` turns samples into a ``riaps_sim.net`` latency: the
*empirical* fit keeps evenly spaced quantiles (so drawing uniformly from them reproduces the
measured distribution within one quantile step), the *lognormal* fit a shifted lognormal.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..net.latency import Constant, Empirical, Latency, LogNormal

__all__ = ["Spread", "FITS", "fit", "quantile", "quantiles", "ks_distance", "ks_threshold"]

#: The ways ``fit`` can turn samples into a distribution.
FITS = ("empirical", "lognormal")

#: At most this many values stand for an empirical distribution in a calibration file.
EMPIRICAL_POINTS = 200


def quantile(values: Sequence[float], q: float) -> float:
    """The *q*-quantile (0..1) of *values*, interpolated linearly between order statistics."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def quantiles(values: Sequence[float], points: int) -> list[float]:
    """*points* quantiles of *values* at the middles of equal probability bins: ``(i + 0.5) / points``."""
    ordered = sorted(values)
    return [quantile(ordered, (i + 0.5) / points) for i in range(points)]


@dataclass(frozen=True, slots=True)
class Spread:
    """How a measured quantity spread: *count* samples, their median, 90th percentile and maximum, in seconds."""

    count: int
    p50: float
    p90: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of *values* (at least one)."""
        if not values:
            raise ValueError("a spread needs at least one sample")
        return cls(len(values), quantile(values, 0.5), quantile(values, 0.9), max(values))

    def __str__(self) -> str:
        return f"n={self.count} p50 {self.p50 * 1000:.3f} ms, p90 {self.p90 * 1000:.3f} ms, max {self.max * 1000:.3f} ms"


def fit(values: Sequence[float], kind: str = "empirical") -> Latency:
    """A distribution for the samples *values* (seconds, >= 0): ``empirical`` quantiles or a shifted ``lognormal``.

    All samples equal give a ``Constant``. Raises ``ValueError`` for no samples or an unknown *kind*.
    """
    if kind not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {kind!r}")
    if not values:
        raise ValueError("cannot fit a distribution to no samples")
    clean = [max(0.0, float(v)) for v in values]
    low, high = min(clean), max(clean)
    if high - low < 1e-9:
        return Constant(low)
    if kind == "empirical":
        points = min(EMPIRICAL_POINTS, len(clean))
        return Empirical([round(v, 7) for v in quantiles(clean, points)])
    # shifted lognormal: the shift just below the smallest sample, median and spread of the logs of the rest
    shift = max(0.0, low - 0.05 * (quantile(clean, 0.5) - low))
    logs = [math.log(v - shift) for v in clean if v - shift > 0]
    median = math.exp(statistics.median(logs))
    sigma = statistics.pstdev(logs) if len(logs) > 1 else 0.0
    return LogNormal(median=median, sigma=sigma, shift=shift)


def ks_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs of *a* and *b* (0..1)."""
    if not a or not b:
        raise ValueError("the KS distance needs samples on both sides")
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    gap = 0.0
    while i < len(xs) and j < len(ys):
        value = min(xs[i], ys[j])
        while i < len(xs) and xs[i] == value:
            i += 1
        while j < len(ys) and ys[j] == value:
            j += 1
        gap = max(gap, abs(i / len(xs) - j / len(ys)))
    return gap


def ks_threshold(n: int, m: int, alpha: float = 0.05) -> float:
    """The KS distance above which samples of sizes *n* and *m* differ at level *alpha* (asymptotic formula)."""
    if n < 1 or m < 1:
        raise ValueError(f"sample sizes must be >= 1, got {n} and {m}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    c = math.sqrt(-math.log(alpha / 2) / 2)
    return c * math.sqrt((n + m) / (n * m))
