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
    [{"kind": "exponential", "mean": -1}, {"kind": "uniform", "low": 3, "high": 1}, {"kind": "pareto"}],
)
def test_bad_parameters_are_refused(spec):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(spec)
