"""SQLite's write lock with each loop's own batches and a blocked loop's polling
(sim/tiers/write_lock.py ``Polling``): a case worked by hand, and the limit of one loop trying
again the moment the lock frees, which is the pooled writer as it was (an oracle kept here)."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.tiers.write_lock import BUSY_SLEEPS_S, Polling, polling, route_holds, serve_lock

MS = 1e-3


def test_a_blocked_loop_polls_and_a_loop_that_comes_as_the_lock_frees_goes_first():
    """By hand (ms), retry 1 ms, no lag: loop 0's write at 0 (2 long) holds to 2; loop 1's at 0.5
    fails, tries at 1.5 (held), 2.5; meanwhile loop 0's write at 2.2 finds the lock free and
    holds it to 3.2, so loop 1's try at 2.5 fails too and it has the lock at 3.5, to 4.5. The
    pooled writer had loop 1's write at 2 (to 3) and loop 0's at 3 (to 4)."""
    at, length = np.array([0.0, 0.5, 2.2]) * MS, np.array([2.0, 1.0, 1.0]) * MS
    polled = serve_lock(at, length, np.empty(0), np.empty(0), loops=Polling(np.array([0, 1, 0]), 1 * MS))
    assert polled.write_leave / MS == pytest.approx([2.0, 4.5, 3.2])
    assert polled.batches == 3
    pooled = serve_lock(at, length, np.empty(0), np.empty(0))
    assert pooled.write_leave / MS == pytest.approx([2.0, 3.0, 4.0])


def test_a_blocked_loops_writes_that_come_while_it_polls_join_its_batch():
    """By hand (ms), retry 1 ms plus a lag of 0.5: a route holds the lock 0-5; loop 0's writes
    at 1 and 2.5 (1 long each) try at 1, 2.5 (fail), 4 (fail), 5.5: one batch to 7.5."""
    polled = serve_lock(np.array([1.0, 2.5]) * MS, np.array([1.0, 1.0]) * MS, np.array([0.0]),
                        np.array([5.0]) * MS, loops=Polling(np.array([0, 0]), 1 * MS, lambda: 0.5 * MS))
    assert polled.write_leave / MS == pytest.approx([7.5, 7.5])
    assert polled.batches == 1


def _pooled(write_at, write_s, ask_at, hold_s, sleeps=BUSY_SLEEPS_S):
    """serve_lock before loops (2026-11-30), the oracle: one batch of every waiting write."""
    order = np.argsort(write_at, kind="stable")
    arrivals, lengths = write_at[order].tolist(), write_s[order].tolist()
    leave_sorted, got = [0.0] * len(arrivals), np.zeros(ask_at.size)
    tries = [(float(t), r, 0) for r, t in enumerate(ask_at)]
    heapq.heapify(tries)
    free, i = 0.0, 0
    while i < len(arrivals) or tries:
        while tries and tries[0][0] < free:
            when, r, n = heapq.heappop(tries)
            heapq.heappush(tries, (when + sleeps[min(n, len(sleeps) - 1)], r, n + 1))
        next_write = arrivals[i] if i < len(arrivals) else np.inf
        next_try = tries[0][0] if tries else np.inf
        if next_write <= max(free, next_try):
            begin = end = max(free, next_write)
            j = i
            while j < len(arrivals) and arrivals[j] <= begin:
                end += lengths[j]
                j += 1
            leave_sorted[i:j] = [end] * (j - i)
            free, i = end, j
        else:
            when, r, _ = heapq.heappop(tries)
            got[r] = when
            free = when + float(hold_s[r])
    leave = np.empty(write_at.size)
    leave[order] = leave_sorted
    return leave, got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_loop_that_tries_again_as_the_lock_frees_is_the_pooled_writer(seed):
    rng = np.random.default_rng(seed)
    writes = rng.uniform(0.0, 10.0, 3000)
    asks = rng.uniform(0.0, 10.0, 150)
    write_s, hold_s = rng.exponential(2 * MS, writes.size), rng.exponential(6 * MS, asks.size)
    leave, got = _pooled(writes, write_s, asks, hold_s)
    served = serve_lock(writes, write_s, asks, hold_s, loops=Polling(np.zeros(writes.size, int)))
    assert served.write_leave == pytest.approx(leave, abs=1e-12)
    assert served.hold_start == pytest.approx(got, abs=1e-12)


def test_a_write_blocked_by_a_route_waits_its_residual_hold_rounded_up_to_its_loop_s_retries():
    """Sparse writes (20/s, 0.05 ms) behind routes holding a fixed 10 ms at 10/s (rho = 0.1), one
    loop retrying every 2 ms: a write that finds a route (a share rho) waits the rest of its hold
    R, uniform on [0, 10] ms, rounded up to a whole number of retries: ceil(R / 2) 2, uniform on
    {2, 4, 6, 8, 10} ms, mean 6 ms against the pooled writer's 5 (R itself)."""
    rng = np.random.default_rng(11)
    horizon, hold = 2000.0, 10 * MS
    writes = np.sort(rng.uniform(0.0, horizon, rng.poisson(20 * horizon)))
    asks = np.sort(rng.uniform(0.0, horizon, rng.poisson(10 * horizon)))
    holds, length = np.full(asks.size, hold), np.full(writes.size, 0.05 * MS)
    polled = serve_lock(writes, length, asks, holds, loops=Polling(np.zeros(writes.size, int), 2 * MS))
    pooled = serve_lock(writes, length, asks, holds)
    rho = asks.size * hold / horizon
    for served, mean in ((polled, 6 * MS), (pooled, 5 * MS)):
        wait = served.write_leave - writes - 0.05 * MS
        assert wait[wait > 0.1 * MS].mean() == pytest.approx(mean, rel=0.04)
        assert np.mean(wait > 0.1 * MS) == pytest.approx(rho, rel=0.08)


