"""The group commits' CPU on the api's processes: a commit's and a job's, from a calibration's bins.

The api's demand of a writing endpoint holds its job's share of the group commits' CPU, measured
as the commits' CPU over their jobs (``calibrate.routecpu``: ``yanxiu_commit_cpu_seconds_total``),
one number. But a commit costs CPU of its own (the loop's flush or the writer thread's BEGIN,
COMMIT and round trips) besides each job's statement, and batches grow with the load: on the
2026-12-01 04:39 baselines a job cost 0.92 ms at 1.0 jobs a commit and 0.25 ms at 11 (SQLite),
1.23 and 0.38 ms at 1.0 and 13.8 (PostgreSQL), so a constant share over-predicts the api's CPU
near the knee and under-predicts it below the calibration's busiest steps. Here, per bin, the
commits' CPU against its commits and jobs::

    cpu_i = a · commits_i + b · jobs_i          (non-negative least squares)

with 95% intervals by the block bootstrap over steps (``fit.BOOTSTRAP``), on the rows the api's
demands were fitted on and the overloaded steps too (the server counts its commits' CPU whatever
the load, and their batches of 3-14 jobs part a from b: on the fitted steps alone, batches of
1.0-1.4, b's interval reached 0 on both databases); ``calibrated`` is the share a job holds in
the demands (the commits' CPU over their jobs on the demands' rows). A platform file writes it as
the api tier's ``commit_cpu`` when ``a``'s interval excludes 0 (``domain.platform_spec.CommitCpu``); the
prediction then serves each job ``b + a / n`` at its bin's batch size ``n`` as the model batches
(``sim.tiers.replay``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calibrate import fit as fitting
from calibrate.probes import COMMITS_CPU
from calibrate.routecpu import measured_rows


@dataclass(frozen=True)
class CommitLaw:
    per_batch_ms: float
    batch_lo: float
    batch_hi: float
    per_job_ms: float
    job_lo: float
    job_hi: float
    calibrated_ms: float  # the commits' CPU over their jobs on the same rows: a job's share in the demands
    r2: float
    endpoints: tuple[str, ...]
    bins: int
    steps: int

    def text(self) -> str:
        batch = f"{self.per_batch_ms:.3g} [{self.batch_lo:.3g}, {self.batch_hi:.3g}] ms a commit"
        job = f"{self.per_job_ms:.3g} [{self.job_lo:.3g}, {self.job_hi:.3g}] ms a job"
        return (f"the group commits' CPU {batch} + {job} (R² {self.r2:.2f}, {self.bins} bins of {self.steps} "
                f"steps; {self.calibrated_ms:.3g} ms a job in the demands)")


def fit_commit_cpu(tier: str, rows: list[fitting.Row], endpoints: list[str], rng: np.random.Generator,
                   demands_rows: list[fitting.Row] | None = None) -> CommitLaw | None:
    """The law on the bins whose commits' CPU, commits and jobs were counted; None without them,
    with fewer than 3 steps, or without a writing endpoint. ``rows`` may hold the overloaded
    steps too (the server's own counters of its commits' CPU hold whatever the load; their large
    batches part a from b); ``demands_rows``, the bins the demands were fitted on (default
    ``rows``), give the share a job holds in them."""
    kept = _counted(tier, rows)
    steps = np.array([r.step for r in kept])
    blocks = [np.flatnonzero(steps == s) for s in np.unique(steps)]
    written = fitting.writers(kept, endpoints) if kept else None
    if len(blocks) < 3 or not written:
        return None
    design = np.array([[r.requests[fitting.BATCHES], r.requests[fitting.JOBS]] for r in kept])
    cpu = np.array([r.route_cpu_s[COMMITS_CPU] for r in kept])
    coef = fitting._solve(design, cpu)
    draws = np.empty((fitting.BOOTSTRAP, 2))
    for b in range(fitting.BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        draws[b] = fitting._solve(design[chosen], cpu[chosen])
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0) * 1000.0
    spread = float(((cpu - cpu.mean()) ** 2).sum())
    r2 = 1.0 - float(((cpu - design @ coef) ** 2).sum()) / spread if spread > 0 else 0.0
    fitted = _counted(tier, demands_rows) if demands_rows is not None else kept
    calibrated = 1000.0 * sum(r.route_cpu_s[COMMITS_CPU] for r in fitted) / max(
        sum(r.requests[fitting.JOBS] for r in fitted), 1.0)
    return CommitLaw(float(coef[0] * 1000.0), float(lo[0]), float(hi[0]), float(coef[1] * 1000.0),
                     float(lo[1]), float(hi[1]), calibrated, r2, tuple(written), len(kept), len(blocks))


def _counted(tier: str, rows: list[fitting.Row]) -> list[fitting.Row]:
    return [r for r in measured_rows(tier, rows) if COMMITS_CPU in r.route_cpu_s
            and r.requests.get(fitting.JOBS, 0.0) > 0 and fitting.BATCHES in r.requests]


def line(law: CommitLaw | None) -> dict[str, Any] | None:
    """The api tier's ``commit_cpu`` when a commit's own CPU is significant, else None."""
    if law is None or law.batch_lo <= 0.0:
        return None
    return {"per_batch_ms": round(law.per_batch_ms, 4), "per_job_ms": round(law.per_job_ms, 4),
            "calibrated_ms": round(law.calibrated_ms, 4), "endpoints": list(law.endpoints),
            "note": f"fitted by calibrate/commit_cpu.py: {law.text()}"}


def from_calibration(calibration: dict[str, Any], tier: str = "api", seed: int = 0) -> CommitLaw | None:
    """The law on a calibration's record (``platform.json``: every step's rows; the share in the
    demands from the steps it fitted them on)."""
    left = {i for i, s in enumerate(calibration["step_results"]) if s.get("name") in
            set(calibration.get("left_out_of_fit", []))}
    rows = [fitting.Row(**r) for r in calibration["rows"]]
    endpoints = [e for e in calibration["fits"][tier]["demands_ms"] if not e.startswith("(")]
    return fit_commit_cpu(tier, rows, endpoints, np.random.default_rng(seed),
                          [r for r in rows if r.step not in left])
