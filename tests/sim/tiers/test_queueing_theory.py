"""sim/tiers/queueing.py against queueing theory computed here independently: Erlang B and C
from their finite sums, M/M/1 and M/M/c closed forms, Pollaczek-Khinchine for M/G/1, the
M/M/c response time by numerical convolution (scipy.integrate.quad), and the deterministic
service's shifted tail. None of these oracles calls the module under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from sim.tiers import queueing as q


def erlang_b_sum(c: int, a: float) -> float:
    """B(c, a) = (a^c / c!) / sum_{k<=c} a^k / k!."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def erlang_c_sum(c: int, a: float) -> float:
    """C(c, a) = (a^c / c! · c / (c - a)) / (sum_{k<c} a^k / k! + a^c / c! · c / (c - a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_response_tail(t: float, lam: float, s: float, c: int) -> float:
    """P(W + S > t) for M/M/c: W is 0 with probability 1 - C, else Exp(c·mu - lam); S ~ Exp(mu)."""
    mu, pw = 1 / s, erlang_c_sum(c, lam * s)
    theta = c * mu - lam
    waited, _ = quad(lambda w: theta * math.exp(-theta * w) * (math.exp(-mu * (t - w)) if w < t else 1.0),
                     0, max(t, 1e-12), limit=200)
    beyond = math.exp(-theta * t)  # waits longer than t alone exceed t
    return (1 - pw) * math.exp(-mu * t) + pw * (waited + beyond)


# --- utilisation, Erlang B and C ------------------------------------------------------------


def test_utilisation_is_arrivals_times_service_over_servers():
    assert float(q.utilisation(30.0, 0.2, 4)) == pytest.approx(1.5)
    np.testing.assert_allclose(q.utilisation([10.0, 2.0], [0.05, 3.0], [1, 2]), [0.5, 3.0])


@pytest.mark.parametrize(("c", "a"), [(1, 0.3), (2, 1.7), (7, 4.2), (12, 15.0), (30, 24.0)])
def test_erlang_b_and_c_against_their_sums(c, a):
    assert float(q.erlang_b(c, a)) == pytest.approx(erlang_b_sum(c, a), rel=1e-9)
    if a < c:
        assert float(q.erlang_c(c, a)) == pytest.approx(erlang_c_sum(c, a), rel=1e-9)


def test_erlang_b_at_no_load_and_infinite_load():
    assert float(q.erlang_b(5, 0.0)) == 0.0
    assert float(q.erlang_b(0, 0.0)) == 0.0  # no load, nothing blocked
    assert float(q.erlang_b(0, 2.0)) == 1.0  # no server blocks every arrival
    assert float(q.erlang_b(5, np.inf)) == 1.0
    assert float(q.erlang_c(5, 0.0)) == 0.0


@pytest.mark.parametrize("c", [1, 3, 20, 200, 2000, 20000])
@pytest.mark.parametrize("rho", [1.0, 1.05, 1.3, 1.6, 1.9, 1.999])
def test_erlang_c_is_one_at_and_beyond_saturation(c, rho):
    # no stationary state: every arrival waits (the closed form would give values outside [0, 1])
    assert float(q.erlang_c(c, rho * c)) == 1.0


# --- mean wait and its tail -----------------------------------------------------------------


@pytest.mark.parametrize(("lam", "s", "c"), [(0.5, 1.0, 1), (8.0, 0.1, 1), (3.0, 1.0, 4), (45.0, 0.2, 10)])
def test_mmc_mean_wait_closed_form(lam, s, c):
    expected = erlang_c_sum(c, lam * s) / (c / s - lam)  # W_q = C / (c·mu - lambda)
    assert float(q.mean_wait(lam, s, c)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("scv", [0.0, 0.25, 1.0, 2.5])
def test_mg1_mean_wait_is_pollaczek_khinchine(scv):
    lam, s = 6.0, 0.1  # rho = 0.6
    rho = lam * s
    # P-K: W_q = lambda E[S^2] / (2 (1 - rho)), E[S^2] = s^2 (1 + scv)
    expected = lam * s**2 * (1 + scv) / (2 * (1 - rho))
    assert float(q.mean_wait(lam, s, 1, scv=scv)) == pytest.approx(expected, rel=1e-9)


def test_mean_wait_without_arrivals_is_zero_and_saturated_is_infinite():
    assert float(q.mean_wait(0.0, 0.3, 2)) == 0.0
    assert math.isinf(float(q.mean_wait(10.0, 0.1, 1)))  # rho = 1 exactly
    assert math.isinf(float(q.mean_wait(1.2, 1.0, 1)))  # rho = 1.2: c·mu - lambda = -0.2
    assert math.isinf(float(q.mean_wait(12.0, 0.1, 1, scv=0.0)))


@pytest.mark.parametrize(("lam", "s", "c"), [(7.0, 0.1, 1), (3.0, 1.0, 4), (45.0, 0.2, 10), (0.5, 1.0, 1)])
@pytest.mark.parametrize("t", [0.0, 0.05, 0.4, 2.0])
def test_mmc_wait_tail_stable(lam, s, c, t):
    # P(W > t) = C · exp(-(c·mu - lambda) t)
    expected = erlang_c_sum(c, lam * s) * math.exp(-(c / s - lam) * t)
    assert float(q.wait_tail(t, lam, s, c)) == pytest.approx(expected, rel=1e-9)


def test_wait_tail_of_deterministic_service_decays_twice_as_fast():
    lam, s, t = 6.0, 0.1, 0.3
    rho = lam * s  # M/D/1: P(wait) = rho, conditional wait exponential with mean s / (2 (1 - rho))... x2 rate
    expected = rho * math.exp(-2 * (1 / s - lam) * t)
    assert float(q.wait_tail(t, lam, s, 1, scv=0.0)) == pytest.approx(expected, rel=1e-9)
    assert float(q.wait_tail(t, 12.0, s, 1)) == 1.0


# --- response time: exponential and deterministic service -----------------------------------


@pytest.mark.parametrize("p", [0.5, 0.95])
def test_mm1_response_percentile_with_long_service(p):
    lam, s = 0.45, 2.0  # rho = 0.9, mu - lambda = 0.05: the response time is Exp(0.05)
    expected = -math.log(1 - p) / (1 / s - lam)
    assert float(q.response_percentile(p, lam, s, 1)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("t", [0.0, 0.1, 0.5, 1.5])
def test_mm1_response_tail(t):
    lam, mu = 4.0, 10.0
    assert float(q.response_tail(t, lam, 1 / mu, 1)) == pytest.approx(math.exp(-(mu - lam) * t), rel=1e-9)


@pytest.mark.parametrize(("lam", "s", "c"), [(3.0, 1.0, 4), (45.0, 0.2, 10), (1.5, 1.0, 2)])
@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_mmc_response_tail_by_convolution(lam, s, c, t):
    assert float(q.response_tail(t, lam, s, c)) == pytest.approx(mmc_response_tail(t, lam, s, c), rel=1e-6)


@pytest.mark.parametrize("p", [0.5, 0.9, 0.99])
def test_mmc_response_percentile_by_convolution(p):
    lam, s, c = 3.0, 1.0, 4
    expected = brentq(lambda t: mmc_response_tail(t, lam, s, c) - (1 - p), 1e-9, 100.0, xtol=1e-12)
    assert float(q.response_percentile(p, lam, s, c)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("t", [0.0, 0.05, 0.0999, 0.1, 0.15, 0.6])
def test_deterministic_response_tail(t):
    lam, s = 6.0, 0.1  # M/D/1: every response takes s plus the wait
    rho, theta = lam * s, 2 * (1 / s - lam)  # Allen-Cunneen: C = rho at c = 1, rate (c·mu - lam)/((1+0)/2)
    expected = 1.0 if t < s else rho * math.exp(-theta * (t - s))
    assert float(q.response_tail(t, lam, s, 1, service="deterministic")) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("p", "lam"), [(0.5, 6.0), (0.95, 6.0), (0.99, 6.0), (0.95, 0.5), (0.99, 9.0)])
def test_deterministic_response_percentile(p, lam):
    s = 0.1
    rho, theta = lam * s, 2 * (1 / s - lam)
    # below s nobody is done; past s the tail is rho·exp(-theta (t - s)); at s it drops to rho
    expected = s if rho <= 1 - p else s + math.log(rho / (1 - p)) / theta
    got = float(q.response_percentile(p, lam, s, 1, service="deterministic"))
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("t", [0.5, 1.0, 3.0, 20.0])
def test_deterministic_response_tail_near_saturation(t):
    lam, s = 0.9, 1.0  # rho = 0.9: the conditional wait decays at 2 (mu - lambda) = 0.2 per second
    expected = 1.0 if t < s else 0.9 * math.exp(-0.2 * (t - s))
    assert float(q.response_tail(t, lam, s, 1, service="deterministic")) == pytest.approx(expected, rel=1e-9)


def test_deterministic_response_is_infinite_when_saturated():
    assert float(q.response_tail(5.0, 10.0, 0.1, 1, service="deterministic")) == 1.0
    assert math.isinf(float(q.response_percentile(0.95, 10.0, 0.1, 1, service="deterministic")))


def test_response_percentiles_vectorised_match_one_by_one():
    lam, s, c = np.array([4.0, 45.0]), np.array([0.1, 0.2]), np.array([1, 10])
    together = q.response_percentile(0.95, lam, s, c)
    alone = [float(q.response_percentile(0.95, lam[i], s[i], c[i])) for i in range(2)]
    np.testing.assert_allclose(together, alone, rtol=1e-9)
    assert together[0] == pytest.approx(-math.log(0.05) / (10 - 4), rel=1e-4)


# --- the sum of two exponentials and the quantile search -------------------------------------


@pytest.mark.parametrize(("a", "b"), [(1.0, 3.0), (3.0, 1.0), (0.2, 50.0), (50.0, 0.2), (2.0, 2.000001)])
@pytest.mark.parametrize("t", [0.0, 0.3, 2.0, 40.0])
def test_exp_plus_exp_tail_is_hypoexponential(a, b, t):
    if abs(a - b) < 1e-3:
        expected = math.exp(-a * t) * (1 + a * t)  # Erlang-2 limit
    else:
        expected = (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)
    assert float(q.exp_plus_exp_tail(t, a, b)) == pytest.approx(expected, rel=1e-4, abs=1e-300)


def test_exp_plus_exp_tail_of_slow_rates_far_out():
    # rates 1e-6 and 1e-3 at t = 1e6: neither approximation of the equal-rates case applies
    a, b, t = 1e-6, 1e-3, 1e6
    expected = (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)
    assert float(q.exp_plus_exp_tail(t, a, b)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("service", ["exponential", "deterministic"])
def test_response_percentile_just_past_saturation_is_infinite(service):
    # rho = 1.2: c·mu - lambda = -0.2, no stationary state
    assert math.isinf(float(q.response_percentile(0.95, 1.2, 1.0, 1, service=service)))


def test_exp_plus_exp_tail_at_infinity_is_zero():
    tail = q.exp_plus_exp_tail(np.inf, np.array([2.0, 1.0]), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(tail, [0, 0])


def test_quantile_with_a_lower_bound_and_infinite_upper():
    def tail(x):
        return np.exp(-np.asarray(x) / 2.0)  # Exp(mean 2)

    exact = -2.0 * math.log(0.1)
    assert float(q.quantile(tail, 0.9, 100.0)) == pytest.approx(exact, rel=1e-5)
    assert float(q.quantile(tail, 0.9, 100.0, lower=1.0)) == pytest.approx(exact, rel=1e-5)
    np.testing.assert_allclose(q.quantile(tail, 0.9, np.array([100.0, np.inf])), [exact, np.inf], rtol=1e-5)
    assert float(q.quantile(tail, 0.9, 0.0)) == 0.0
    # every answer below the floor (upper · 1e-7) is 0
    assert float(q.quantile(lambda x: np.where(np.asarray(x) < 1e-12, 1.0, 0.0), 0.9, 1.0)) == 0.0


# --- fluid minutes ---------------------------------------------------------------------------


def lindley(load, servers, step_s, initial, cap):
    level, start, lost = min(initial, cap), [], []
    for a in load:
        start.append(level)
        level = max(0.0, level + (a - servers) * step_s)
        lost.append(max(0.0, level - cap))
        level = min(level, cap)
    return np.array(start), np.array(lost)


@pytest.mark.parametrize(("initial", "cap"), [(0.0, np.inf), (50.0, np.inf), (0.0, 45.0), (100.0, 45.0)])
def test_fluid_backlog_is_lindley(initial, cap):
    load = np.array([2.0, 3.0, 0.5, 2.5, 0.0, 4.0, 1.0, 1.9])
    start, lost = q.fluid_backlog(load, 2.0, 30.0, initial=initial, cap=cap)
    want_start, want_lost = lindley(load, 2.0, 30.0, initial, cap)
    np.testing.assert_allclose(start, want_start, atol=1e-9)
    np.testing.assert_allclose(lost, want_lost, atol=1e-9)


@pytest.mark.parametrize(("backlog", "load", "servers"), [(40.0, 1.0, 2.0), (10.0, 3.0, 2.0), (0.0, 2.0, 2.0),
                                                          (600.0, 0.0, 4.0)])
def test_fluid_wait_range(backlog, load, servers):
    step = 60.0
    w0, slope = backlog / servers, load / servers - 1.0
    busy = step if slope >= 0 else min(w0 / -slope, step)
    w1 = max(w0 + slope * busy, 0.0)
    share, got0, got1 = q.fluid_wait_range(np.array([backlog]), np.array([load]), servers, step)
    assert (share[0], got0[0], got1[0]) == pytest.approx((busy / step, w0, w1))


def test_fluid_defaults_are_a_minute_step_from_an_empty_queue():
    load = np.array([3.0, 1.0, 0.0, 2.5])
    start, lost = q.fluid_backlog(load, 2.0)
    np.testing.assert_allclose(start, lindley(load, 2.0, 60.0, 0.0, np.inf)[0], atol=1e-9)
    share, w0, w1 = q.fluid_wait_range(np.array([30.0]), np.array([1.0]), 2.0)
    # 15 s of wait draining at 0.5 s/s: gone after 30 s of the 60 s step
    assert (share[0], w0[0], w1[0]) == pytest.approx((0.5, 15.0, 0.0))


def test_fluid_wait_is_capped():
    share, w0, w1 = q.fluid_wait_range(np.array([100.0]), np.array([3.0]), 1.0, 60.0, cap_s=120.0)
    assert share[0] == 1.0 and w0[0] == 100.0 and w1[0] == 120.0
