"""Service demands from busy time by the utilisation law (the knee: ``calibrate.knee``).

The utilisation law U = X·D, summed over a window of T seconds and over endpoints, is
``busy_s = idle_rate·T + Σ_e N_e·D_e``: the busy seconds a tier spent equal the requests each
endpoint finished times its mean demand, plus what the tier burns with no requests (timers,
the event loop's housekeeping). It holds for any window, steady or not, so each bin of each
step is one row. ``scipy.optimize.nnls`` fits the non-negative demands; a block bootstrap over
the steps (a step's bins move together) gives 95% intervals that include the collinearity of
endpoints that always come together (an endpoint seen in one fixed ratio to another cannot be
told apart from it, and its interval says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import nnls

from calibrate.errors import CalibrationError

BOOTSTRAP = 400
# A row's pseudo-endpoint for a group-commit writer: the batches committed in the bin. Its
# demand is the commit's fixed cost per batch (sim/tiers/batching.py), fitted with the rest.
BATCHES = "(batches)"
# A row's pseudo-endpoint for an event-loop worker: its wake-ups in the bin, not measured but
# predicted by the chain of batch sizes at the bin's rate; its demand is the loop's fixed cost
# per wake-up (``wakeup_ms``), shared by the requests ready at that wake-up.
WAKEUPS = "(wake-ups)"
# A row's count of the group commits' jobs (writes) in the bin: not a regressor; it says which
# endpoints' requests are the writer's jobs (``writers``), the only ones that take its lock.
JOBS = "(jobs)"
TIED = 0.95  # correlation of two endpoints' requests per bin above which the fit cannot tell them apart
WAKEUP_GRID_MS = tuple(round(0.1 * i, 1) for i in range(61))  # candidates 0-6 ms (profiled)


@dataclass(frozen=True)
class Row:
    """One bin of one step: its length, requests finished per endpoint, busy seconds per tier."""

    step: int
    seconds: float
    requests: dict[str, float]
    busy_s: dict[str, float]
    # CPU seconds per endpoint the target itself attributed to its requests in the bin (the
    # reference's yanxiu_route_cpu_seconds_total); empty: not measured (``calibrate.routecpu``)
    route_cpu_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Demand:
    ms: float
    lo_ms: float
    hi_ms: float
    requests: int  # requests of the endpoint the fit saw
    # correlation across rows of the endpoint's requests with the tier's batches (group
    # commits, or an event loop's wake-ups), reported; at ``TIED`` or above the two are in one
    # of ``TierFit.tied``'s groups
    with_batches: float = 0.0


@dataclass(frozen=True)
class TierFit:
    tier: str
    idle_rate: float  # busy seconds per second with no requests
    demands: dict[str, Demand]
    r2: float  # share of the busy time's variance across rows that the fit explains
    rows: int
    # event loop: (wake-up cost in ms, residual sum of squares) for every candidate profiled
    profile: tuple[tuple[float, float], ...] = ()
    # regressors (endpoints, the tier's batches) whose counts came in a fixed ratio in every bin
    # (``tied_groups``): the fit knows only their joint cost, however it happened to share it out
    tied: tuple[tuple[str, ...], ...] = ()
    how: str = ""  # where the demands came from when not the utilisation law alone (``calibrate.routecpu``)
    # whether the CPU per request moved with the host's busy cores over the fit's bins
    # (``calibrate.cpu_growth.Growth``; None: not fitted)
    growth: Any = None
    # the group commits' CPU on the tier, a commit's and a job's (``calibrate.commit_cpu.CommitLaw``)
    commit_cpu: Any = None


def _solve(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    # scale columns to unit norm: nnls is better conditioned and the answer is the same
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    coef, _ = nnls(design / norms, target)
    return np.asarray(coef / norms, float)


def fit_tier(tier: str, rows: list[Row], endpoints: list[str], rng: np.random.Generator) -> TierFit:
    """Non-negative demands (ms) of every endpoint at one tier, with bootstrap 95% intervals."""
    rows = [r for r in rows if tier in r.busy_s]
    if len(rows) < 3:
        raise CalibrationError(f"tier {tier}: busy time measured in {len(rows)} bins, too few to fit")
    design = np.array([[r.seconds, *(r.requests.get(e, 0.0) for e in endpoints)] for r in rows])
    target = np.array([r.busy_s[tier] for r in rows])
    coef = _solve(design, target)
    residual = target - design @ coef
    spread = float(((target - target.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / spread if spread > 0 else 0.0
    steps = np.array([r.step for r in rows])
    blocks = [np.flatnonzero(steps == s) for s in np.unique(steps)]
    draws = np.empty((BOOTSTRAP, coef.size))
    for b in range(BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        draws[b] = _solve(design[chosen], target[chosen])
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    counts = design[:, 1:].sum(axis=0)
    batches = design[:, 1 + endpoints.index(BATCHES)] if BATCHES in endpoints else None
    demands = {e: Demand(float(coef[i + 1] * 1000), float(lo[i + 1] * 1000), float(hi[i + 1] * 1000),
                         int(round(counts[i])), _correlation(design[:, i + 1], batches))
               for i, e in enumerate(endpoints)}
    return TierFit(tier, float(coef[0]), demands, r2, len(rows), tied=tied_groups(design[:, 1:], endpoints))


def writers(rows: list[Row], endpoints: list[str], threshold: float = 0.5) -> list[str] | None:
    """The endpoints whose requests are a group-commit writer's jobs, the only ones that take
    its lock: NNLS of each bin's jobs (``JOBS``) on the endpoints' requests gives jobs per
    request, and those at ``threshold`` or more are its writers. None when no row counts jobs
    (a target without the counter). On the reference only heartbeats submit jobs, yet the
    writer's fit gave the sign-in and the campaign page 0.9 and 1.8 ms of its lock time and the
    scenario's estimates went to the unidentified rest (5-9 points of the predicted writer at
    60-110% of the knee, 2026-11-30 13:47)."""
    counted = [r for r in rows if JOBS in r.requests]
    jobs = np.array([r.requests[JOBS] for r in counted])
    if not counted or jobs.sum() <= 0:
        return None
    design = np.array([[r.requests.get(e, 0.0) for e in endpoints] for r in counted])
    per_request = _solve(design, jobs)
    return [e for e, k in zip(endpoints, per_request, strict=True) if k >= threshold]


def tied_groups(counts: np.ndarray, names: list[str],
                threshold: float = TIED) -> tuple[tuple[str, ...], ...]:
    """Groups of regressors (endpoints, and a tier's batches: ``BATCHES``, ``WAKEUPS``) whose
    counts per bin correlate at ``threshold`` or more (linked pairwise), each of two or more:
    only a group's joint cost is identified (``calibrate.demands`` says what is written). The
    reference's sign-in and campaign page come one each per session in every step (correlation
    1.00 on 2026-11-30): NNLS put 19.7 ms on the page and 0 on the login; its heartbeats came
    1.0-1.15 a group commit: NNLS put the lock time on the batches and 0 on the heartbeat."""
    columns = {e: counts[:, names.index(e)] for e in names}
    group = {e: {e} for e in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if _correlation(columns[a], columns[b]) >= threshold and group[a] is not group[b]:
                merged = group[a] | group[b]
                for e in merged:
                    group[e] = merged
    unique = {tuple(sorted(g)) for g in group.values() if len(g) > 1}
    return tuple(sorted(unique))


def _correlation(counts: np.ndarray, batches: np.ndarray | None) -> float:
    if batches is None or counts.std() == 0 or batches.std() == 0:
        return 0.0
    return float(np.corrcoef(counts, batches)[0, 1])


def predicted_wakeups(rows: list[Row], endpoints: list[str], demand_s: np.ndarray, wakeup_s: float,
                      servers: int) -> np.ndarray:
    """Wake-ups of ``servers`` event loops in each row: each loop gets an even share of the
    row's requests as Poisson arrivals and batches them as the chain says
    (``sim.tiers.batching.batching_figures``: a loop wakes, pays ``wakeup_s``, runs every
    ready request; what arrived meanwhile is the next batch)."""
    from sim.tiers.batching import batching_figures

    counts = np.array([[row.requests.get(e, 0.0) for e in endpoints] for row in rows]).reshape(len(rows), -1)
    seconds = np.array([row.seconds for row in rows])
    total = counts.sum(axis=1)
    busy = (total > 0) & (seconds > 0)
    rate = np.where(busy, total / np.where(seconds > 0, seconds, 1.0) / servers, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_s = np.where(busy, counts @ demand_s / np.where(busy, total, 1.0), 0.0)
        mean_s = np.where(busy, np.minimum(mean_s, 0.999 / rate), 0.0)  # the chain needs λ d < 1
    batches = np.where(busy, total / np.asarray(batching_figures(rate, mean_s, wakeup_s).mean_batch), 0.0)
    return np.asarray(batches, float)


def fit_event_loop(tier: str, rows: list[Row], endpoints: list[str], servers: int,
                   rng: np.random.Generator, grid_ms: tuple[float, ...] = WAKEUP_GRID_MS) -> TierFit:
    """``fit_tier`` with one more cost, the event loop's per wake-up:
    busy = idle·T + Σ N_e d_e + c·W(c, d), W the wake-ups the chain predicts at each row's rate.
    W depends on c and on the demands, so c is profiled: for each candidate the demands are
    refitted (three rounds of W then NNLS) and the candidate with the least residual is kept.
    The block bootstrap redoes the choice of c on every resample (with each candidate's W),
    so c's interval includes its trade-off with the demands and the idle rate."""
    rows = [r for r in rows if tier in r.busy_s]
    if len(rows) < 3:
        raise CalibrationError(f"tier {tier}: busy time measured in {len(rows)} bins, too few to fit")
    design = np.array([[r.seconds, *(r.requests.get(e, 0.0) for e in endpoints)] for r in rows])
    target = np.array([r.busy_s[tier] for r in rows])
    columns, fits, profile = [], [], []
    coef = _solve(design, target)
    for c_ms in grid_ms:
        wakeups = np.zeros(len(rows))
        for _ in range(3):
            wakeups = predicted_wakeups(rows, endpoints, coef[1:], c_ms / 1000.0, servers)
            coef = _solve(design, target - c_ms / 1000.0 * wakeups)
        columns.append(wakeups)
        fits.append(coef)
        profile.append((c_ms, float(((target - c_ms / 1000.0 * wakeups - design @ coef) ** 2).sum())))
    best = int(np.argmin([rss for _, rss in profile]))
    steps = np.array([r.step for r in rows])
    blocks = [np.flatnonzero(steps == s) for s in np.unique(steps)]
    draws = np.empty((BOOTSTRAP, design.shape[1] + 1))
    for b in range(BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        draws[b] = _best_candidate(design[chosen], target[chosen], [w[chosen] for w in columns], grid_ms)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    coef, c_s = fits[best], grid_ms[best] / 1000.0
    residual = target - c_s * columns[best] - design @ coef
    spread = float(((target - target.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / spread if spread > 0 else 0.0
    counts = design[:, 1:].sum(axis=0)
    demands = {e: Demand(float(coef[i + 1] * 1000), float(lo[i + 1] * 1000), float(hi[i + 1] * 1000),
                         int(round(counts[i])), _correlation(design[:, i + 1], columns[best]))
               for i, e in enumerate(endpoints)}
    demands[WAKEUPS] = Demand(grid_ms[best], float(lo[-1]), float(hi[-1]), int(round(columns[best].sum())))
    return TierFit(tier, float(coef[0]), demands, r2, len(rows), tuple(profile),
                   tied_groups(np.column_stack([design[:, 1:], columns[best]]), [*endpoints, WAKEUPS]))


def _best_candidate(design: np.ndarray, target: np.ndarray, columns: list[np.ndarray],
                    grid_ms: tuple[float, ...]) -> np.ndarray:
    """(idle, demands..., c in ms) of the candidate with the least residual on these rows."""
    best: tuple[float, np.ndarray] | None = None
    for c_ms, wakeups in zip(grid_ms, columns, strict=True):
        shifted = target - c_ms / 1000.0 * wakeups
        coef = _solve(design, shifted)
        rss = float(((shifted - design @ coef) ** 2).sum())
        if best is None or rss < best[0]:
            best = (rss, np.append(coef, c_ms))
    assert best is not None
    return best[1]