def test_the_drawn_retries_have_the_measured_mean_and_least():
    rng = np.random.default_rng(5)
    loops = polling(3.0, 1.0, 2, 10_000, rng)
    assert loops is not None and set(np.unique(loops.loop)) == {0, 1}
    gaps = np.array([loops.retry(0.0, 1.0) for _ in range(20_000)])
    assert gaps.min() >= 1 * MS and gaps.mean() == pytest.approx(3 * MS, rel=0.03)
    assert polling(0.0, 0.0, 2, 10, rng) is None  # the pooled writer


def test_a_write_blocked_by_variable_holds_waits_their_length_biased_residual():
    """Holds of mean h = 5 ms drawn lognormal with scv 3 (route_holds.hold_scv), at 20/s (rho =
    0.1), sparse writes: a write finds a hold in proportion to its length and waits its rest,
    E[H^2] / (2 E[H]) = h (1 + scv) / 2 = 10 ms on average, twice a fixed hold's h / 2; the
    draws keep the mean and have that scv."""
    rng = np.random.default_rng(13)
    horizon, mean = 3000.0, 5 * MS
    holds = route_holds(np.full(rng.poisson(20 * horizon), mean), np.full(1, 3.0), rng)
    assert holds.mean() == pytest.approx(mean, rel=0.03)
    assert holds.var() / mean**2 == pytest.approx(3.0, rel=0.25)
    asks = np.sort(rng.uniform(0.0, horizon, holds.size))
    writes = np.sort(rng.uniform(0.0, horizon, rng.poisson(20 * horizon)))
    served = serve_lock(writes, np.full(writes.size, 0.01 * MS), asks, holds)
    wait = served.write_leave - writes - 0.01 * MS
    blocked = wait > 0.05 * MS
    assert wait[blocked].mean() == pytest.approx(10 * MS, rel=0.12)
    assert route_holds(np.full(3, mean), np.zeros(3), rng) == pytest.approx([mean] * 3)  # fixed



