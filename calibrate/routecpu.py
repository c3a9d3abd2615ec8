"""The api tier's demands from the CPU the target attributed to each route, where it has it.

The utilisation law alone cannot tell an event-loop worker's per-endpoint CPU from its cost
per wake-up: at the calibration's rates a loop wakes about once a request and heartbeats are
most requests, so their counts and the wake-ups move together (2026-11-30 17:58: heartbeat and
campaign page 0 ms, the wake-up 1.8-1.9 ms carrying their CPU, R² 0.96-0.99 all the same), and
the sign-in and the campaign page come one each per session. The reference platform counts
what each request spent in its own task steps and thread-pool calls
(``yanxiu_route_cpu_seconds_total``, ``reference.route_cpu``), which interleaving requests
cannot contaminate. Here:

- an endpoint's own demand is its measured CPU over its requests (all bins together);
- the rest of the tier's busy time (the loop's own work: selector, HTTP parsing, timers; the
  group commits run by the loop or by the committer's thread) is fitted by the utilisation law
  as before: busy - Σ route CPU = idle·T + c·W(c) + j·jobs, with c the cost per wake-up
  profiled over ``fit.WAKEUP_GRID_MS`` (W from the chain of batch sizes, ``fit.predicted_wakeups``)
  and j the CPU of a group commit's job (a write) outside its request (on SQLite the loop's
  flush, on PostgreSQL the committer's thread), when the target counts jobs;
- j goes to the endpoints whose requests are the jobs (``fit.writers``), per job they make;
- where the target also counts the group commits' CPU (``yanxiu_commit_cpu_seconds_total``,
  read with the routes' under ``probes.COMMITS_CPU``), j is that CPU over the jobs, measured,
  and only idle·T + c·W is fitted (without it j and c trade off: heartbeats are most requests
  and most jobs, 2026-11-30 19:36: heartbeat 1.28 [0.77, 2.48] ms with j fitted).

The block bootstrap over steps redoes all of it, so the intervals hold the measurement's spread
and the rest's fit together. A target without the counter (``--host`` on a system not ours)
gets ``fit.fit_event_loop``, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibrate.fit import (
    BOOTSTRAP,
    JOBS,
    WAKEUP_GRID_MS,
    WAKEUPS,
    Demand,
    Row,
    TierFit,
    _solve,
    predicted_wakeups,
    writers,
)
from calibrate.probes import COMMITS_CPU

# share of the tier's busy time in the measured bins that the routes' CPU must cover for the
# counter to be taken as the target's own (a counter of a few routes only is not the tier's)
MIN_COVERED = 0.2


def measured_rows(tier: str, rows: list[Row]) -> list[Row]:
    """The rows with the tier's busy time and the routes' CPU both read."""
    return [r for r in rows if tier in r.busy_s and r.route_cpu_s]


def usable(tier: str, rows: list[Row], endpoints: list[str]) -> bool:
    """Whether the routes' CPU can give the tier's demands: three bins or more, and the routes
    cover at least ``MIN_COVERED`` of the busy time (else the counter is not the tier's)."""
    measured = measured_rows(tier, rows)
    if len(measured) < 3:
        return False
    busy = sum(r.busy_s[tier] for r in measured)
    cpu = sum(r.route_cpu_s.get(e, 0.0) for r in measured for e in endpoints)
    return busy > 0 and cpu >= MIN_COVERED * busy


def fit_measured_loop(tier: str, rows: list[Row], endpoints: list[str], servers: int,
                      rng: np.random.Generator, grid_ms: tuple[float, ...] = WAKEUP_GRID_MS) -> TierFit:
    """The tier's fit with each endpoint's demand from its measured CPU (module docstring)."""
    rows = measured_rows(tier, rows)
    counts = np.array([[r.requests.get(e, 0.0) for e in endpoints] for r in rows])
    cpu = np.array([[r.route_cpu_s.get(e, 0.0) for e in endpoints] for r in rows])
    busy = np.array([r.busy_s[tier] for r in rows])
    jobs = np.array([r.requests.get(JOBS, 0.0) for r in rows])
    # the group commits' CPU, where the target counts it (else a job's CPU is fitted)
    commits = np.array([r.route_cpu_s.get(COMMITS_CPU, 0.0) for r in rows])
    commit = commits if commits.any() else None
    written = writers(rows, endpoints) or []
    per_job = _jobs_per_request(counts, jobs, endpoints, written)
    steps = np.array([r.step for r in rows])
    blocks = [np.flatnonzero(steps == s) for s in np.unique(steps)]
    best = _fit_once(rows, counts, cpu, busy, jobs, commit, per_job, endpoints, servers, grid_ms)
    draws = np.empty((BOOTSTRAP, len(endpoints) + 2))
    for b in range(BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        again = _fit_once([rows[i] for i in chosen], counts[chosen], cpu[chosen], busy[chosen], jobs[chosen],
                          None if commit is None else commit[chosen], per_job, endpoints, servers, grid_ms)
        draws[b] = np.append(again.demands_s * 1000.0, [again.c_ms, again.job_s * 1000.0])
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    seen = counts.sum(axis=0)
    demands = {e: Demand(float(best.demands_s[i] * 1000.0), float(lo[i]), float(hi[i]), int(round(seen[i])))
               for i, e in enumerate(endpoints)}
    demands[WAKEUPS] = Demand(best.c_ms, float(lo[-2]), float(hi[-2]), int(round(best.wakeups.sum())))
    predicted = cpu.sum(axis=1) + best.rest  # the group commits' measured CPU is in the rest
    spread = float(((busy - busy.mean()) ** 2).sum())
    r2 = 1.0 - float(((busy - predicted) ** 2).sum()) / spread if spread > 0 else 0.0
    share = 100 * cpu.sum() / busy.sum()
    job = (f", a group commit's job {1000 * best.job_s:.3g} ms outside its request"
           + (" (yanxiu_commit_cpu_seconds_total)" if commit is not None else "") if jobs.any() else "")
    how = (f"each endpoint's own CPU from yanxiu_route_cpu_seconds_total ({share:.0f}% of the busy time), "
           f"the rest by the utilisation law (wake-ups{job})")
    return TierFit(tier, best.idle_rate, demands, r2, len(rows), best.profile, how=how)


@dataclass(frozen=True)
class _Once:
    """One fit of a set of rows."""

    demands_s: np.ndarray  # the endpoints' demands, a job's share included
    c_ms: float  # the cost per wake-up
    job_s: float  # a job's CPU outside its request
    rest: np.ndarray  # the busy time beyond the routes' CPU that it predicts, per row
    wakeups: np.ndarray
    idle_rate: float
    profile: tuple[tuple[float, float], ...]


def _fit_once(rows: list[Row], counts: np.ndarray, cpu: np.ndarray, busy: np.ndarray, jobs: np.ndarray,
              commit: np.ndarray | None, per_job: np.ndarray, endpoints: list[str], servers: int,
              grid_ms: tuple[float, ...]) -> _Once:
    """``commit``: the group commits' measured CPU per row (None: a job's CPU is fitted)."""
    own_s = cpu.sum(axis=0) / np.maximum(counts.sum(axis=0), 1.0)  # measured CPU a request
    committed = commit if commit is not None else np.zeros(len(rows))
    unknown = busy - cpu.sum(axis=1) - committed  # what neither counter covers: fitted
    seconds = np.array([r.seconds for r in rows])
    fit_jobs = commit is None and jobs.any()
    design = np.column_stack([seconds, jobs]) if fit_jobs else seconds[:, None]
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    profile = []
    for c_ms in grid_ms:
        wakeups = predicted_wakeups(rows, endpoints, own_s, c_ms / 1000.0, servers)
        shifted = unknown - c_ms / 1000.0 * wakeups
        coef = _solve(design, shifted)
        rss = float(((shifted - design @ coef) ** 2).sum())
        profile.append((c_ms, rss))
        if best is None or rss < best[0]:
            best = (rss, c_ms, coef, wakeups)
    assert best is not None
    _, c_ms, coef, wakeups = best
    if commit is not None:
        job_s = float(commit.sum() / jobs.sum()) if jobs.any() else 0.0
    else:
        job_s = float(coef[1]) if coef.size > 1 else 0.0
    fitted_rest = design @ coef + c_ms / 1000.0 * wakeups + committed
    return _Once(own_s + job_s * per_job, c_ms, job_s, fitted_rest, wakeups, float(coef[0]), tuple(profile))


def _jobs_per_request(counts: np.ndarray, jobs: np.ndarray, endpoints: list[str],
                      written: list[str]) -> np.ndarray:
    """Jobs a request of each endpoint makes (NNLS of the bins' jobs on the writers' requests);
    0 for the others."""
    out = np.zeros(len(endpoints))
    if not written or not jobs.any():
        return out
    index = [endpoints.index(e) for e in written]
    out[index] = _solve(counts[:, index], jobs)
    return out
