"""The writers' lock of the SQLite reference (reference.db.WritersLock): the routes' own write
transactions wait in its turnstile and go next when the holder lets go; the group committers
(one per worker's loop) try it when their loop turns and commit, as one batch, every write
that came meanwhile. ``batching.writers_lock_wait`` (non-preemptive priority M/G/1) against a
simulation of exactly that lock."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from sim.tiers.batching import writers_lock_wait


def _simulate(route_rate: float, hold_s: float, write_rate: float, write_s: float, commit_s: float,
              committers: int, horizon_s: float, seed: int) -> tuple[float, np.ndarray]:
    """(routes' mean wait, the batches' lock times). Routes: Poisson, exponential holds, FIFO
    among themselves and first whenever the lock frees; each committer: Poisson writes (an
    even share of ``write_rate``), a batch of all its pending writes holding the lock
    ``commit_s + n·write_s``, started when the lock is free and no route waits."""
    rng = np.random.default_rng(seed)
    events: list[tuple[float, int, int]] = []  # (time, kind: 0 route / 1 write, committer)
    for t in np.cumsum(rng.exponential(1.0 / route_rate, int(route_rate * horizon_s * 1.2))):
        events.append((float(t), 0, -1))
    for k in range(committers):
        rate = write_rate / committers
        for t in np.cumsum(rng.exponential(1.0 / rate, int(rate * horizon_s * 1.2))):
            events.append((float(t), 1, k))
    heapq.heapify(events)
    routes: list[float] = []  # arrival times of the waiting routes
    pending = [[] for _ in range(committers)]  # each committer's writes' arrival times
    free_at, waits, batches, turn = 0.0, [], [], 0
    while events:
        now, kind, k = heapq.heappop(events)
        if now > horizon_s:
            break
        (routes if kind == 0 else pending[k]).append(now)
        # serve while the lock is free by the time of the next event
        upcoming = events[0][0] if events else np.inf
        while free_at <= upcoming and (routes or any(pending)):
            start = max(free_at, min([*routes[:1], *(p[0] for p in pending if p)]))
            if start > upcoming:
                break
            waiting_routes = [a for a in routes if a <= start]
            if waiting_routes:
                arrival = routes.pop(0)
                waits.append(start - arrival)
                free_at = start + rng.exponential(hold_s)
            else:  # the committers take turns (their loops retry in turn)
                order = [(turn + j) % committers for j in range(committers)]
                k2 = next(c for c in order if pending[c] and pending[c][0] <= start)
                turn = k2 + 1
                n = sum(1 for a in pending[k2] if a <= start)
                del pending[k2][:n]
                length = commit_s + n * write_s
                batches.append(length)
                free_at = start + length
    return float(np.mean(waits)), np.array(batches)


@pytest.mark.parametrize("route_rate,hold_s,write_rate", [
    (20.0, 0.005, 150.0),  # about the reference at 85% of the knee
    (40.0, 0.010, 250.0),  # the lock 0.6-0.7 busy
])
def test_a_routes_wait_is_the_priority_queue_s(route_rate, hold_s, write_rate):
    horizon = 300.0
    wait, batches = _simulate(route_rate, hold_s, write_rate, 0.0015, 0.001, 2, horizon, 3)
    mean, scv = batches.mean(), batches.var() / batches.mean() ** 2
    predicted = writers_lock_wait(route_rate, hold_s, 1.0, batches.size / horizon, mean, scv)
    # 1.11 vs 1.13 ms and 11.5 vs 12.6 ms (seeds 3, 4: within 2% and 4-9%): a batch's length is
    # not independent of when a route finds it (longer after a longer wait), which the law omits
    assert predicted == pytest.approx(wait, rel=0.12)


def test_the_wait_grows_without_bound_as_the_routes_fill_the_lock_and_refuses_bad_input():
    assert writers_lock_wait(100.0, 0.01, 1.0, 10.0, 0.002, 0.0) == np.inf
    assert writers_lock_wait(0.0, 0.01, 1.0, 10.0, 0.002, 0.0) == pytest.approx(10 * 0.002**2 / 2)
    with pytest.raises(ValueError):
        writers_lock_wait(-1.0, 0.01, 1.0, 10.0, 0.002, 0.0)
