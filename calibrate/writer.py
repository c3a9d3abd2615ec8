"""The SQLite writer's cost, a commit's and a write's, from the server's own commit timings.

A group commit of n writes holds SQLite's one write lock for about ``c + n·d``: ``c`` the
commit's fixed cost (BEGIN IMMEDIATE, the fsync, the lock's hand-over), ``d`` each write's
statements. The model's writer is that (``sim/tiers/batching.py``: a tier's ``commit_ms`` and
each writing endpoint's ``demand_ms`` there). The tier's busy time alone cannot tell the two
apart when a calibration's batches are ~1 write each (the batches and the writes then come in
a fixed ratio: one "tied group", ``calibrate.demands``): on 2026-11-30 the calibrations put
1.98 ms on the write and 0 on the commit, and the database was over-predicted as the batches
grew with the load (lock time a write 1.94 -> 1.40 ms from 85 to 130% of the knee).

The reference times each commit by its size (``yanxiu_commit_seconds_by_size{jobs=1|2|3-4|
5-8|9+}`` with ``yanxiu_commit_jobs_by_size_total``): per bin of a step and per band, the lock
seconds, the commits and their writes. A band's seconds = c·commits + d·writes, so the cells of
all bins and bands are a regression with many commits in each: the bands 1 and 2 alone
identify both numbers, whatever the steps' mix. Non-negative least squares, each cell weighted
by 1/commits (a cell's sum of commit times has a variance proportional to its commits);
intervals by the block bootstrap over steps, as ``calibrate.fit`` has them.

The lock time is wall-clock time of the api worker's event loop, which holds the lock while it
runs the batch: beside other work on the host the same commit holds it longer. So the fit takes
the steps whose lone-write commits were about as short as the quietest step's (``quiet_steps``)
and says which it left out; what the host's other work does during a load test is the
prediction's business (``sim.tiers.replay.HostShare``), not the writer's cost.

A target without these timers (``--host`` on another server) keeps the tier's fit by the
utilisation law (``calibrate.fit.fit_tier``), and the platform file says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import nnls

from calibrate import fit as fitting
from calibrate import spread

BOOTSTRAP = 400
QUIET = 1.5  # a step's lone commit at most this many times the quietest step's (``quiet_steps``)
MIN_LONE = 30  # lone-write commits a step needs to be judged
# the server's bands (reference.metrics.COMMIT_SIZES; calibrate may not import the reference)
BANDS = ("1", "2", "3-4", "5-8", "9+")
_KEYS = ("(lock_s {})", "(commits {})", "(jobs {})")  # a row's pseudo-counts, per band


def row_counts(before: dict[str, tuple[float, float, float]],
               after: dict[str, tuple[float, float, float]]) -> dict[str, float]:
    """A bin's lock seconds, commits and writes per band (``Scrape.by_size`` before and after
    it), as pseudo-counts of a ``fit.Row`` (as ``fit.BATCHES`` and ``fit.JOBS`` are): the
    rows a calibration records then hold them, and a fit can be redone from its file."""
    out = {}
    for band, now in after.items():
        then = before.get(band, (0.0, 0.0, 0.0))
        for key, a, b in zip(_KEYS, then, now, strict=True):
            out[key.format(band)] = b - a
    return out


@dataclass(frozen=True)
class Band:
    """One band's totals over the fitted rows, and the lock time a commit of it the fit gives."""

    band: str
    commits: float
    writes: float
    lock_s: float
    fitted_s: float  # c·commits + d·writes

    @property
    def mean_ms(self) -> float:
        return 1000.0 * self.lock_s / self.commits if self.commits else 0.0


@dataclass(frozen=True)
class StepCost:
    """One step's commits: what a constant c + n·d cannot follow shows here. On 2026-11-30 19:28
    (a shared machine) a lone write's commit held the lock 1.7-2.1 ms in the steps up to 40
    requests/s and 4.7-7.6 ms at 68-174 requests/s: wall-clock time that grows with the load."""

    step: int
    commits: float
    writes: float
    lock_s: float
    lone_ms: float | None  # mean lock time of its one-write commits (band 1); None if it had none


