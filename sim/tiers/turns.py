"""A group-commit writer whose commits are event loops' (``batched_by`` on its tier): the
reference's LoopCommitter on SQLite commits, once per turn of a worker's event loop, the writes
that turn's requests handed over, so its batches are as big as the loops' turns make them, not
as the writer's own busy time would (docs/tiers.md). Measured on the reference (SQLite, two
workers, 2026-11-30 13:15): 1.14, 1.92 and 11.3 writes a commit at 122, 185 and 253
requests/s, where the writer's own chain (``batching_figures``) says 1.02, 1.04 and 1.08.

``loop_batches`` gives the mean writes per commit at each column's endpoint rates, from
``batching.turn_batches``: each of the loop tier's servers (loops) takes an even share of the
requests visiting it; a turn's work per request is its mean demand at the loop tier plus the
lock time of its write (the loop waits for its own commit), the mix's spread taken as a gamma
of the same squared coefficient of variation (each endpoint exponential around its demand).
"""

from __future__ import annotations

import numpy as np

from sim.tiers.batching import turn_batches

ROUNDS = 3  # the lock time a write adds to its turn depends on the batch size: a fixed point


def loop_batches(rates: np.ndarray, loop_demand_s: np.ndarray, loop_visits: np.ndarray, loops: int,
                 wakeup_s: float, write_demand_s: np.ndarray, write_visits: np.ndarray,
                 commit_s: float) -> np.ndarray:
    """Mean writes per commit, one per column of ``rates`` (endpoints × columns, requests/s):
    ``loop_*`` the loop tier's demand and visits per endpoint and its server count, ``write_*``
    the writer's, ``commit_s`` its cost per commit."""
    rates = np.atleast_2d(np.asarray(rates, float))
    at_loop = np.where(np.asarray(loop_visits, bool)[:, None], rates, 0.0)
    writing = np.asarray(write_visits, bool)[:, None] & (at_loop > 0)
    total = at_loop.sum(axis=0)
    writes = np.where(writing, rates, 0.0).sum(axis=0)
    busy = total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(busy, writes / np.where(busy, total, 1.0), 0.0)
        cpu = np.where(busy, (at_loop * loop_demand_s[:, None]).sum(axis=0) / total, 0.0)
        second = np.where(busy, (at_loop * 2.0 * loop_demand_s[:, None] ** 2).sum(axis=0) / total, 0.0)
        scv = np.where(cpu > 0, second / cpu**2 - 1.0, 1.0)
        own = np.where(writes > 0, (np.where(writing, rates, 0.0) * write_demand_s[:, None]).sum(axis=0)
                       / np.where(writes > 0, writes, 1.0), 0.0)
    per_loop = total / max(1, loops)
    batch = np.ones(total.shape)
    for _ in range(ROUNDS):
        work = cpu + share * (own + commit_s / batch)
        batch = turn_batches(per_loop, work, wakeup_s, share, scv)
        batch = np.where(np.isfinite(batch), batch, np.inf)
    return np.where(busy & (writes > 0), batch, 1.0)
