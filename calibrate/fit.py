"""Service demands from busy time by the utilisation law, and the knee of the staircase.

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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Window:
    """Requests a step's client finished in ``seconds`` up to ``end_s`` (seconds from its first
    finished request), and their p95 (Locust's rolling 10-s percentile at that second)."""

    end_s: float
    seconds: float
    requests: int
    failures: int
    p95_ms: float | None
    # (fraction, ms) for each percentile Locust gives (50% ... 100%): what ``union_p95`` needs
    quantiles: tuple[tuple[float, float], ...] = ()


def union_p95(windows: list[Window]) -> float | None:
    """The p95 of the requests of several windows together: each window's distribution from its
    percentiles (piecewise linear between them), mixed by its requests, solved for 95%. It lies
    between the windows' own p95s, and errs high by up to ~15% when one window has a stall
    (its tail is not linear between Locust's 90th, 95th and 98th percentiles; tests/calibrate/
    test_knee.py). Their maximum (a bound) let one 10-s stall of a shared machine fail a 20-s
    judged part whose p95 met the SLO (13:36: 360 ms then 140 ms at 71 req/s: 268 ms together).
    Windows without percentiles: the maximum of their p95s."""
    if any(w.p95_ms is None for w in windows):
        return None
    if len(windows) == 1 or any(len(w.quantiles) < 2 for w in windows):
        return max(w.p95_ms for w in windows if w.p95_ms is not None)
    grid = sorted({ms for w in windows for _, ms in w.quantiles})
    total = sum(w.requests for w in windows) or 1
    mixed = [sum(w.requests * _cdf(w.quantiles, x) for w in windows) / total for x in grid]
    return float(np.interp(0.95, mixed, grid))


def _cdf(quantiles: tuple[tuple[float, float], ...], ms: float) -> float:
    """A window's share of requests at or below ``ms``, linear between its percentiles (below
    the median: linear from 0 ms)."""
    top: dict[float, float] = {0.0: 0.0}
    for fraction, value in quantiles:  # Locust repeats a value for several percentiles: the highest
        top[value] = max(fraction, top.get(value, 0.0))
    values = sorted(top)
    return float(np.interp(ms, values, [top[v] for v in values]))


@dataclass(frozen=True)
class StepResult:
    """What one step of the staircase measured at the client."""

    name: str
    offered_rps: float  # requests/s the step's plan asked for (all endpoints)
    achieved_rps: float  # requests/s finished
    p95_ms: float | None
    error_rate: float
    trustworthy: bool  # the generator kept up (loadtests.summary)
    on_mix: bool  # a staircase step on the scenario's own mix (knee candidates)
    # disjoint 10-s windows back from the step's last second, in time order (none: the step is
    # judged by its whole p95, as before 2026-11-30)
    windows: tuple[Window, ...] = ()
    # a hold (a confirmation step): its windows from this second on are its steady part, judged
    # for the SLO and for growth; None: a staircase step, judged by its last window only
    settle_s: float | None = None
    ramp_s: float | None = None  # seconds until its throughput reached 90% of its last 5 s'


@dataclass(frozen=True)
class Verdict:
    """A step judged by its steady part (``judge``)."""

    meets: bool
    rate_rps: float  # requests/s finished in the judged windows (the whole step's without windows)
    p95_ms: float | None  # the p95 of the judged windows' requests together (``union_p95``)
    error_rate: float
    growing: bool
    judged_s: float  # seconds judged (0: the whole step)
    why: str  # how it was judged, in words


@dataclass(frozen=True)
class Knee:
    rate_rps: float | None  # highest achieved rate meeting the SLO; None if no step met it
    step: str | None
    slo_p95_ms: float
    slo_error_rate: float
    reached: bool  # some step on the mix broke the SLO (else the knee is only a lower bound)
    note: str
    confirmed: bool = False  # a hold (held to its steady state) met the SLO at this rate
    hold_s: float = 0.0  # that hold's length
    how: str = ""  # how the knee was judged: the hold, its steady windows, what broke above it


# A hold's p95 is "growing" when that of the later half of its steady windows is above the
# earlier half's by more than this share, and as much again would cross the SLO: a queue still
# filling up (the rate is above the one whose steady p95 meets the SLO). A rise that cannot
# reach the SLO is left alone: 10-s windows' p95s move by 20-30% at steady state, and far below
# the SLO that does not matter.
GROWTH = 0.25
# ... unless the later half's rate is above the earlier half's by more than this share: then the
# p95 rose with the load (a hold's judged minutes can rise into the stretch's peak), not because
# a queue is still filling, and the later half is judged by the SLO itself. Measured 2026-11-30
# 17:05: a hold whose last two windows ran 23% more requests than the two before (244, 242 ->
# 314, 283 req/s) had p95s 95, 170 -> 240, 190 ms and was taken for growing, while the same
# load sustained (the peak hour at compress 12, 310 s) held 40-s p95s of 248, 326, 198 ms at
# 283-299 req/s without a trend (docs/calibration.md, "The knee's hold, measured").
RATE_RISE = 0.10


def judge(step: StepResult, slo_p95_ms: float, slo_error_rate: float) -> Verdict:
    """A step judged by its steady part. A hold: its windows from ``settle_s`` on (those at
    least half after it; at least its last two), which must meet the SLO and not grow. A
    staircase step: its last window (a 20-s step is mostly the sessions' ramp; its whole p95
    mixes the ramp's light load in, which let a step meet the SLO although its last seconds
    did not). No windows: the whole step, as before."""
    if not step.windows:
        ok = step.p95_ms is not None and step.p95_ms <= slo_p95_ms and step.error_rate <= slo_error_rate
        return Verdict(ok and step.trustworthy, step.achieved_rps, step.p95_ms, step.error_rate, False, 0.0,
                       f"whole step: p95 {_ms(step.p95_ms)}")
    if step.settle_s is None:
        judged = list(step.windows[-1:])
    else:
        settle = step.settle_s
        judged = [w for w in step.windows if w.end_s - w.seconds / 2 >= settle - 1e-9]
        judged = judged if len(judged) >= 2 else list(step.windows[-2:])
    seconds = sum(w.seconds for w in judged)
    requests = sum(w.requests for w in judged)
    p95s = [w.p95_ms for w in judged]
    p95 = union_p95(judged)
    errors = sum(w.failures for w in judged) / requests if requests else 0.0
    growing, rise = False, 0.0
    if step.settle_s is not None and len(judged) >= 2 and p95 is not None:
        half = len(judged) // 2
        first, last = union_p95(judged[:half]) or 0.0, union_p95(judged[-half:]) or 0.0
        rise = _rate(judged[-half:]) / max(1e-9, _rate(judged[:half])) - 1.0
        growing = (last > slo_p95_ms if rise > RATE_RISE
                   else last - first > GROWTH * first and last + (last - first) > slo_p95_ms)
    ok = (step.trustworthy and p95 is not None and p95 <= slo_p95_ms and errors <= slo_error_rate
          and not growing)
    trend = ", ".join(_ms(p) for p in p95s)
    trend = f"{_ms(p95)} ({trend} by 10 s)" if len(judged) > 1 else trend
    load = (f" (the later half's rate {100 * rise:+.0f}%: judged by the SLO, not by its rise)"
            if rise > RATE_RISE else "")
    why = (f"last {seconds:.0f} s: {requests / seconds if seconds else 0.0:.0f} req/s, p95 {trend}"
           + (" (growing)" if growing else load) + (f", errors {100 * errors:.2f}%" if errors else ""))
    return Verdict(ok, requests / seconds if seconds else 0.0, p95, errors, growing, seconds, why)


def _rate(windows: list[Window]) -> float:
    seconds = sum(w.seconds for w in windows)
    return sum(w.requests for w in windows) / seconds if seconds else 0.0


def _ms(value: float | None) -> str:
    return "none" if value is None else f"{value:.0f} ms"


def knee(steps: list[StepResult], slo_p95_ms: float, slo_error_rate: float) -> Knee:
    """The highest rate on the scenario's mix whose p95 and error rate meet the SLO, each step
    judged by its steady part (``judge``). When holds ran (``settle_s``), the knee is the
    highest hold that met it (confirmed); staircase steps count only below every hold that
    failed (not confirmed). Steps whose generator saturated are left out: their latency
    measures the generator."""
    mix = [s for s in steps if s.on_mix]
    trusted = [s for s in mix if s.trustworthy]
    verdicts = {s.name: judge(s, slo_p95_ms, slo_error_rate) for s in trusted}
    good = [s for s in trusted if verdicts[s.name].meets]
    broken = [s for s in trusted if s not in good]
    holds = [s for s in trusted if s.settle_s is not None]
    confirmed = [s for s in good if s.settle_s is not None]
    failed = [verdicts[s.name].rate_rps for s in holds if s not in good]
    if confirmed:
        good = confirmed
    elif failed:  # no hold met the SLO: the knee is below the slowest that failed, unconfirmed
        good = [s for s in good if verdicts[s.name].rate_rps < min(failed)]
    best = max(good, key=lambda s: verdicts[s.name].rate_rps, default=None)
    if len(trusted) < len(mix):
        note = f"{len(mix) - len(trusted)} step(s) left out: the load generator saturated"
    else:
        note = ""
    if not broken:
        note = (note + "; " if note else "") + "no step broke the SLO: the knee is above the highest rate"
    how = _how(best, holds, verdicts) if best is not None else ""
    return Knee(verdicts[best.name].rate_rps if best else None, best.name if best else None, slo_p95_ms,
                slo_error_rate, bool(broken), note, bool(confirmed), _hold_s(best), how)


def _hold_s(step: StepResult | None) -> float:
    return step.windows[-1].end_s if step is not None and step.settle_s is not None and step.windows else 0.0


def _how(best: StepResult, holds: list[StepResult], verdicts: dict[str, Verdict]) -> str:
    """The knee's provenance in words: the step or hold it is, and the nearest hold above it."""
    v = verdicts[best.name]
    if best.settle_s is not None:
        text = (f"confirmed by a {_hold_s(best):.0f}-s hold ({best.name}), steady from "
                f"{best.settle_s:.0f} s: {v.why}")
    elif holds:
        text = f"not confirmed: every hold broke the SLO; staircase step {best.name}: {v.why}"
    else:
        text = f"not confirmed (no hold ran): staircase step {best.name}: {v.why}"
    above = [s for s in holds if not verdicts[s.name].meets and verdicts[s.name].rate_rps > v.rate_rps]
    nearest = min(above, key=lambda s: verdicts[s.name].rate_rps, default=None)
    if nearest is not None:
        text += f"; above it {nearest.name} broke it: {verdicts[nearest.name].why}"
    return text


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
