"""A worker's writer thread: group commits that linger for more jobs (the PostgreSQL reference).

The reference's ``ThreadCommitter`` gives each worker process one writer thread. When the
writer is free and a job waits, it takes it and **lingers** ``linger`` seconds, taking every
job that comes meanwhile; then it runs them as one transaction, which lasts ``commit`` (the
batch's fixed wall time: BEGIN, the statements' round trips, COMMIT and its WAL flush) plus
each job's own ``write``, and answers all of them at its end. Jobs that come while a batch
runs wait for it, and then for the next batch's linger. So a lone job takes ``linger +
commit + write``, and a job that finds its writer busy waits the rest of that batch first.

With ``linger = 0`` this is the gated group commit of ``sim.tiers.batching.serve_batches``
(the batch is what waited when the writer came free), the same item for item; the linger
makes batches bigger and every answer later by up to ``linger``.

The times are wall time, not CPU: the database server's CPU is inside ``commit + write`` (its
busy time is the database tier's, counted there), so a request that goes through the writer
does not wait for the database tier's service again (``sim.tiers.replay``).
"""

from __future__ import annotations

import numpy as np

from domain import scenario as sc


def serve_writers(arrivals: np.ndarray, service: np.ndarray, writer: np.ndarray, writers: int,
                  commit_s: float, linger_s: float,
                  spread: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(start, leave) of each job; ``arrivals`` sorted, ``service`` each job's own write,
    ``writer`` the writer (0 .. writers-1) it was handed to. ``start``: when its batch's
    transaction began (after the linger). ``spread``: mean-1 factors, one per job, the first
    job's scaling its batch's transaction (a transaction's wall time around its mean)."""
    start, leave = np.zeros(arrivals.size), np.zeros(arrivals.size)
    factor = np.ones(arrivals.size) if spread is None else spread
    for w in range(writers):
        _one_writer(np.flatnonzero(writer == w), arrivals, service, commit_s, linger_s, factor, start, leave)
    return start, leave


def _one_writer(mine: np.ndarray, arrivals: np.ndarray, service: np.ndarray, commit_s: float,
                linger_s: float, factor: np.ndarray, start: np.ndarray, leave: np.ndarray) -> None:
    times = arrivals[mine]
    free, i = -np.inf, 0
    while i < mine.size:
        taken = max(free, float(times[i]))  # the first waiting job, once the writer is free
        began = taken + linger_s
        j = int(np.searchsorted(times, began, side="right"))  # and every job until the linger ends
        batch = mine[i:j]
        end = began + (commit_s + float(service[batch].sum())) * float(factor[mine[i]])
        start[batch], leave[batch] = began, end
        free, i = end, j



def through(writer: sc.ThreadWriter, names: list[str], kinds: np.ndarray, done: np.ndarray,
            worker: np.ndarray, workers: int, rng: np.random.Generator,
            stretch: np.ndarray | None = None) -> np.ndarray:
    """When each request is answered: a job of ``writer`` (its endpoint among the writer's) when
    its worker's writer thread has committed it, handed over as its loop work was ``done``; the
    others at ``done``. An exponential writer's transactions are drawn with ``rng``.
    ``stretch``: per request, the factor on the transaction its job begins (the host's busy cores
    then: ``sim.tiers.host_stretch``); None: the calibrated wall time as it is."""
    jobs = np.flatnonzero(np.isin(np.asarray(names)[kinds], writer.endpoints))
    jobs = jobs[np.argsort(done[jobs], kind="stable")]
    spread = rng.exponential(1.0, jobs.size) if writer.service == "exponential" else None
    if stretch is not None:
        spread = stretch[jobs] if spread is None else spread * stretch[jobs]
    _, leave = serve_writers(done[jobs], np.full(jobs.size, writer.write_ms / 1000.0), worker[jobs], workers,
                             writer.commit_ms / 1000.0, writer.linger_ms / 1000.0, spread)
    answered = done.copy()
    answered[jobs] = leave
    return answered


def covered(scenario: sc.Scenario, tier: str, names: list[str]) -> np.ndarray:
    """Per endpoint: its time at ``tier`` is inside a writer thread's transaction (the writer
    ``covers`` the tier and the endpoint is one of its jobs'), so its request waits none again."""
    out = np.zeros(len(names), bool)
    for t in scenario.platform.tiers:
        writer = getattr(getattr(t, "threads", None), "writer", None)
        if writer is not None and writer.covers == tier:
            out |= np.isin(names, writer.endpoints)
    return out
