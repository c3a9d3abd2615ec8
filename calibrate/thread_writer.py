"""The PostgreSQL reference's writer threads, from a calibration's commit timings.

On PostgreSQL each reference worker commits its heartbeats on a writer thread of its own
(``reference.committer.ThreadCommitter``): it takes the jobs waiting, lingers for more, and
runs them in one transaction (BEGIN, a read of the rows FOR UPDATE, a read of the teachers'
totals, two batched updates, COMMIT with its WAL flush), answering all of them at its end. A
heartbeat waits for all of that, yet the database tier's demand is the PostgreSQL server's
**CPU** per request (``calibrate.probes.PostgresCpu``): the round trips' waits for a core,
the writer's own Python and the flush's I/O are in no tier (docs/tiers.md, "The PostgreSQL
writer thread").

The reference times every commit by its size (``yanxiu_commit_seconds_by_size``: on the writer
thread, its statements and COMMIT, wall time), so a commit's fixed wall time and each job's are
fitted as the SQLite writer's lock time is (``calibrate.writer.fit_writer``: c·commits +
d·jobs over every bin × size band, on the steps whose lone commits were as quick as the
quietest's), but on the commits of one and two jobs only: bigger batches form *because* the
writer was slow (a stall lets jobs pile up), so their time over-states a job's cost. Measured
(the 22:49 PostgreSQL calibration, 2026-11-30): 3.2 / 4.9 / 8.7 / 27 / 58 ms a commit of 1 / 2 /
3.3 / 6.0 / 12 jobs in the quiet steps, which all bands fit as 0 + 3.62 ms a job and the bands
1-2 as 1.69 + 1.38 ms; the writer's own CPU was 0.70 ms a commit + 0.36 ms a job, PostgreSQL's
0.33 ms a heartbeat: the rest is waiting (round trips, the WAL flush, the GIL). The linger is
the committer's setting. A transaction's wall time is drawn exponential around its mean: on two
levels replayed at 30% and 60% of the knee (23:17, 23:22) 42% / 88% / 98% and 33% / 81% / 97%
of the commits took at most 2 / 5 / 10 ms for means of 3.0 and 3.6 ms, where an exponential
gives 49% / 81% / 96% and 43% / 75% / 94% (a fixed time: 100% under 5 ms). The platform
file's api tier then says ``threads.writer`` (``domain.platform_spec.ThreadWriter``),
covering the database tier.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from calibrate import fit as fitting
from calibrate import writer


def thread_writer(rows: list[fitting.Row], endpoints: list[str], database_tier: str, linger_ms: float,
                  rng: np.random.Generator) -> dict[str, Any] | None:
    """The ``threads.writer`` block for the api tier: the endpoints whose requests are the
    writer's jobs (``fit.writers``), the linger, and the commit's and a job's wall time; None
    without the commit timers by size or the jobs' counter (or one batch size only)."""
    jobs = fitting.writers(rows, endpoints)
    found = writer.fit_writer([_small_batches(r) for r in rows], database_tier, rng) if jobs else None
    if found is None or not jobs:
        return None
    c, d = found.commit, found.write
    left = f"; {len(found.left_out)} busier step(s) left out" if found.left_out else ""
    note = (f"each worker's writer thread (reference.committer.ThreadCommitter): linger {linger_ms:g} ms "
            f"(its setting), then a transaction of {c.ms:.3g} [{c.lo_ms:.3g}, {c.hi_ms:.3g}] ms + "
            f"{d.ms:.3g} [{d.lo_ms:.3g}, {d.hi_ms:.3g}] ms a job of wall time, the database's CPU inside "
            f"it (yanxiu_commit_seconds_by_size: {c.requests:,} commits of {d.requests:,} jobs, "
            f"{found.steps} steps{left})")
    return {"endpoints": jobs, "linger_ms": linger_ms, "commit_ms": round(c.ms, 4),
            "write_ms": round(d.ms, 4), "covers": database_tier, "service": "exponential",
            "note": note + "; each transaction exponential around its mean (docs/tiers.md)"}


SMALL = ("1", "2")  # the batch sizes whose commit timings are fitted


def _small_batches(row: fitting.Row) -> fitting.Row:
    """The row with the commit timings of batches of one and two jobs only."""
    big = tuple(f" {band})" for band in writer.BANDS if band not in SMALL)
    return replace(row, requests={k: v for k, v in row.requests.items() if not k.endswith(big)})