@dataclass(frozen=True)
class WriterFit:
    commit: fitting.Demand  # ms a commit; ``requests``: the commits fitted
    write: fitting.Demand  # ms a write; ``requests``: the writes fitted
    bands: tuple[Band, ...]
    cells: int  # (bin, band) cells with commits
    steps: int
    # share of the tier's busy time's variance across bins that c·commits + d·writes explains
    r2_bins: float
    per_step: tuple[StepCost, ...] = ()
    left_out: tuple[int, ...] = ()  # steps not fitted: their lone commits held the lock longer (quiet_steps)

    def text(self) -> str:
        return (f"{self.commit.ms:.3g} [{self.commit.lo_ms:.3g}, {self.commit.hi_ms:.3g}] ms a commit + "
                f"{self.write.ms:.3g} [{self.write.lo_ms:.3g}, {self.write.hi_ms:.3g}] ms a write, from the "
                f"server's commit timings by batch size (yanxiu_commit_seconds_by_size: "
                f"{self.commit.requests:,} commits of {self.write.requests:,} writes, {self.cells} bin x "
                f"band cells, {self.steps} steps; R² {self.r2_bins:.3f} over the bins"
                + (f"; {len(self.left_out)} step(s) left out, their lone commits held the lock over "
                   f"{QUIET:g}x the quietest step's: the host's other work" if self.left_out else "") + ")")


def _cells(rows: list[fitting.Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(step, commits, writes, lock seconds) of every (row, band) cell with commits."""
    out = []
    for row in rows:
        for band in BANDS:
            lock, commits, jobs = (row.requests.get(k.format(band)) for k in _KEYS)
            if lock is not None and commits and commits > 0 and jobs is not None:
                out.append((row.step, commits, jobs, lock))
    table = np.array(out, float).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def _solve(commits: np.ndarray, writes: np.ndarray, lock: np.ndarray) -> np.ndarray:
    """(c, d) in seconds: NNLS of lock = c·commits + d·writes, each cell weighted by 1/commits."""
    weight = 1.0 / np.sqrt(commits)
    design = np.column_stack([commits, writes]) * weight[:, None]
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(design / scale, lock * weight)
    return np.asarray(coef / scale, float)


def why_not(rows: list[fitting.Row]) -> str:
    """Why ``fit_writer`` found nothing to fit ("" when it can)."""
    steps, commits, writes, _ = _cells(rows)
    if commits.size == 0:
        return ("the target has no commit timers by batch size (yanxiu_commit_seconds_by_size): a commit's "
                "and a write's cost are the utilisation law's fit of the lock time per bin")
    sizes = writes / commits
    if np.ptp(sizes) < 0.5:
        return (f"every commit had about {sizes.mean():.2g} writes: a commit's and a write's cost cannot be "
                "told apart; kept the utilisation law's fit of the lock time per bin")
    return ""


def quiet_steps(rows: list[fitting.Row]) -> set[int]:
    """The steps whose lone-write commits (at least ``MIN_LONE``) held the lock at most ``QUIET``
    times as long as the least such step's: the lock time is the api loop's wall-clock time,
    and a step beside other work holds it longer for the same commit (2026-11-30 19:28: 1.7-2.1
    ms in the quiet steps, 4.7-5.3 ms beside 1.3 cores of others' work). A step without enough
    lone commits is not judged, and not kept."""
    lone = {}
    for step in {r.step for r in rows}:
        seconds, commits = (sum(r.requests.get(k.format("1"), 0.0) for r in rows if r.step == step)
                            for k in _KEYS[:2])
        if commits >= MIN_LONE:
            lone[step] = seconds / commits
    least = min(lone.values(), default=0.0)
    return {step for step, s in lone.items() if s <= QUIET * least}


def fit_writer(rows: list[fitting.Row], tier: str, rng: np.random.Generator) -> WriterFit | None:
    """c and d with 95% block-bootstrap intervals over steps; None when ``why_not`` says why.
    Fitted on the ``quiet_steps`` when they identify both (else on all the rows): replayed on
    six validation replays (2026-11-30 19:36-19:55), the database's utilisation at the achieved
    load was off by +0.5/-7.5/-3.0/-17.7/-2.8/-1.6 points with the quiet steps' split and by
    +10.4/+21.1/+5.5/+7.8/+14.9/+31.2 with all steps' (docs/calibration.md). ``tier``: the
    writer's tier, whose busy time per bin gives the check ``r2_bins``."""
    if why_not(rows):
        return None
    kept = quiet_steps(rows)
    quiet = [r for r in rows if r.step in kept]
    busy = sorted({r.step for r in rows if r.step not in kept and _lone(r)})
    if busy and quiet and not why_not(quiet):
        return replace(_fit(quiet, tier, rng), left_out=tuple(busy), per_step=_per_step(rows))
    return _fit(rows, tier, rng)


def _lone(row: fitting.Row) -> float:
    return row.requests.get(_KEYS[1].format("1"), 0.0)


def _fit(rows: list[fitting.Row], tier: str, rng: np.random.Generator) -> WriterFit:
    steps, commits, writes, lock = _cells(rows)
    coef = _solve(commits, writes, lock)
    blocks = [np.flatnonzero(steps == s) for s in np.unique(steps)]
    draws = np.empty((BOOTSTRAP, 2))
    for b in range(BOOTSTRAP):
        chosen = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), len(blocks))])
        draws[b] = (_solve(commits[chosen], writes[chosen], lock[chosen])
                    if np.ptp(writes[chosen] / commits[chosen]) >= 0.5 else coef)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0) * 1000.0
    bands = []
    for band in BANDS:
        got = [[r.requests.get(k.format(band), 0.0) for k in _KEYS] for r in rows]
        lock_s, n, jobs = (float(sum(g[i] for g in got)) for i in range(3))
        if n > 0:
            bands.append(Band(band, n, jobs, lock_s, float(coef[0] * n + coef[1] * jobs)))
    total_c, total_w = float(commits.sum()), float(writes.sum())
    return WriterFit(fitting.Demand(float(coef[0] * 1000), float(lo[0]), float(hi[0]), int(round(total_c))),
                     fitting.Demand(float(coef[1] * 1000), float(lo[1]), float(hi[1]), int(round(total_w))),
                     tuple(bands), int(commits.size), len(blocks), _r2_bins(rows, tier, coef),
                     _per_step(rows))


