"""Probability distributions used by scenario files.

Every distribution shares one interface: an exact ``mean`` and ``variance`` and
``sample(rng, size)`` drawing from a caller-owned ``numpy.random.Generator``
(never a global one, so each model stream is seeded on its own).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def variance(self) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        raise NotImplementedError


class _ByMean(_Distribution):
    """A distribution parameterised by its own mean (written ``mean`` in scenario files)."""

    mean_: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_


class _ByMeanAndSd(_ByMean):
    sd: PositiveFloat

    @property
    def variance(self) -> float:
        return self.sd**2


class Deterministic(_Distribution):
    kind: Literal["deterministic"] = "deterministic"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        return self.value if size is None else np.full(size, self.value)


class Exponential(_ByMean):
    kind: Literal["exponential"] = "exponential"

    @property
    def variance(self) -> float:
        return self.mean_**2

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        return rng.exponential(self.mean_, size)


class Uniform(_Distribution):
    kind: Literal["uniform"] = "uniform"
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        return rng.uniform(self.low, self.high, size)


class Lognormal(_ByMeanAndSd):
    """Parameterised by its own mean and standard deviation (not the log's)."""

    kind: Literal["lognormal"] = "lognormal"

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        mu, sigma = self._log_params()
        return rng.lognormal(mu, sigma, size)


class Gamma(_ByMeanAndSd):
    """Parameterised by mean and standard deviation."""

    kind: Literal["gamma"] = "gamma"

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        shape = (self.mean_ / self.sd) ** 2
        return rng.gamma(shape, self.variance / self.mean_, size)


class Hyperexponential(_ByMean):
    """Two exponential phases (H2), chosen with probabilities p and 1 - p; parameterised by its
    mean and squared coefficient of variation ``scv`` >= 1. Without ``p`` the phases have
    balanced means (p/mu1 = (1-p)/mu2, the usual fit of a two-moment H2); with ``p`` the phase
    rates are solved from the two moments for that p."""

    kind: Literal["hyperexponential"] = "hyperexponential"
    scv: float = Field(ge=1)
    p: Annotated[float, Field(gt=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _feasible(self) -> Hyperexponential:
        if self.p is not None and self.scv > 1:
            # the second phase's mean must stay positive: (1 - p)·m2 = 1 - p·m1 > 0
            if self._phase_means()[1] <= 0:
                raise ValueError(f"no two-phase fit with p={self.p} and scv={self.scv}")
        return self

    @property
    def variance(self) -> float:
        return self.scv * self.mean_**2

    def phases(self) -> tuple[float, float, float]:
        """(p, mean of phase 1, mean of phase 2), both means in the distribution's units."""
        m1, m2 = self._phase_means()
        return self._p(), m1 * self.mean_, m2 * self.mean_

    def _p(self) -> float:
        if self.p is not None:
            return self.p
        return 0.5 * (1.0 + math.sqrt((self.scv - 1.0) / (self.scv + 1.0)))

    def _phase_means(self) -> tuple[float, float]:
        """Phase means of the mean-1 distribution: p·m1 + (1-p)·m2 = 1 and
        2(p·m1² + (1-p)·m2²) = 1 + scv."""
        p = self._p()
        if self.p is None:
            return 1.0 / (2.0 * p), 1.0 / (2.0 * (1.0 - p))
        # m1 = 1 + sqrt((1-p)/p · (scv-1)/2), m2 = 1 - sqrt(p/(1-p) · (scv-1)/2)
        spread = (self.scv - 1.0) / 2.0
        return 1.0 + math.sqrt((1.0 - p) / p * spread), 1.0 - math.sqrt(p / (1.0 - p) * spread)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        p, m1, m2 = self.phases()
        first = rng.random(size) < p
        return rng.exponential(1.0, size) * np.where(first, m1, m2)


class Empirical(_Distribution):
    """Measured values, drawn with equal probability (resampling); mean and variance are those
    of the sample itself (divisor n: this *is* the distribution, not an estimate of one)."""

    kind: Literal["empirical"] = "empirical"
    samples: tuple[Annotated[float, Field(ge=0)], ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _positive_mean(self) -> Empirical:
        if not any(v > 0 for v in self.samples):
            raise ValueError("samples are all 0")
        return self

    @property
    def mean(self) -> float:
        return math.fsum(self.samples) / len(self.samples)

    @property
    def variance(self) -> float:
        m = self.mean
        return math.fsum((v - m) ** 2 for v in self.samples) / len(self.samples)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        return rng.choice(np.asarray(self.samples, float), size)


Distribution = Annotated[
    Deterministic | Exponential | Uniform | Lognormal | Gamma | Hyperexponential | Empirical,
    Field(discriminator="kind"),
]


# --- service-time shapes ----------------------------------------------------------------------


class _Shape(BaseModel):
    """The shape of a tier's service time around each endpoint's mean demand: a mean-1
    distribution, multiplied by the endpoint's ``demand_ms``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def unit(self) -> Lognormal | Gamma | Hyperexponential | Empirical:
        raise NotImplementedError

    def second_moment(self) -> float:
        """E[S²] of the mean-1 shape: 1 + scv."""
        unit = self.unit()
        return 1.0 + unit.variance / unit.mean**2


class LognormalShape(_Shape):
    kind: Literal["lognormal"] = "lognormal"
    scv: PositiveFloat

    def unit(self) -> Lognormal:
        return Lognormal(mean=1.0, sd=math.sqrt(self.scv))


class GammaShape(_Shape):
    kind: Literal["gamma"] = "gamma"
    scv: PositiveFloat

    def unit(self) -> Gamma:
        return Gamma(mean=1.0, sd=math.sqrt(self.scv))


class HyperexponentialShape(_Shape):
    kind: Literal["hyperexponential"] = "hyperexponential"
    scv: float = Field(ge=1)
    p: Annotated[float, Field(gt=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _feasible(self) -> HyperexponentialShape:
        self.unit()  # raises when no two-phase fit has this p and scv
        return self

    def unit(self) -> Hyperexponential:
        return Hyperexponential(mean=1.0, scv=self.scv, p=self.p)


class EmpiricalShape(_Shape):
    """Measured service times (any unit): only their shape is kept, scaled to each endpoint's
    mean (samples / their mean)."""

    kind: Literal["empirical"] = "empirical"
    samples: tuple[Annotated[float, Field(ge=0)], ...] = Field(min_length=2)

    def unit(self) -> Empirical:
        measured = Empirical(samples=self.samples)
        return Empirical(samples=[v / measured.mean for v in self.samples])

    @property
    def scv(self) -> float:
        unit = self.unit()
        return unit.variance / unit.mean**2


ServiceShape = Annotated[
    LognormalShape | GammaShape | HyperexponentialShape | EmpiricalShape, Field(discriminator="kind")
]
