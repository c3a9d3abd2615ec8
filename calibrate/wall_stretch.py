"""How much of a writer's wall time stretches with the host's busy cores, from a calibration's steps.

The writer's cost is wall time (SQLite: the loop's hold of the write lock; PostgreSQL: the writer
thread's transaction), fitted on the calibration's quietest steps (``calibrate.writer``). The
same commit lasts longer on a busier host: in the 2026-12-01 01:28 SQLite calibration a lone
write's commit took 1.22 ms in the steps whose host was busy 0.27-0.31 cores, 2.25-2.50 ms at
1.65-1.76 cores and 3.05 ms at 1.88 (of 2). The load-test prediction stretches it with its
own bins' busy cores (``sim.tiers.host_stretch``): the cores' fair sharing stretches the
part that runs on them by the M/M/c mean response (1 / (1 - rho²) on two cores), the rest (the
fsync, the wait for the database's lock) not.

Both numbers come from the steps' lone commits (one job: no batch-size effect) and each step's
busy cores (the server's CPU, ``fit.Row.busy_s``, plus its ``background_cores``: everything
else on the host, the load generator and the database server included):

- ``reference_cores``: the host's busy cores over the steps the writer's cost was fitted on
  (``calibrate.writer.quiet_steps``), weighted by their lone commits;
- ``share``: the least-squares share of the wall time that stretches, over every step with
  ``calibrate.writer.MIN_LONE`` lone commits, each weighted by them: the lone commit over the
  quiet steps' is ``1 - share + share · stretch(busy) / stretch(reference)``; within [0, 1].

One pair of numbers per calibration, never per load level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibrate import fit as fitting
from calibrate import writer
from sim.tiers.host_stretch import WallStretch, stretch


@dataclass(frozen=True)
class StepWall:
    """One step's lone commits: the host's busy cores meanwhile and their mean wall time."""

    step: int
    busy_cores: float
    lone_ms: float
    commits: float


def step_walls(rows: list[fitting.Row], step_results: list[Mapping[str, Any]],
               tier: str = "api") -> list[StepWall]:
    """Per step with ``writer.MIN_LONE`` lone commits and a measured background: its busy cores
    (``tier``'s busy time over its rows' seconds, plus the step's ``background_cores``)."""
    out = []
    for step in sorted({r.step for r in rows if r.step >= 0}):
        mine = [r for r in rows if r.step == step]
        seconds = sum(r.seconds for r in mine)
        commits = sum(r.requests.get("(commits 1)", 0.0) for r in mine)
        background = step_results[step].get("background_cores") if step < len(step_results) else None
        if commits < writer.MIN_LONE or seconds <= 0 or background is None:
            continue
        busy = sum(r.busy_s.get(tier, 0.0) for r in mine) / seconds + float(background)
        lone = 1000.0 * sum(r.requests.get("(lock_s 1)", 0.0) for r in mine) / commits
        out.append(StepWall(step, busy, lone, commits))
    return out


def fit_wall_stretch(walls: list[StepWall], cores: float) -> WallStretch | None:
    """The reference and the share (module docstring); None with fewer than two steps or no step
    whose host was busier or quieter than the reference's."""
    if len(walls) < 2:
        return None
    least = min(w.lone_ms for w in walls)
    quiet = [w for w in walls if w.lone_ms <= writer.QUIET * least]
    weights = np.array([w.commits for w in quiet])
    reference = float(np.average([w.busy_cores for w in quiet], weights=weights))
    lone = float(np.average([w.lone_ms for w in quiet], weights=weights))
    x = stretch([w.busy_cores for w in walls], cores) / stretch(reference, cores) - 1.0
    y = np.array([w.lone_ms for w in walls]) / lone - 1.0
    w = np.array([w.commits for w in walls])
    if float(np.sum(w * x * x)) <= 1e-12:
        return None
    share = float(np.clip(np.sum(w * x * y) / np.sum(w * x * x), 0.0, 1.0))
    return WallStretch(round(reference, 4), round(share, 4))


def from_calibration(calibration: Mapping[str, Any] | None, cores: float) -> WallStretch | None:
    """``fit_wall_stretch`` on a calibration's record (``platform.json``: its ``rows`` and
    ``step_results``); None without them (a calibration from before the host was sampled)."""
    if not calibration or not calibration.get("rows") or not calibration.get("step_results"):
        return None
    rows = [fitting.Row(**r) for r in calibration["rows"]]
    return fit_wall_stretch(step_walls(rows, list(calibration["step_results"])), cores)
