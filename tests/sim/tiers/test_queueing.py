"""Queueing formulas against textbook values, recursions and limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.tiers import queueing as q


def _erlang_b_recursive(c: int, a: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


@pytest.mark.parametrize("c,a", [(1, 0.5), (5, 3.0), (40, 35.0), (300, 280.0), (2000, 1990.0)])
def test_erlang_b_matches_the_recursion(c, a):
    assert float(q.erlang_b(c, a)) == pytest.approx(_erlang_b_recursive(c, a), rel=1e-9)


def test_erlang_c_textbook_values():
    assert float(q.erlang_c(1, 0.7)) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert float(q.erlang_c(10, 9.0)) == pytest.approx(0.668732, rel=1e-5)
    assert float(q.erlang_c(2, 1.0)) == pytest.approx(1 / 3)  # M/M/2: 2 rho^2 / (1 + rho)
    assert float(q.mean_wait(9.0, 1.0, 10)) == pytest.approx(0.668732, rel=1e-5)


def test_stable_for_a_hundred_thousand_servers():
    loads = np.array([90_000.0, 99_000.0, 99_900.0, 99_990.0])
    pw = q.erlang_c(100_000, loads)
    assert np.all(np.isfinite(pw)) and np.all((pw >= 0) & (pw <= 1))
    assert np.all(np.diff(pw) > 0)
    # square-root staffing: c = a + beta·sqrt(a) keeps P(wait) near the Halfin-Whitt value
    beta = (100_000 - 99_000) / math.sqrt(99_000)
    phi = math.exp(-beta**2 / 2) / math.sqrt(2 * math.pi)
    halfin_whitt = 1 / (1 + beta * (0.5 * (1 + math.erf(beta / math.sqrt(2)))) / phi)
    assert float(pw[1]) == pytest.approx(halfin_whitt, abs=0.01)


def test_unstable_load_waits_forever():
    assert float(q.erlang_c(4, 4.0)) == 1.0
    assert math.isinf(float(q.mean_wait(10.0, 0.5, 4)))
    assert math.isinf(float(q.response_percentile(0.95, 10.0, 0.5, 4)))
    assert float(q.wait_tail(100.0, 10.0, 0.5, 4)) == 1.0


def test_mm1_response_is_exponential():
    lam, mu = 6.0, 10.0
    for p in (0.5, 0.95, 0.99):
        expected = -math.log(1 - p) / (mu - lam)
        assert float(q.response_percentile(p, lam, 1 / mu, 1)) == pytest.approx(expected, rel=1e-5)


def test_percentile_inverts_the_tail():
    lam, s, c = np.array([5.0, 80.0, 900.0]), np.array([0.1, 0.05, 1.0]), np.array([1, 5, 1000])
    for p in (0.5, 0.95, 0.99):
        x = q.response_percentile(p, lam, s, c)
        np.testing.assert_allclose(q.response_tail(x, lam, s, c), 1 - p, rtol=1e-4)


def test_sum_of_exponentials_is_continuous_where_the_rates_meet():
    t = np.array([0.5, 1.0, 3.0])
    equal = q.exp_plus_exp_tail(t, 2.0, 2.0)
    np.testing.assert_allclose(equal, (1 + 2.0 * t) * np.exp(-2.0 * t), rtol=1e-9)
    np.testing.assert_allclose(q.exp_plus_exp_tail(t, 2.0, 2.0 + 1e-7), equal, rtol=1e-6)
    np.testing.assert_allclose(q.exp_plus_exp_tail(t, 2.0, 1e-3), q.exp_plus_exp_tail(
        t, 1e-3, 2.0), rtol=1e-9)


def test_deterministic_service_halves_the_wait():
    assert float(q.mean_wait(8.0, 0.1, 1, scv=0.0)) == pytest.approx(
        float(q.mean_wait(8.0, 0.1, 1)) / 2)  # Pollaczek-Khinchine, exact for M/D/1


def test_many_servers_wait_far_less_at_the_same_utilisation():
    """Why tiers run at full scale: at 90%, M/M/10 waits ~30x longer than M/M/100."""
    small = float(q.mean_wait(9.0, 1.0, 10))
    large = float(q.mean_wait(90.0, 1.0, 100))
    assert small / large == pytest.approx(30.8, rel=0.01)


def test_fluid_backlog_matches_the_recursion():
    rng = np.random.default_rng(1)
    load = rng.uniform(0, 2, 500)
    start, lost = q.fluid_backlog(load, 1.0, 60.0, initial=5.0)
    level, expected = 5.0, []
    for a in load:
        expected.append(level)
        level = max(0.0, level + (a - 1.0) * 60.0)
    np.testing.assert_allclose(start, expected, atol=1e-6)
    assert not lost.any()
    capped, lost = q.fluid_backlog(load, 1.0, 60.0, cap=30.0)
    assert capped.max() <= 30.0 and lost.sum() > 0


def test_fluid_minute_drains_then_turns_stationary():
    share, w0, w1 = q.fluid_wait_range(np.array([30.0]), np.array([0.5]), 1.0)
    assert share[0] == pytest.approx(1.0) and w0[0] == 30.0 and w1[0] == pytest.approx(0.0)
    share, w0, w1 = q.fluid_wait_range(np.array([15.0]), np.array([0.5]), 1.0)
    assert share[0] == pytest.approx(0.5)  # 15 s of wait drains at 0.5 s/s in 30 s


@given(c=st.integers(1, 5000), rho=st.floats(0.0, 0.999))
def test_erlang_c_is_a_probability_above_erlang_b(c, rho):
    b = float(q.erlang_b(c, rho * c))
    pw = float(q.erlang_c(c, rho * c))
    assert 0.0 <= b <= pw <= 1.0 + 1e-12