def _episodes(hold_mean: float, scv: float, n: int, loops: Polling,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` lone episodes 10 s apart: a route takes the lock for a lognormal hold H (``route_holds``),
    a write comes uniformly within it. Weighted by H, a write's wait is that of a write arriving at
    random and finding the lock held (a hold is found in proportion to its length): (waits, H)."""
    rng = np.random.default_rng(seed)
    holds = route_holds(np.full(n, hold_mean), np.full(n, scv), rng)
    asks = 10.0 * np.arange(n)
    writes = asks + rng.uniform(0.0, 1.0, n) * holds
    loops.loop = np.zeros(n, int)
    served = serve_lock(writes, np.zeros(n), asks, holds, loops=loops)
    assert served.hold_start == pytest.approx(asks)  # nothing else on the lock
    return served.write_leave - writes, holds


def _above(holds: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(R > r) for R the residual of a length-biased hold drawn from ``holds``: E[(H - r)+] / E[H]."""
    return np.array([np.clip(holds - x, 0.0, None).sum() for x in r]) / holds.sum()


def _lognormal_above(mean: float, scv: float, r: np.ndarray) -> np.ndarray:
    """``_above`` for lognormal holds in closed form (the call-option formula): Phi(d1) - (r / E[H])
    Phi(d1 - sigma), d1 = (ln(E[H] / r) + sigma^2 / 2) / sigma, sigma^2 = ln(1 + scv)."""
    from scipy.stats import norm

    sigma = np.sqrt(np.log1p(scv))
    d1 = (np.log(mean / r) + sigma**2 / 2.0) / sigma
    return np.asarray(norm.cdf(d1) - r / mean * norm.cdf(d1 - sigma))


@pytest.mark.parametrize(("scv", "expected_ms"), [(0.5, 4.82), (1.5, 7.32)])
def test_a_loop_retrying_every_d_waits_the_residual_hold_rounded_up_to_whole_retries(scv, expected_ms):
    """A loop retrying every d = 2 ms exactly (``retry_min_ms`` = ``retry_ms``) behind lognormal
    holds of mean 5 ms: its wait is d ceil(R / d), R the length-biased residual, whose mean is
    d sum_k P(R > k d) (k >= 0): 4.82 ms at scv 0.5 and 7.32 at 1.5 in closed form, against E[R] =
    E[H] (1 + scv) / 2 = 3.75 and 6.25 without the retries' rounding (about d / 2 more). The same
    sum over the drawn holds within 2.5% (the draws' own spread), the closed form within 5%."""
    d, mean = 2 * MS, 5 * MS
    wait, weight = _episodes(mean, scv, 80_000, polling(2.0, 2.0, 1, 1, np.random.default_rng(0)), 3)
    assert np.allclose(np.round(wait / d), wait / d)  # whole retries
    k = np.arange(1, 2000) * d
    theory = d * (1.0 + _lognormal_above(mean, scv, k).sum())
    assert theory == pytest.approx(expected_ms * MS, abs=0.01 * MS)
    assert np.average(wait, weights=weight) == pytest.approx(d * (1.0 + _above(weight, k).sum()), rel=0.025)
    assert np.average(wait, weights=weight) == pytest.approx(theory, rel=0.05)


@pytest.mark.parametrize("scv", [0.5, 1.5])
def test_a_loop_whose_retries_come_at_random_waits_the_residual_hold_and_one_mean_retry(scv):
    """Retries after an exponential delay of mean m = 3 ms (``retry_min_ms`` 0): the tries are a
    Poisson process, so after the lock frees the next comes m later whatever came before: the
    wait is E[R] + m = E[H] (1 + scv) / 2 + m, 6.75 ms at scv 0.5 and 9.25 at 1.5 (holds of 5 ms);
    with the drawn holds' own E[H^2] / 2E[H] within 2.5%, with the lognormal's within 5%."""
    mean, m = 5 * MS, 3 * MS
    wait, weight = _episodes(mean, scv, 80_000, polling(3.0, 0.0, 1, 1, np.random.default_rng(1)), 4)
    got = np.average(wait, weights=weight)
    assert got == pytest.approx((weight**2).sum() / (2.0 * weight.sum()) + m, rel=0.025)
    assert got == pytest.approx(mean * (1 + scv) / 2 + m, rel=0.05)
