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


Distribution = Annotated[
    Deterministic | Exponential | Uniform | Lognormal | Gamma, Field(discriminator="kind")
]
