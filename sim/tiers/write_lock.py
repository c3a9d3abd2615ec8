"""SQLite's one write lock, shared by the group commits' batches and the routes' own transactions.

On the SQLite reference two kinds of writer take the database's single write lock:

- the workers' **group commits** (``reference.committer.LoopCommitter``): a batch of the writes
  that are waiting (the heartbeats), which holds the lock for its statements and commit. A loop
  that finds the lock taken tries again every 0.2 ms without sleeping (busy timeout 0), so when
  the lock comes free a waiting batch has it at once;
- the **routes' own write transactions** (test submission, SMS code, registration, enrolment, a
  sign-in by SMS code: a SQLAlchemy session on a pool thread, ``BEGIN IMMEDIATE``), which hold
  the lock from their first statement to their commit, their Python between statements
  included (7-18 ms at 60-110% of the knee, measured: ``yanxiu_write_lock_held_seconds``). A route
  that finds the lock taken sleeps in SQLite's busy handler, 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
  50 then 100 ms between tries (``sqliteDefaultBusyCallback``), and has the lock only if it is
  free at one of its tries.

So the order is a priority one, non-preemptive: a batch goes before any route whenever writes
are waiting as the lock frees; a route goes at its first try that finds the lock free. A
heartbeat that arrives while a route holds the lock waits the rest of that hold: this is the
tail the writer tier alone (batches only) did not have.

``serve_lock`` simulates it event by event: writes in gated batches (a batch takes every write
waiting when it begins and all of them leave at its end, ``batching.serve_batches``' writer,
the commit's share in each write's time) and route holds polling at the busy handler's times.
A route's transaction is placed so that, without a wait, its hold ends as its request's work
ends (its hold is part of its request's time): it asks at its end less its hold, and any wait
for the lock delays its answer by as much.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

# SQLite's default busy handler's sleeps between tries (sqliteDefaultBusyCallback, with usleep),
# seconds; after the last, 100 ms each.
BUSY_SLEEPS_S = (0.001, 0.002, 0.005, 0.010, 0.015, 0.020, 0.025, 0.025, 0.025, 0.050, 0.050, 0.100)


@dataclass(frozen=True)
class LockServed:
    write_leave: np.ndarray  # when each write's batch ended (its answer)
    write_start: np.ndarray  # its leave less its own time (the windows add up to the batches' time)
    hold_start: np.ndarray  # when each route transaction had the lock
    batches: int


def serve_lock(write_at: np.ndarray, write_s: np.ndarray, ask_at: np.ndarray, hold_s: np.ndarray,
               sleeps: tuple[float, ...] = BUSY_SLEEPS_S) -> LockServed:
    """Serve writes (arriving at ``write_at``, each ``write_s`` of lock time with its commit
    share) in gated batches and route transactions (asking at ``ask_at``, holding ``hold_s``)
    that try at the busy handler's ``sleeps`` (module docstring). Inputs need not be sorted."""
    write_at, write_s = np.asarray(write_at, float), np.asarray(write_s, float)
    ask_at, hold_s = np.asarray(ask_at, float), np.asarray(hold_s, float)
    order = np.argsort(write_at, kind="stable")
    arrivals, lengths = write_at[order].tolist(), write_s[order].tolist()
    leave_sorted = [0.0] * len(arrivals)
    got = np.zeros(ask_at.size)
    tries = [(float(t), r, 0) for r, t in enumerate(ask_at)]  # (when it tries, route, tries so far)
    heapq.heapify(tries)
    free, i, batches = 0.0, 0, 0
    while i < len(arrivals) or tries:
        while tries and tries[0][0] < free:  # tries while the lock is held fail: sleep and retry
            when, r, n = heapq.heappop(tries)
            heapq.heappush(tries, (when + sleeps[min(n, len(sleeps) - 1)], r, n + 1))
        next_write = arrivals[i] if i < len(arrivals) else np.inf
        next_try = tries[0][0] if tries else np.inf
        if next_write <= max(free, next_try):  # a batch: writes waiting as the lock frees go first
            begin = max(free, next_write)
            end = begin
            j = i
            while j < len(arrivals) and arrivals[j] <= begin:
                end += lengths[j]
                j += 1
            leave_sorted[i:j] = [end] * (j - i)
            free, i, batches = end, j, batches + 1
        else:  # the lock is free at a route's try
            when, r, _ = heapq.heappop(tries)
            got[r] = when
            free = when + float(hold_s[r])
    leave = np.empty(write_at.size)
    leave[order] = leave_sorted
    return LockServed(leave, leave - write_s, got, batches)


def route_asks(leave: np.ndarray, arrived: np.ndarray, hold_s: np.ndarray) -> np.ndarray:
    """When each route transaction asks for the lock: so that its hold ends as its request's
    work ends (``leave``), but not before the request arrived."""
    return np.maximum(np.asarray(leave, float) - np.asarray(hold_s, float), np.asarray(arrived, float))
