"""SQLite's one write lock, shared by the group commits' batches and the routes' own transactions.

On the SQLite reference two kinds of writer take the database's single write lock:

- the workers' **group commits** (``reference.committer.LoopCommitter``): a batch of the writes
  that are waiting on one worker's loop (the heartbeats), which holds the lock for its statements
  and commit. A loop that finds the lock taken (busy timeout 0) tries again ``RETRY_S`` (1 ms)
  later with ``call_later``, which its loop runs late when it is busy with other callbacks or
  waits for the GIL (measured: ``yanxiu_commit_retry_seconds``), while the other worker's loop
  may take the lock again in between (``Polling``). Without ``Polling``: a waiting batch of
  every loop's writes has the lock the moment it frees;
- the **routes' own write transactions** (test submission, SMS code, registration, enrolment, a
  sign-in by SMS code: a SQLAlchemy session on a pool thread, ``BEGIN IMMEDIATE``), which hold
  the lock from their first statement to their commit, their Python between statements
  included (7-18 ms at 60-110% of the knee, measured: ``yanxiu_write_lock_held_seconds``). A route
  that finds the lock taken sleeps in SQLite's busy handler, 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
  50 then 100 ms between tries (``sqliteDefaultBusyCallback``), and has the lock only if it is
  free at one of its tries.

So the order is a polling race: whoever tries first after the lock frees has it (a loop that comes
with new writes tries at once; a blocked loop at its next retry; a route at its next busy-handler
try). Without ``Polling`` it is a priority one, non-preemptive: a batch goes before any route
whenever writes are waiting as the lock frees. A
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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# SQLite's default busy handler's sleeps between tries (sqliteDefaultBusyCallback, with usleep),
# seconds; after the last, 100 ms each.
BUSY_SLEEPS_S = (0.001, 0.002, 0.005, 0.010, 0.015, 0.020, 0.025, 0.025, 0.025, 0.050, 0.050, 0.100)


@dataclass
class Polling:
    """Whose loop each write's batch is (``loop``: one index per write) and how a loop whose
    batch found the lock taken tries again: after ``retry_s`` plus a delay drawn by ``lag``
    (its loop running other callbacks, waiting for the GIL), until a try finds it free. With
    ``retry_s`` 0 and no lag it tries again the moment the lock frees."""

    loop: np.ndarray
    retry_s: float = 0.0
    lag: Callable[[], float] | None = None

    def retry(self, failed_at: float, free_at: float) -> float:
        """When a loop whose try at ``failed_at`` found the lock held until ``free_at`` tries again."""
        if self.retry_s <= 0.0 and self.lag is None:
            return free_at
        return failed_at + self.retry_s + (self.lag() if self.lag is not None else 0.0)


@dataclass(frozen=True)
class LockSpec:
    """A writer tier's lock as the prediction serves it: per endpoint (columns) the routes' hold
    in seconds, the share of requests holding and the hold's squared coefficient of variation
    (rows; 0: fixed), its loops and their retries (``polling``)."""

    holds: np.ndarray
    loops: int = 1
    retry_ms: float = 0.0
    retry_min_ms: float = 0.0


@dataclass(frozen=True)
class LockServed:
    write_leave: np.ndarray  # when each write's batch ended (its answer)
    write_start: np.ndarray  # its leave less its own time (the windows add up to the batches' time)
    hold_start: np.ndarray  # when each route transaction had the lock
    batches: int


def serve_lock(write_at: np.ndarray, write_s: np.ndarray, ask_at: np.ndarray, hold_s: np.ndarray,
               sleeps: tuple[float, ...] = BUSY_SLEEPS_S, loops: Polling | None = None) -> LockServed:
    """Serve writes (arriving at ``write_at``, each ``write_s`` of lock time with its commit
    share) in gated batches and route transactions (asking at ``ask_at``, holding ``hold_s``)
    that try at the busy handler's ``sleeps`` (module docstring). Inputs need not be sorted.
    ``loops``: the batches are each loop's own and a blocked loop polls (``Polling``); None:
    one batch of every waiting write the moment the lock frees."""
    write_at, write_s = np.asarray(write_at, float), np.asarray(write_s, float)
    ask_at, hold_s = np.asarray(ask_at, float), np.asarray(hold_s, float)
    loops = loops or Polling(np.zeros(write_at.size, int))
    owner = np.asarray(loops.loop, int)
    order = np.lexsort((write_at, owner))  # each loop's writes by arrival, loop after loop
    at, lengths = write_at[order].tolist(), write_s[order].tolist()
    bounds = np.searchsorted(owner[order], np.arange(int(owner.max(initial=-1)) + 2)).tolist()
    leave_sorted = [0.0] * len(at)
    got = np.zeros(ask_at.size)
    # (when it tries, 0 a loop's batch / 1 a route (a batch first at a tie), which, tries so far)
    tries = [(float(t), 1, r, 0) for r, t in enumerate(ask_at)]
    tries += [(at[bounds[w]], 0, w, 0) for w in range(len(bounds) - 1) if bounds[w] < bounds[w + 1]]
    heapq.heapify(tries)
    nxt = bounds[:-1]  # each loop's first write not yet in a batch
    free, batches = 0.0, 0
    while tries:
        when, kind, who, n = heapq.heappop(tries)
        if when < free:  # the lock is held: a route sleeps, a loop tries again (``Polling``)
            again = when + sleeps[min(n, len(sleeps) - 1)] if kind else loops.retry(when, free)
            heapq.heappush(tries, (again, kind, who, n + 1))
        elif kind:  # the lock is free at a route's try
            got[who] = when
            free = when + float(hold_s[who])
        else:  # a loop's batch: every write of that loop that has come
            i = j = nxt[who]
            end = when
            while j < bounds[who + 1] and at[j] <= when:
                end += lengths[j]
                j += 1
            leave_sorted[i:j] = [end] * (j - i)
            free, nxt[who], batches = end, j, batches + 1
            if j < bounds[who + 1]:  # its loop was busy committing: the next batch at the end
                heapq.heappush(tries, (max(end, at[j]), 0, who, 0))
    leave = np.empty(write_at.size)
    leave[order] = leave_sorted
    return LockServed(leave, leave - write_s, got, batches)


def route_asks(leave: np.ndarray, arrived: np.ndarray, hold_s: np.ndarray) -> np.ndarray:
    """When each route transaction asks for the lock: so that its hold ends as its request's
    work ends (``leave``), but not before the request arrived."""
    return np.maximum(np.asarray(leave, float) - np.asarray(hold_s, float), np.asarray(arrived, float))


def polling(retry_ms: float, retry_min_ms: float, loops: int, writes: int,
            rng: np.random.Generator) -> Polling | None:
    """Each of ``writes`` writes on one of ``loops`` loops drawn at random (a uvicorn worker takes
    the connections it accepts), a blocked loop trying again after ``retry_min_ms`` plus an
    exponential delay, ``retry_ms`` on average (``RouteHolds.retry_ms``); None for ``retry_ms`` 0
    (the pooled writer)."""
    if retry_ms <= 0.0:
        return None
    extra_s = max(retry_ms - retry_min_ms, 0.0) / 1000.0
    lag = (lambda: float(rng.exponential(extra_s))) if extra_s > 0.0 else None
    return Polling(rng.integers(0, max(loops, 1), writes), retry_min_ms / 1000.0, lag)


def route_holds(mean_s: np.ndarray, scv: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each route transaction's hold: lognormal with mean ``mean_s`` and squared coefficient of
    variation ``scv`` (per transaction; 0: the mean itself, and nothing drawn)."""
    mean_s, scv = np.asarray(mean_s, float), np.asarray(scv, float)
    if not (scv > 0).any():
        return mean_s
    sigma = np.sqrt(np.log1p(scv))
    return mean_s * rng.lognormal(-sigma**2 / 2.0, sigma, mean_s.size)
