"""Every distribution's exact mean and variance agree with its samples."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from domain.distributions import Distribution

CASES = [
    {"kind": "deterministic", "value": 4},
    {"kind": "exponential", "mean": 2.5},
    {"kind": "uniform", "low": 1, "high": 4},
    {"kind": "lognormal", "mean": 38, "sd": 22},
    {"kind": "gamma", "mean": 3, "sd": 2},
    {"kind": "hyperexponential", "mean": 2, "scv": 4},
    {"kind": "hyperexponential", "mean": 2, "scv": 4, "p": 0.1},
    {"kind": "empirical", "samples": [0.5, 1.5, 1.0, 7.0, 0.0]},
]
ADAPTER = TypeAdapter(Distribution)


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s["kind"])
def test_samples_match_exact_moments(spec):
    dist = ADAPTER.validate_python(spec)
    draws = dist.sample(np.random.default_rng(11), 400_000)
    n = len(draws)
    assert abs(draws.mean() - dist.mean) <= 5 * np.sqrt(dist.variance / n) + 1e-12
    assert draws.var() == pytest.approx(dist.variance, rel=0.03, abs=1e-12)


def test_same_seed_same_draws():
    dist = ADAPTER.validate_python(CASES[3])
    a = dist.sample(np.random.default_rng(5), 10)
    b = dist.sample(np.random.default_rng(5), 10)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "spec",
    [{"kind": "exponential", "mean": -1}, {"kind": "uniform", "low": 3, "high": 1}, {"kind": "pareto"},
     {"kind": "hyperexponential", "mean": 1, "scv": 0.5},
     {"kind": "hyperexponential", "mean": 1, "scv": 9, "p": 0.95},  # second phase mean < 0
     {"kind": "empirical", "samples": [1.0]}, {"kind": "empirical", "samples": [0, 0]}],
)
def test_bad_parameters_are_refused(spec):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(spec)


def test_empirical_moments_are_the_samples_own():
    dist = ADAPTER.validate_python({"kind": "empirical", "samples": [1, 2, 3, 6]})
    assert dist.mean == 3.0
    assert dist.variance == pytest.approx(((1 - 3) ** 2 + 1 + 0 + 9) / 4)


@pytest.mark.parametrize("spec", [
    {"kind": "lognormal", "scv": 4}, {"kind": "gamma", "scv": 0.25},
    {"kind": "hyperexponential", "scv": 4}, {"kind": "hyperexponential", "scv": 2.5, "p": 0.3},
    {"kind": "empirical", "samples": [3, 5, 10, 30]},
], ids=lambda s: s["kind"])
def test_service_shapes_have_mean_one_and_their_scv(spec):
    from domain.distributions import ServiceShape

    shape = TypeAdapter(ServiceShape).validate_python(spec)
    unit = shape.unit()
    assert unit.mean == pytest.approx(1.0)
    scv = spec.get("scv", unit.variance)
    assert shape.second_moment() == pytest.approx(1.0 + scv)
    draws = unit.sample(np.random.default_rng(3), 400_000)
    assert draws.mean() == pytest.approx(1.0, rel=0.02)
    assert (draws**2).mean() == pytest.approx(1.0 + scv, rel=0.06)