def _per_step(rows: list[fitting.Row]) -> tuple[StepCost, ...]:
    out = []
    for step in sorted({r.step for r in rows}):
        mine = [r for r in rows if r.step == step]
        lock, commits, writes = (sum(r.requests.get(k.format(b), 0.0) for r in mine for b in BANDS)
                                 for k in _KEYS)
        lone = [sum(r.requests.get(k.format("1"), 0.0) for r in mine) for k in _KEYS[:2]]
        if commits > 0:
            out.append(StepCost(step, commits, writes, lock, 1000.0 * lone[0] / lone[1] if lone[1] else None))
    return tuple(out)


def _r2_bins(rows: list[fitting.Row], tier: str, coef: np.ndarray) -> float:
    """The tier's busy seconds per bin against c·(the bin's commits) + d·(its writes)."""
    seen = [r for r in rows if tier in r.busy_s]
    busy = np.array([r.busy_s[tier] for r in seen])
    counted = np.array([[sum(r.requests.get(_KEYS[i].format(b), 0.0) for b in BANDS) for i in (1, 2)]
                        for r in seen]).reshape(-1, 2)
    spread = float(((busy - busy.mean()) ** 2).sum()) if busy.size else 0.0
    residual = busy - counted @ coef
    return 1.0 - float((residual**2).sum()) / spread if spread > 0 else 0.0


def as_tier(fit: fitting.TierFit, found: WriterFit) -> fitting.TierFit:
    """The writer's tier fit with the by-size split: each writing endpoint of ``fit`` (its
    requests are the writer's jobs, about one each: ``fit.writers``) costs ``d`` a request,
    each batch ``c``; no idle term (the lock is held only by commits), and no tied group (the
    split is identified by the commits' sizes, not by the mix)."""
    demands = {name: replace(found.write, requests=d.requests, with_batches=d.with_batches)
               for name, d in fit.demands.items() if name != fitting.BATCHES}
    demands[fitting.BATCHES] = found.commit
    return replace(fit, idle_rate=0.0, demands=demands, r2=found.r2_bins, tied=())


# a row's pseudo-counts of the routes' own write transactions, per endpoint (``hold_counts``)
_HOLD_KEYS = ("(hold_s {})", "(holds {})")
MIN_HOLDS = 10  # transactions an endpoint needs for its hold to be written


def hold_counts(before: dict[str, tuple[float, float]],
                after: dict[str, tuple[float, float]]) -> dict[str, float]:
    """A bin's seconds and count of the routes' own write transactions per endpoint
    (``Scrape.route_holds`` before and after it), as a ``fit.Row``'s pseudo-counts."""
    out = {}
    for endpoint, now in after.items():
        then = before.get(endpoint, (0.0, 0.0))
        for key, a, b in zip(_HOLD_KEYS, then, now, strict=True):
            out[key.format(endpoint)] = b - a
    return out


