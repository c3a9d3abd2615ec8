"""SQLite's write lock shared by the group commits' batches and the routes' own transactions
(sim/tiers/write_lock.py): cases worked by hand, the batches-only limit, and the writes' wait
behind the routes' holds against its law."""

from __future__ import annotations

import numpy as np
import pytest

from sim.tiers.batching import serve_batches
from sim.tiers.write_lock import route_asks, serve_lock

MS = 1e-3


def test_a_waiting_batch_goes_before_a_route_that_sleeps_in_the_busy_handler():
    """By hand (ms): w1 at 0 (2 long) holds the lock to 2; the route asks at 1, finds it held,
    sleeps 1 ms; at 2 w2 (came at 1.5) goes first, to 4; the route's try at 2 fails, it sleeps
    2 ms; at 4 w3 (came at 4) goes, to 5; the route's try at 4 fails, it sleeps 5 ms and has
    the lock at 9 (a wait of 8 ms for a lock that was free from 5)."""
    served = serve_lock(np.array([0.0, 1.5, 4.0]) * MS, np.array([2.0, 2.0, 1.0]) * MS,
                        np.array([1.0]) * MS, np.array([5.0]) * MS)
    assert served.write_leave / MS == pytest.approx([2.0, 4.0, 5.0])
    assert served.hold_start / MS == pytest.approx([9.0])
    assert served.batches == 3
    assert served.write_start / MS == pytest.approx([0.0, 2.0, 4.0])


def test_a_write_that_finds_a_route_holding_the_lock_waits_the_rest_of_its_hold():
    """By hand (ms): the route has the free lock at 0 for 5; writes at 1 and 3 (2 long each)
    form one batch at 5, both leave at 9; a second route asking at 6 sleeps 1 ms, its try at 7
    fails, it sleeps 2 ms and has the lock at 9, as the batch ends (no write waiting then)."""
    served = serve_lock(np.array([1.0, 3.0]) * MS, np.array([2.0, 2.0]) * MS,
                        np.array([0.0, 6.0]) * MS, np.array([5.0, 1.0]) * MS)
    assert served.hold_start / MS == pytest.approx([0.0, 9.0])
    assert served.write_leave / MS == pytest.approx([9.0, 9.0])
    assert served.batches == 1


def test_without_routes_it_is_the_group_commit_writer():
    rng = np.random.default_rng(3)
    at = np.sort(rng.uniform(0.0, 20.0, 6000))
    service = rng.exponential(2 * MS, at.size)
    served = serve_lock(at, service, np.empty(0), np.empty(0))
    _, leave = serve_batches(at.tolist(), service.tolist(), 1, 0.0)
    assert served.write_leave == pytest.approx(np.array(leave), abs=1e-12)


def test_a_route_asks_so_that_its_hold_ends_with_its_work():
    assert route_asks(np.array([0.030, 0.012]), np.array([0.0, 0.010]), np.array([0.010, 0.005])) == \
        pytest.approx([0.020, 0.010])


def test_the_writes_wait_behind_the_routes_holds_as_their_residual_law_says():
    """Short writes (0.05 ms) at 200/s and routes of a fixed 10-ms hold at 10/s: the routes hold
    the lock rho = 0.1 of the time, and a write that finds one (PASTA: a share rho) waits the
    rest of its hold, uniform on [0, 10] ms: mean rho h / 2 = 0.5 ms, P(wait > x) = rho (1 - x/h),
    so the 95th percentile of the wait is h/2 = 5 ms and the 99th 9 ms."""
    rng = np.random.default_rng(7)
    horizon, hold = 400.0, 10 * MS
    writes = np.sort(rng.uniform(0.0, horizon, rng.poisson(200 * horizon)))
    asks = np.sort(rng.uniform(0.0, horizon, rng.poisson(10 * horizon)))
    served = serve_lock(writes, np.full(writes.size, 0.05 * MS), asks, np.full(asks.size, hold))
    wait = served.write_leave - writes - 0.05 * MS
    rho = asks.size * hold / horizon
    assert wait.mean() == pytest.approx(rho * hold / 2, rel=0.06)
    assert np.quantile(wait, 0.95) == pytest.approx(hold * (1 - 0.05 / rho), rel=0.06)
    assert np.quantile(wait, 0.99) == pytest.approx(hold * (1 - 0.01 / rho), rel=0.03)
    assert np.mean(wait > 0.1 * MS) == pytest.approx(rho, rel=0.06)  # beyond another write
