"""Group commit: a writer that takes every write waiting when it comes free and commits them
as one batch (reference.committer), so one commit's fixed cost (the fsync, the lock hand-over)
is shared by the whole batch. A pool tier with ``discipline: group-commit`` and ``commit_ms``.

A batch of n writes holds the writer for ``commit + s_1 + ... + s_n`` and every write in it is
answered when the batch ends. The busier the writer, the bigger the batches and the smaller
the commit's share per write: utilisation grows more slowly than ``λ (d + commit)``, which a
fixed demand per write cannot follow (measured on the reference's SQLite writer: a fixed
demand over-predicted its utilisation by 8-14 points at 60-110% of the knee).

``serve_batches`` simulates it request by request (gated batches; each of ``servers`` writers
has its own queue, as each reference worker has its own committer). ``batch_chain`` gives the
exact long-run figures of one writer under Poisson arrivals, from the Markov chain of batch
sizes: a batch of n lasts ``S(n) = commit + n d`` (means), during which ``Poisson(λ S(n))``
writes arrive and form the next batch; when none arrived, the writer idles for an
exponential ``1/λ`` and the next batch is the one write that ends the idle time. With ``π`` the
stationary law of batch sizes, a batch cycle lasts ``E[S(N)] + P(no arrival) / λ`` and
``utilisation = E[S(N)] / cycle``. Stable while ``λ d < 1``: the commit alone never saturates
the writer, because batches grow to absorb it (at heavy load batches approach
``λ commit / (1 - λ d)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson


def serve_batches(arrivals: list[float], service: list[float], servers: int,
                  commit_s: float) -> tuple[list[float], list[float]]:
    """(start, leave) of each write. Writes go to the writers in turn (each its own queue);
    all writes of a batch leave when it ends, and a write's ``start`` is its leave less its
    own service and its share of the commit, so that the [start, leave) windows add up to
    the writer's busy time (utilisation) as for the other pools."""
    n = len(arrivals)
    start, leave = [0.0] * n, [0.0] * n
    for writer in range(servers):
        mine = list(range(writer, n, servers))
        _one_writer(mine, arrivals, service, commit_s, start, leave)
    return start, leave


def _one_writer(mine: list[int], arrivals: list[float], service: list[float], commit_s: float,
                start: list[float], leave: list[float]) -> None:
    free, i = 0.0, 0
    while i < len(mine):
        begin = max(free, arrivals[mine[i]])
        j = i
        while j < len(mine) and arrivals[mine[j]] <= begin:
            j += 1
        batch = mine[i:j]
        end = begin + commit_s + sum(service[k] for k in batch)
        share = commit_s / len(batch)
        for k in batch:
            leave[k] = end
            start[k] = end - service[k] - share
        free, i = end, j


@dataclass(frozen=True)
class BatchFigures:
    utilisation: float
    mean_batch: float  # writes per batch (batch-weighted mean)
    batches_per_s: float
    demand_s: float  # busy time per write: d + commit / mean batch (the utilisation law's D)


def batch_chain(rate: float, demand_s: float, commit_s: float, tolerance: float = 1e-12) -> BatchFigures:
    """Exact long-run figures of one group-commit writer at Poisson ``rate`` writes/s with
    mean service ``demand_s`` per write and ``commit_s`` per batch (see the module's text)."""
    if rate < 0 or demand_s < 0 or commit_s < 0:
        raise ValueError(f"rate, demand and commit must be >= 0 (got {rate}, {demand_s}, {commit_s})")
    if rate == 0:
        return BatchFigures(0.0, 1.0, 0.0, demand_s + commit_s)
    if rate * demand_s >= 1:
        raise ValueError(f"unstable: rate × demand = {rate * demand_s:.3g} >= 1")
    heavy = rate * commit_s / (1.0 - rate * demand_s)
    top = int(max(50.0, 4.0 * heavy + 12.0 * math.sqrt(heavy + 1.0) + 20.0))
    sizes = np.arange(1, top + 1)
    means = rate * (commit_s + sizes * demand_s)  # expected arrivals during a batch of each size
    move = poisson.pmf(np.arange(top + 1)[None, :], means[:, None])  # rows: from n; cols: m = 0..top
    move[:, top] += poisson.sf(top, means)  # truncation: larger batches lumped into the last
    chain = move[:, 1:].copy()
    chain[:, 0] += move[:, 0]  # no arrival: idle, then a batch of the one write that ends it
    law = _stationary(chain, tolerance)
    busy = float(law @ (commit_s + sizes * demand_s))
    idle = float(law @ move[:, 0]) / rate
    batches_per_s = 1.0 / (busy + idle)
    mean_batch = float(law @ sizes)
    return BatchFigures(busy / (busy + idle), mean_batch, batches_per_s, demand_s + commit_s / mean_batch)


def _stationary(chain: np.ndarray, tolerance: float) -> np.ndarray:
    """The stationary law of a row-stochastic matrix (solved directly: π (P - I) = 0, Σπ = 1)."""
    size = chain.shape[0]
    system = chain.T - np.eye(size)
    system[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    law = np.linalg.solve(system, rhs)
    law = np.clip(law, 0.0, None)
    return law / law.sum()


def effective_demand(rates: np.ndarray, demand_s: float, commit_s: float, writers: int) -> np.ndarray:
    """Busy time per write at each total rate (``writers`` share the rate evenly): what the
    per-minute model charges a write on a group-commit tier. Computed on a grid of rates and
    interpolated (the chain costs a small linear solve; a campaign has ~100,000 minutes)."""
    rates = np.asarray(rates, float)
    per_writer = rates / max(1, writers)
    limit = (1.0 / demand_s) if demand_s > 0 else math.inf
    top = float(np.nanmax(per_writer, initial=0.0))
    if top <= 0 or commit_s == 0:
        return np.full(rates.shape, demand_s + commit_s)
    grid_top = min(top, 0.999 * limit)
    grid = np.unique(np.concatenate([[0.0], np.geomspace(grid_top * 1e-4, grid_top, 160)]))
    values = np.array([batch_chain(r, demand_s, commit_s).demand_s for r in grid])
    return np.interp(np.minimum(per_writer, grid_top), grid, values)

