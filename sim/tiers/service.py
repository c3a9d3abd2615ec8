"""Service-time distributions of a pool tier, as the queueing formulas need them.

A tier's ``service`` is ``exponential``, ``deterministic`` or a shape from
``domain.distributions`` (lognormal, gamma, hyperexponential, empirical): a mean-1
distribution multiplied by each endpoint's mean demand. The pool model needs, for a request
of mean demand ``d``:

- E[S²]/d² (the Allen-Cunneen / Pollaczek-Khinchine correction, 1 + scv);
- P(S > x) and a quantile of S (bounds for the percentile search);
- P(W + S > x) with W exponential (the conditional wait) and P(U + S > x) with U uniform
  (the fluid part of an overloaded minute).

Exponential and deterministic keep their closed forms (``sim.tiers.pool``); the
hyperexponential is a mix of two exponentials, so its convolutions are closed forms too; the
lognormal, gamma and empirical shapes integrate over ``NODES`` equal-probability quantiles of
S (an empirical shape with fewer samples uses the samples themselves, exactly).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats

from domain.distributions import (
    EmpiricalShape,
    GammaShape,
    HyperexponentialShape,
    LognormalShape,
)

NODES = 512  # quantile nodes of S for the lognormal and gamma convolutions
Service = str | LognormalShape | GammaShape | HyperexponentialShape | EmpiricalShape


def second_moment(service: Service) -> float:
    """E[S²] / E[S]²."""
    if service == "exponential":
        return 2.0
    if service == "deterministic":
        return 1.0
    return float(service.second_moment())  # type: ignore[union-attr]


def draw(service: Service, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` mean-1 service times (multiply by each request's demand)."""
    if service == "exponential":
        return rng.exponential(1.0, size)
    if service == "deterministic":
        return np.ones(size)
    return np.asarray(service.unit().sample(rng, size), float)  # type: ignore[union-attr]


@functools.lru_cache(maxsize=32)
def _frozen(service: LognormalShape | GammaShape):
    unit = service.unit()
    if isinstance(service, LognormalShape):
        mu, sigma = unit._log_params()  # type: ignore[union-attr]
        return stats.lognorm(s=sigma, scale=np.exp(mu))
    shape = 1.0 / service.scv
    return stats.gamma(a=shape, scale=1.0 / shape)


@functools.lru_cache(maxsize=32)
def nodes(service: Service) -> np.ndarray:
    """Equally likely values of the mean-1 service (for the convolutions)."""
    if isinstance(service, EmpiricalShape) and len(service.samples) <= 4 * NODES:
        return np.sort(np.asarray(service.unit().samples, float))
    u = (np.arange(NODES) + 0.5) / NODES
    if isinstance(service, EmpiricalShape):
        return np.quantile(np.asarray(service.unit().samples, float), u)
    if isinstance(service, HyperexponentialShape):  # invert its closed-form tail on a fine grid
        grid = np.geomspace(1e-9, 200.0, 20_000)
        return np.interp(u, 1.0 - unit_tail(service, grid), grid)
    return np.asarray(_frozen(service).ppf(u), float)  # type: ignore[arg-type]


def unit_tail(service: Service, u: np.ndarray) -> np.ndarray:
    """P(S > u) for the mean-1 shape (general shapes only)."""
    u = np.asarray(u, float)
    if isinstance(service, HyperexponentialShape):
        p, m1, m2 = service.unit().phases()
        return p * np.exp(-u / m1) + (1.0 - p) * np.exp(-u / m2)
    if isinstance(service, EmpiricalShape):
        values = nodes(service)
        return 1.0 - np.searchsorted(values, u, side="right") / values.size
    return np.asarray(_frozen(service).sf(u), float)  # type: ignore[arg-type]


def unit_quantile(service: Service, probability: float) -> float:
    if service == "exponential":
        return float(-np.log(1.0 - probability))
    if service == "deterministic":
        return 1.0
    if isinstance(service, HyperexponentialShape):
        p, m1, m2 = service.unit().phases()
        return float(-np.log(1.0 - probability) * max(m1, m2))  # an upper bound: enough here
    return float(np.quantile(nodes(service), probability))


def exp_wait_plus_service_tail(service: Service, x: np.ndarray, d: float,
                               theta: np.ndarray) -> np.ndarray:
    """P(Wc + S > x) for Wc ~ Exp(theta) and the general service of mean ``d``."""
    from sim.tiers.queueing import exp_plus_exp_tail

    x = np.asarray(x, float)
    if isinstance(service, HyperexponentialShape):
        p, m1, m2 = service.unit().phases()
        return (p * exp_plus_exp_tail(x, 1.0 / (m1 * d), theta)
                + (1.0 - p) * exp_plus_exp_tail(x, 1.0 / (m2 * d), theta))
    s = nodes(service) * d
    gap = x[..., None] - s
    theta = np.asarray(theta, float)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        waited = np.where(gap > 0, np.exp(-theta * np.maximum(gap, 0.0)), 1.0)
    return np.clip(waited.mean(axis=-1), 0.0, 1.0)


def uniform_plus_service_tail(service: Service, x: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                              d: float) -> np.ndarray:
    """P(U + S > x) for U uniform on [lo, hi] and the general service of mean ``d``."""
    x, lo, hi = (np.asarray(v, float)[..., None] for v in (x, lo, hi))
    s = nodes(service) * d
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.clip((hi - (x - s)) / width, 0.0, 1.0)
    point = np.where(x - s < lo, 1.0, 0.0)
    return np.where(width <= 1e-12, point, spread).mean(axis=-1)