# The holds' spreads and a blocked loop's retries are served (``for_endpoints``, ``commit_service``),
# read over the calibration's steps below half the knee (``calibrate.spread.below_knee``): read over
# all its steps they overshot the lock's wait at the quietest level (02:44, 60% on a quiet host: the
# heartbeat +21%/+41%; 04:39 baseline, 30%: the model's wait 1.53 ms against the server's 1.00), below
# half the knee 0.99 ms, and the heartbeat's errors at the baseline's four levels 1-22 points nearer
# (docs/calibration-log.md, "The holds' spread read below half the knee"). False: named in the
# tier's note only, the writer exponential and the holds fixed (as before 2026-12-01).
WRITE_SPREADS = True

# a row's pseudo-counts of a blocked loop's retries (``retry_counts``): "(retry sum)", "(retry count)",
# "(retry le 0.001)"...; the least retry is the bound below which fewer than LEAST_SHARE of them fall
_RETRY = "(retry {})"
MIN_RETRIES = 50  # retries the calibration needs for the loops' retry interval to be written
LEAST_SHARE = 0.05


def retry_counts(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """A bin's blocked-loop retries (``Scrape.commit_retry`` before and after it: seconds, count and
    the histogram's buckets), as a ``fit.Row``'s pseudo-counts."""
    return {_RETRY.format(key): value - before.get(key, 0.0) for key, value in after.items()}


def retries(rows: list[fitting.Row]) -> dict[str, float] | None:
    """``route_holds``' ``retry_ms`` (a blocked loop's mean retry interval, failed try to next
    try: ``yanxiu_commit_retry_seconds`` over the steps) and ``retry_min_ms`` (the least bucket
    bound that holds at least LEAST_SHARE of them; 0 if the first does), or None under MIN_RETRIES."""
    prefix = _RETRY.format("")[:-1]
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        for key, value in row.requests.items():
            if key.startswith(prefix):
                totals[key[len(prefix):-1]] += value
    count = totals.get("count", 0.0)
    if count < MIN_RETRIES:
        return None
    below = sorted((float(k[3:]), v) for k, v in totals.items() if k.startswith("le ") and k[3:] != "+Inf")
    least = 0.0
    for bound, within in below:
        if within >= LEAST_SHARE * count:
            break
        least = bound
    mean_ms = 1000.0 * totals.get("sum", 0.0) / count
    return {"retry_ms": round(mean_ms, 3), "retry_min_ms": round(min(1000.0 * least, mean_ms), 3),
            "retries": count}


def route_holds(rows: list[fitting.Row],
                spread_rows: list[fitting.Row] | None = None) -> dict[str, object] | None:
    """The routes' own write transactions on SQLite's lock, for the writer tier's ``route_holds``
    (sim/tiers/write_lock.py): per endpoint with at least ``MIN_HOLDS`` of them, the mean time
    one held the lock (``yanxiu_write_lock_held_seconds{endpoint}``) and their share of its
    requests; None when the server timed none by endpoint. The hold is wall-clock time at the
    calibration's loads (its Python between statements waits for the GIL: 7-18 ms at 60-110% of
    the knee against ~4 ms at 30%, 2026-11-30), so it is the steps' mean, not a law of the load.
    Their spread (``hold_scv``) and the loops' retries are read over ``spread_rows`` (the steps
    below half the knee: ``calibrate.spread.below_knee``; None: ``rows``); the means over ``rows``:
    below half the knee they were half what a level at 30% held (04:39: a test submission 5.1 ms
    against 8.5; over all the stable steps 9.4)."""
    spread_rows = rows if spread_rows is None else spread_rows
    hold_ms: dict[str, float] = {}
    share: dict[str, float] = {}
    hold_scv: dict[str, float] = {}
    counted = []
    prefix = _HOLD_KEYS[0].format("")[:-1]
    endpoints = sorted({k[len(prefix):-1] for row in rows for k in row.requests if k.startswith(prefix)})
    for name in endpoints:
        seconds, count = (sum(r.requests.get(k.format(name), 0.0) for r in rows) for k in _HOLD_KEYS)
        requests = sum(r.requests.get(name, 0.0) for r in rows)
        if count >= MIN_HOLDS and seconds > 0:
            # a request with several transactions (a test submission: 2, 2026-11-30) holds once
            # for their sum: the lock's busy time is kept, their gaps (the route's own work) not
            holding = min(count, requests) if requests > 0 else count
            hold_ms[name] = round(1000.0 * seconds / holding, 3)
            share[name] = round(holding / requests, 4) if requests > 0 else 1.0
            counted.append(f"{name} {hold_ms[name]:.3g} ms x {int(count):,}")
            # one transaction's spread; a hold of k of them (their sum, independent) has 1/k of it
            one = _one_scv(spread_rows, name)
            if one is not None and one > 0:
                hold_scv[name] = round(one * holding / count, 3)
    if not hold_ms:
        return None
    note = ("measured: yanxiu_write_lock_held_seconds by endpoint over the calibration's steps ("
            + ", ".join(counted) + ")")
    steps = len({r.step for r in spread_rows if r.step >= 0})
    below = "" if spread_rows is rows else f" over its {steps} steps below half the knee"
    if hold_scv:
        note += f"; spread (scv){below} " + ", ".join(f"{e} {v:.3g}" for e, v in hold_scv.items())
    polled = retries(spread_rows)
    spread_of = {"hold_scv": hold_scv} if hold_scv else {}
    if polled is None:
        note += "; they take SQLite's lock after any waiting batch"
        return {"hold_ms": hold_ms, "share": share, **spread_of, "note": note}
    least = f", never under {polled['retry_min_ms']:.3g}" if polled["retry_min_ms"] > 0 else ""
    note += (f"; a blocked loop retries every {polled['retry_ms']:.3g} ms on average{least} "
             f"(yanxiu_commit_retry_seconds, {int(polled['retries']):,} tries{below})")
    return {"hold_ms": hold_ms, "share": share, **spread_of, "retry_ms": polled["retry_ms"],
            "retry_min_ms": polled["retry_min_ms"], "note": note}


def _one_scv(rows: list[fitting.Row], name: str) -> float | None:
    """The scv of one of ``name``'s transactions over ``rows`` (its buckets and exact mean)."""
    seconds, count = (sum(r.requests.get(k.format(name), 0.0) for r in rows) for k in _HOLD_KEYS)
    return spread.scv(spread.summed(rows, f"held {name}"), seconds / count) if count > 0 else None


def for_endpoints(measured: dict[str, Any] | None, names: set[str]) -> dict[str, Any] | None:
    """``route_holds``' figures for the endpoints ``names`` only (a scenario's: a server's other
    routes and its work outside requests are left out); None if none of them held the lock."""
    if not measured or not names & set(measured["hold_ms"]):
        return None
    retry: dict[str, Any] = {key: measured[key] for key in ("retry_ms", "retry_min_ms")
                             if key in measured and WRITE_SPREADS}
    scv = {e: v for e, v in measured.get("hold_scv", {}).items() if e in names and WRITE_SPREADS}
    return {"hold_ms": {e: ms for e, ms in measured["hold_ms"].items() if e in names},
            "share": {e: v for e, v in measured["share"].items() if e in names},
            **({"hold_scv": scv} if scv else {}), **retry, "note": measured["note"]}


def commit_service(rows: list[fitting.Row]) -> dict[str, Any] | None:
    """The writer tier's ``service`` shape from the group commits' holds (``calibrate.spread``,
    yanxiu_commit_seconds' buckets over ``rows``: the steps below half the knee, as the routes'
    spreads are read): lognormal of their scv. A commit is ~1 write
    at the calibration's loads (its steps' batches), so a write's spread is taken as a commit's;
    None without the buckets (the tier stays exponential)."""
    buckets = spread.summed(rows, "commit")
    lock = sum(sum(r.requests.get(_KEYS[0].format(b), 0.0) for b in BANDS) for r in rows)
    commits = sum(sum(r.requests.get(_KEYS[1].format(b), 0.0) for b in BANDS) for r in rows)
    found = spread.scv(buckets, lock / commits) if commits > 0 else None
    return {"kind": "lognormal", "scv": round(found, 3)} if found else None


def record(found: WriterFit | None, why: str) -> dict[str, object]:
    """The writer's split for the calibration's provenance (``calibration.json`` ``writer``)."""
    if found is None:
        return {"source": "utilisation law (lock time per bin)", "why": why}
    return {"source": "yanxiu_commit_seconds_by_size", "commit_ms": found.commit.__dict__,
            "write_ms": found.write.__dict__, "cells": found.cells, "steps": found.steps,
            "r2_bins": found.r2_bins,
            "bands": [{"band": b.band, "commits": b.commits, "writes": b.writes, "mean_ms": b.mean_ms,
                       "fitted_ms": 1000.0 * b.fitted_s / b.commits} for b in found.bands],
            "per_step": [s.__dict__ for s in found.per_step], "left_out_steps": list(found.left_out)}
