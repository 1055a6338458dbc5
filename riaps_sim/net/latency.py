"""Link latency distributions: constant, uniform, truncated normal, lognormal and measured samples.

Every distribution draws from a generator it is handed (the link's own, seeded from the network
seed), never from the global ``random``. ``mean`` is what routing weighs paths by; ``constant``
lets the hot path skip sampling altogether.

Re-exported from :mod:`riaps_sim.net`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Latency", "Constant", "Uniform", "TruncatedNormal", "LogNormal", "Empirical", "as_latency"]


class Latency:
    """A one-way delay distribution, in seconds.

    Subclasses implement ``sample(rng)`` and ``mean``; ``constant`` is true only for ``Constant``.
    """

    __slots__ = ()
    constant = False

    @property
    def mean(self) -> float:
        """The expected delay in seconds; routing prefers the path with the smallest sum of means."""
        raise NotImplementedError

    def sample(self, rng: random.Random) -> float:
        """Draw one delay in seconds (never negative) from *rng*."""
        raise NotImplementedError


def _check_non_negative(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Constant(Latency):
    """Always *delay* seconds."""

    delay: float
    constant = True

    def __post_init__(self) -> None:
        _check_non_negative("Constant delay", self.delay)

    @property
    def mean(self) -> float:
        return float(self.delay)

    def sample(self, rng: random.Random) -> float:
        return float(self.delay)


@dataclass(frozen=True, slots=True)
class Uniform(Latency):
    """Uniformly between *low* and *high* seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_non_negative("Uniform low", self.low)
        _check_non_negative("Uniform high", self.high)
        if self.high < self.low:
            raise ValueError(f"Uniform needs low <= high, got low={self.low!r} high={self.high!r}; swap them")

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()


@dataclass(frozen=True, slots=True)
class TruncatedNormal(Latency):
    """Normal with *mu* and *sigma* seconds, redrawn until it falls within [*low*, *high*].

    ``mean`` reports *mu*, the nominal mean; truncation shifts the true mean a little when the
    bounds are within a few sigma.
    """

    mu: float
    sigma: float
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        _check_non_negative("TruncatedNormal mu", self.mu)
        _check_non_negative("TruncatedNormal sigma", self.sigma)
        _check_non_negative("TruncatedNormal low", self.low)
        if not self.low <= self.mu <= self.high:
            raise ValueError(f"TruncatedNormal needs low <= mu <= high, got low={self.low!r} mu={self.mu!r} high={self.high!r}")

    @property
    def mean(self) -> float:
        return float(self.mu)

    def sample(self, rng: random.Random) -> float:
        for _ in range(64):
            value = rng.gauss(self.mu, self.sigma)
            if self.low <= value <= self.high:
                return value
        return float(self.mu)  # bounds far in the tail: give up drawing, keep the nominal mean


@dataclass(frozen=True, slots=True)
class LogNormal(Latency):
    """*shift* + a lognormal delay whose median is *median* seconds and log-spread *sigma*.

    Heavy-tailed like measured network delays: most messages near the median, a few much later.
    """

    median: float
    sigma: float
    shift: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.median, (int, float)) or not self.median > 0:
            raise ValueError(f"LogNormal median must be > 0 seconds, got {self.median!r}")
        _check_non_negative("LogNormal sigma", self.sigma)
        _check_non_negative("LogNormal shift", self.shift)

    @property
    def mean(self) -> float:
        return self.shift + self.median * math.exp(self.sigma * self.sigma / 2.0)

    def sample(self, rng: random.Random) -> float:
        return self.shift + rng.lognormvariate(math.log(self.median), self.sigma)


@dataclass(frozen=True, slots=True)
class Empirical(Latency):
    """One of *samples* (seconds, e.g. measured round trips halved), drawn uniformly with replacement."""

    samples: Sequence[float] = field(default=())

    def __post_init__(self) -> None:
        values = tuple(float(s) for s in self.samples)
        if not values:
            raise ValueError("Empirical needs at least one sample in seconds, got none")
        for s in values:
            _check_non_negative("Empirical sample", s)
        object.__setattr__(self, "samples", values)

    @property
    def mean(self) -> float:
        return math.fsum(self.samples) / len(self.samples)

    def sample(self, rng: random.Random) -> float:
        samples = self.samples
        return samples[int(rng.random() * len(samples))]


def as_latency(value: Latency | float | int) -> Latency:
    """*value* as a ``Latency``: a number of seconds becomes ``Constant(value)``."""
    if isinstance(value, Latency):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(float(value))
    raise TypeError(f"latency must be a number of seconds or a Latency (Constant, Uniform, TruncatedNormal, LogNormal, Empirical), got {value!r}")
