"""Whether the api's CPU per request moves with the host's busy cores, from a calibration's bins.

The api's demands (``calibrate.routecpu``, ``fit.fit_event_loop``) are constants, each the
mean over every bin of the steps the fit took; the host they ran on was busier in some bins
than in others (the load, the load generator, the database server, other work). Beside other
engineers' tests the api's CPU per request ran 20-38% over the calibrated, and +14% beside one
spinning core at the same load (docs/calibration-log.md, "The machine's other work"). Here, on the
same rows as the demands: per bin ``i`` the CPU the constant demands explain,
``base_i = Σ_e N_ie·d_e + c·W_i`` (the wake-ups ``W`` as the fit predicted them), against
the busy time less the idle rate's, ``y_i``, and the law

    y_i = base_i · (1 + k · (x_i - x_ref))

with ``x_i`` the host's busy cores in the bin (the api's busy time over the bin's length plus
its step's ``background_cores``: everything else on the host) and ``x_ref`` the bins' mean of x
weighted by ``base`` (so that the calibrated demands stay the demands at ``x_ref``: the law with
k = 0 is the constant model exactly). ``k`` is the least-squares slope of ``y - base`` on
``base·(x - x_ref)``; its 95% interval is the block bootstrap's over steps (a step's bins move
together), as the demands'. A ``k`` whose interval holds 0 is not significant: the platform file
then writes no law (k = 0), and the tier's note says what was found.

Where the server counts its group commits' CPU and a commit costs CPU of its own
(``calibrate.commit_cpu``: a law written as the tier's ``commit_cpu``), a job's share of its
commits falls as batches grow with the load, and the prediction charges it ``b + a/n`` at the
bin's batch size: the law here is then fitted on what that law leaves, ``base_i`` with each bin's
jobs charged ``b + a/n_i`` at its measured batch size ``n_i`` instead of the demands' constant
share (``Bins``' ``after_commits``), so that the fall by batching is counted once (by the commits'
law), not again as a slope on the busy cores. On the 04:39 SQLite baseline the constant demands
gave k = -4.2% a core [-10.6, -0.4] from the commits' fall alone (docs/calibration-log.md).

The same slope on other drivers (the background alone, the api's own busy cores, its rate per
worker) is computed for the record (``drivers``): which one the CPU follows is a question of the
data (docs/calibration-log.md, "The api's CPU per request and the load").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibrate import fit as fitting
from calibrate.commit_cpu import CommitLaw

BOOTSTRAP = fitting.BOOTSTRAP
DRIVERS = ("host busy cores", "other work's cores", "api busy cores", "requests/s a worker")


@dataclass(frozen=True)
class Growth:
    """The law's slope per unit of its driver, its 95% interval, the driver's reference (the bins'
    mean weighted by their CPU) and range, the bins and steps it was fitted on."""

    driver: str
    per_unit: float
    lo: float
    hi: float
    reference: float
    least: float
    most: float
    bins: int
    steps: int
    after_commits: bool = False  # fitted on what the group commits' law leaves (``bins``' ``commits``)

    @property
    def significant(self) -> bool:
        return self.lo > 0.0 or self.hi < 0.0

    def text(self) -> str:
        beyond = " beyond the group commits' law" if self.after_commits else ""
        return (f"CPU per request vs {self.driver}{beyond}: {100 * self.per_unit:+.3g}% a unit "
                f"[{100 * self.lo:+.3g}, {100 * self.hi:+.3g}] from {self.reference:.3g} "
                f"({self.least:.3g}-{self.most:.3g} over {self.bins} bins of {self.steps} steps)")


@dataclass(frozen=True)
class Bins:
    """Per bin: the CPU the constant demands explain, the busy time beyond the idle rate's, its
    step, and each driver's value."""

    base: np.ndarray
    measured: np.ndarray
    step: np.ndarray
    drivers: dict[str, np.ndarray]
    after_commits: bool = False


def bins(rows: list[fitting.Row], background: Mapping[int, float], tier: str, endpoints: list[str],
         demands_ms: Mapping[str, float], wakeup_ms: float, idle_rate: float, servers: int,
         commits: CommitLaw | None = None) -> Bins:
    """The rows of the steps with a measured ``background`` (cores of other work per step index),
    with the tier's busy time and at least one request. ``commits``: the group commits' law as
    written (``commit_cpu.line``), whose endpoints' requests are charged ``b + a/n`` at their
    bin's measured batch size instead of its constant share (module docstring)."""
    kept = [r for r in rows if r.step in background and tier in r.busy_s and r.seconds > 0
            and sum(r.requests.get(e, 0.0) for e in endpoints) > 0]
    demand_s = np.array([demands_ms.get(e, 0.0) for e in endpoints]) / 1000.0
    counts = np.array([[r.requests.get(e, 0.0) for e in endpoints] for r in kept]).reshape(len(kept), -1)
    seconds = np.array([r.seconds for r in kept])
    wakeups = (fitting.predicted_wakeups(kept, endpoints, demand_s, wakeup_ms / 1000.0, servers)
               if wakeup_ms > 0 and kept else np.zeros(len(kept)))
    busy = np.array([r.busy_s[tier] for r in kept])
    other = np.array([background[r.step] for r in kept])
    drivers = dict(zip(DRIVERS, (busy / seconds + other, other, busy / seconds,
                                 counts.sum(axis=1) / seconds / servers), strict=True))
    base = counts @ demand_s + wakeup_ms / 1000.0 * wakeups
    if commits is not None:
        writing = (counts @ np.isin(endpoints, commits.endpoints).astype(float)).reshape(-1)
        base = base + writing * _shares(kept, commits)
    return Bins(base, busy - idle_rate * seconds, np.array([r.step for r in kept]), drivers,
                commits is not None)


def _shares(rows: list[fitting.Row], law: CommitLaw) -> np.ndarray:
    """Per bin, the CPU seconds a job of the law's endpoints costs beyond its share in the
    demands, ``b + a/n - calibrated``, ``n`` the bin's measured jobs a commit (as the
    prediction charges it, ``sim.tiers.replay._commit_shares``); 0 where the bin did not
    count its commits."""
    jobs = np.array([r.requests.get(fitting.JOBS, 0.0) for r in rows])
    commits = np.array([r.requests.get(fitting.BATCHES, 0.0) for r in rows])
    counted = (jobs > 0) & (commits > 0)
    size = np.where(counted, jobs / np.where(commits > 0, commits, 1.0), 1.0)
    share = (law.per_job_ms + law.per_batch_ms / size - law.calibrated_ms) / 1000.0
    return np.where(counted, share, 0.0)


def slope(base: np.ndarray, measured: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(k, x_ref): the law's least-squares slope and reference on these bins (module docstring)."""
    total = float(base.sum())
    if total <= 0:
        return 0.0, 0.0
    reference = float((base * x).sum() / total)
    z = base * (x - reference)
    spread = float((z * z).sum())
    return (float((z * (measured - base)).sum() / spread) if spread > 1e-18 else 0.0), reference


def fit_growth(data: Bins, rng: np.random.Generator, driver: str = DRIVERS[0]) -> Growth | None:
    """The law on ``driver`` with its bootstrap interval; None with fewer than 3 steps."""
    blocks = [np.flatnonzero(data.step == s) for s in np.unique(data.step)]
    if len(blocks) < 3:
        return None
    x = data.drivers[driver]
    k, reference = slope(data.base, data.measured, x)
    draws = np.empty(BOOTSTRAP)
    for b in range(BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        draws[b] = slope(data.base[chosen], data.measured[chosen], x[chosen])[0]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Growth(driver, k, float(lo), float(hi), reference, float(x.min()), float(x.max()), int(x.size),
                  len(blocks), data.after_commits)


def line(growth: Growth | None) -> dict[str, Any] | None:
    """The platform file's ``cpu_growth`` of the tier (``PoolTier.cpu_growth``): the law when its
    slope is significant, else None (constant demands)."""
    if growth is None or not growth.significant or growth.driver != DRIVERS[0]:
        return None
    return {"per_core": round(growth.per_unit, 4), "reference_cores": round(growth.reference, 3),
            "lo": round(growth.lo, 4), "hi": round(growth.hi, 4),
            "note": f"fitted by calibrate/cpu_growth.py: {growth.text()}"}


def from_calibration(calibration: Mapping[str, Any], tier: str = "api", servers: int = 2, seed: int = 0,
                     commits: CommitLaw | None = None) -> dict[str, Growth | None]:
    """Every driver's law on a calibration's record (``platform.json``: its rows, step results,
    left-out steps and the tier's fitted demands), the demands as it wrote them; ``commits``:
    the group commits' law when written (then on what it leaves)."""
    fitted = calibration["fits"][tier]
    demands = {e: float(d["ms"]) for e, d in fitted["demands_ms"].items() if not e.startswith("(")}
    wakeup = float(fitted["demands_ms"].get(fitting.WAKEUPS, {}).get("ms", 0.0))
    left = set(calibration.get("left_out_of_fit", []))
    steps = calibration["step_results"]
    background = {i: float(s["background_cores"]) for i, s in enumerate(steps)
                  if s.get("background_cores") is not None and s.get("name") not in left}
    rows = [fitting.Row(**r) for r in calibration["rows"]]
    data = bins(rows, background, tier, list(demands), demands, wakeup, float(fitted["idle_rate"]), servers,
                commits)
    return {d: fit_growth(data, np.random.default_rng(seed), d) for d in DRIVERS}


def with_law(text: str, tier: str, law: Mapping[str, Any] | None, key: str = "cpu_growth") -> str:
    """A platform file's text with the tier's ``key`` set to ``law`` (None: removed): its
    one line ``- {name: TIER, kind: pool, ...}   # note`` (``calibrate.platform_file.render``),
    the rest as it was; for re-predicting a calibration offline with a law fitted afterwards."""
    import json
    import re

    out = []
    for line in text.splitlines(keepends=True):
        pattern = rf"^(\s*- \{{name: {re.escape(tier)}, kind: pool, .*?)\}}(\s*#.*)?$"
        head = re.match(pattern, line.rstrip("\n"))
        if head is None:
            out.append(line)
            continue
        body = re.sub(rf", {key}: \{{[^{{}}]*\}}", "", head.group(1))
        body += f", {key}: {json.dumps(dict(law), ensure_ascii=False)}" if law else ""
        out.append(f"{body}}}{head.group(2) or ''}\n")
    return "".join(out)
