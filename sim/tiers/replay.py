"""The model's prediction for one load test, request by request.

A load test replays a stretch with per-endpoint rates that change every model minute
(``60 / compress`` test seconds). Here the same rates drive the request-level network of
``sim.tiers.requestsim`` (Poisson arrivals, piecewise constant; FCFS pools; the tiers' service
distributions), from an empty system as the test starts, and every request's end-to-end
response (the sum of its tiers) is kept, so that the prediction has what the load test
measures: per endpoint throughput, mean, p50/p95/p99 and the share slower than a timeout,
and each tier's utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain import scenario as sc
from domain.platform_spec import CommitCpu
from sim.tiers.host_stretch import CpuGrowth, WallStretch, busy_per_bin, grown
from sim.tiers.requestsim import _Pool, drawn, pools, served
from sim.tiers.workers import Background, Work
from sim.tiers.write_lock import LockSpec
from sim.tiers.writer import covered

# The background's work arrives as Poisson jobs of this mean length (about a scheduler time
# slice). The prediction barely depends on it: 1, 5 and 20 ms gave the heartbeat's mean
# 19.9, 18.1 and 17.8 ms in the 13:21 test (24.3 measured; 11.8 without the background).
BACKGROUND_JOB_S = 0.005


@dataclass(frozen=True)
class EndpointPrediction:
    requests: int
    rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float  # share of requests slower than the timeout
    gate_wait_ms: float = 0.0  # mean wait for a session-gate slot (a tier with threads)


@dataclass(frozen=True)
class HostShare:
    """The host one pool tier's servers run on: each server is a single-threaded process
    (a uvicorn worker: its event loop and the GIL), and the processes share ``cores`` with
    ``background`` cores of other work per bin (the load generator, anything else the host
    ran: ``calibrate.host``), under the operating system's fair time-sharing
    (``sim.tiers.sharing.serve_processes``). Each request goes to a worker drawn at random
    (a uvicorn worker serves the connections it accepted; no shared queue)."""

    tier: str
    cores: float
    background: np.ndarray  # cores busy with other work, per bin of the prediction's rates
    # tiers whose work the tier's processes do themselves (SQLite's group commits, which the
    # workers' event loops run): each such request's service (and a batch's commit) is
    # stretched as the tier's own requests of its 10-s bin were by the sharing
    runs: tuple[str, ...] = ()
    # wall-time demands stretched by the host's busy cores per bin instead (sim.tiers.host_stretch):
    # a writer thread's transactions, and the tiers in ``runs``; None: as calibrated (or the loops')
    wall: WallStretch | None = None


@dataclass(frozen=True)
class Prediction:
    duration_s: float
    endpoints: dict[str, EndpointPrediction]
    utilisation: dict[str, float]  # tier -> busy share of its servers over the test
    # every request's arrival and end-to-end response (s), in arrival order: what a judgement
    # of the prediction by windows needs (calibrate.overload: a queue still filling)
    arrival_s: np.ndarray | None = field(default=None, repr=False, compare=False)
    response_s: np.ndarray | None = field(default=None, repr=False, compare=False)


def arrivals(rates: np.ndarray, bin_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals with piecewise-constant rates (endpoints × bins, requests/s):
    sorted times and each request's endpoint index."""
    times, kinds = [], []
    for b in range(rates.shape[1]):
        for e in np.flatnonzero(rates[:, b] > 0):
            count = rng.poisson(rates[e, b] * bin_s)
            times.append(b * bin_s + rng.uniform(0.0, bin_s, count))
            kinds.append(np.full(count, e))
    if not times:
        return np.empty(0), np.empty(0, int)
    t, k = np.concatenate(times), np.concatenate(kinds)
    order = np.argsort(t, kind="stable")
    return t[order], k[order]


def predict(scenario: sc.Scenario, rates: np.ndarray, bin_s: float, rng: np.random.Generator,
            timeout_s: float = np.inf, host: HostShare | None = None) -> Prediction:
    """``rates``: (platform endpoints × bins) requests/s at test scale; ``host``: serve that
    tier as processes sharing the host's cores with its measured background."""
    rates = np.asarray(rates, float)
    names = [e.name for e in scenario.platform.endpoints]
    if rates.shape[0] != len(names):
        raise ValueError(f"rates: {rates.shape[0]} rows for {len(names)} endpoints")
    horizon = rates.shape[1] * bin_s
    times, kinds = arrivals(rates, bin_s, rng)
    ready, utilisation, gate = _serve(scenario, names, times, kinds, horizon, bin_s, rng, host)
    law = _commit_cpu(scenario)
    if law is not None:  # again, each job's share of its batch's commit from the first pass's batches
        extra = _commit_shares(law[1], names, times, kinds, ready, bin_s, rates.shape[1])
        ready, utilisation, gate = _serve(scenario, names, times, kinds, horizon, bin_s, rng, host,
                                          (law[0], extra))
    response = ready - times
    out = {}
    for i, name in enumerate(names):
        mine = response[kinds == i]
        if mine.size == 0:
            continue
        p50, p95, p99 = np.quantile(mine, (0.5, 0.95, 0.99)) * 1000.0
        out[name] = EndpointPrediction(int(mine.size), mine.size / horizon, float(mine.mean() * 1000.0),
                                       float(p50), float(p95), float(p99), float((mine > timeout_s).mean()),
                                       float(gate[kinds == i].mean() * 1000.0))
    return Prediction(horizon, out, utilisation, times, response)


def _serve(scenario: sc.Scenario, names: list[str], times: np.ndarray, kinds: np.ndarray, horizon: float,
           bin_s: float, rng: np.random.Generator, host: HostShare | None,
           added: tuple[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
    """Every request through the platform's pools in turn: (each request's completion, each
    tier's utilisation, each request's wait for a session-gate slot). ``added``: a tier and
    each request's CPU seconds added to its mean demand there (may be negative): its drawn
    service scaled by (demand + added) / demand, at least 0."""
    ready = times.copy()
    utilisation = {}
    every = pools(scenario)
    stretch: np.ndarray | None = None  # per bin: how much the host's sharing slowed its tier
    host_busy: np.ndarray | None = None  # per bin: the host's busy cores (its tier's CPU and the background)
    gate = np.zeros(times.size)  # each request's wait for a session-gate slot
    for pool in every:
        visits = np.flatnonzero(pool.visits[kinds])
        if visits.size == 0:
            utilisation[pool.name] = 0.0
            continue
        visits = visits[np.argsort(ready[visits], kind="stable")]
        serving, service, extra = drawn(pool, every, times, kinds, visits, rng)
        threads = _threads(scenario, pool.name)
        holds = _route_holds(scenario, pool.name, names)
        work = service + extra
        if added is not None and pool.name == added[0]:  # the mean moved, the draw's shape kept
            mean = pool.demand_s[kinds[visits]]
            work = work * np.maximum(1.0 + added[1][visits] / np.where(mean > 0, mean, np.inf), 0.0)
        work = _grown(scenario, pool.name, work, ready[visits], host, float(pool.servers), bin_s)
        if holds is not None:  # SQLite's lock: the batches beside the routes' own transactions
            write_s = work * _wall(host, pool.name, host_busy, ready[visits], bin_s)
            start, leave, routes, delay = on_lock(holds, times, kinds, ready, visits, write_s, rng)
            ready[routes] += delay
        elif threads is not None and (host is None or pool.name == host.tier):
            start, leave, bins_stretch, gate[visits] = on_workers(
                serving, threads, names, ready[visits], kinds[visits], work, host, bin_s, rng)
            stretch = bins_stretch if host is not None else stretch
        elif host is not None and pool.name == host.tier:
            start, leave, stretch = on_host(serving, ready[visits], work, host, bin_s, rng)
        elif host is not None and host.wall is not None and host_busy is not None and pool.name in host.runs:
            start, leave = _stretched(serving, ready[visits], work,
                                      host.wall.factor(host_busy, host.cores), bin_s, rng)
        elif host is not None and stretch is not None and pool.name in host.runs:
            start, leave = _stretched(serving, ready[visits], work, stretch, bin_s, rng)
        else:
            start, leave = (np.array(x) for x in served(serving, ready[visits].tolist(),
                                                        work.tolist(), rng))
        if host is not None and pool.name == host.tier:
            host_busy = busy_per_bin(ready[visits], leave - start, host.background, bin_s)
        # a tier whose time a writer thread's transaction held (sim/tiers/writer.py) adds none again
        ready[visits] = np.where(covered(scenario, pool.name, names)[kinds[visits]], ready[visits], leave)
        busy = np.clip(np.minimum(leave, horizon) - np.minimum(start, horizon), 0.0, None).sum()
        utilisation[pool.name] = float(busy / (pool.servers * horizon))
    return ready, utilisation, gate


def _commit_cpu(scenario: sc.Scenario) -> tuple[str, CommitCpu] | None:
    """The tier whose group commits' CPU is a commit's and a job's (``PoolTier.commit_cpu``)."""
    for tier in scenario.platform.tiers:
        law = getattr(tier, "commit_cpu", None)
        if law is not None:
            return tier.name, law
    return None


def _commit_shares(law: CommitCpu, names: list[str], times: np.ndarray, kinds: np.ndarray,
                   done: np.ndarray, bin_s: float, bins: int) -> np.ndarray:
    """Per request, the CPU seconds to add to its calibrated demand: for a job of ``law.endpoints``
    ``per_job + per_batch / n - calibrated``, ``n`` the jobs a batch in its arrival's bin (its
    jobs over their distinct completions: a batch's jobs are answered together, on SQLite by the
    writer's commit, on PostgreSQL by the writer thread's); 0 for the others."""
    jobs = np.isin(np.asarray(names)[kinds], law.endpoints)
    which = np.clip((times // bin_s).astype(int), 0, max(bins - 1, 0))
    size = np.ones(max(bins, 1))
    for b in np.unique(which[jobs]):
        mine = done[jobs & (which == b)]
        size[b] = mine.size / max(np.unique(np.round(mine, 9)).size, 1)
    share = (law.per_job_ms + law.per_batch_ms / size - law.calibrated_ms) / 1000.0
    return np.where(jobs, share[which], 0.0)


def _grown(scenario: sc.Scenario, tier: str, work: np.ndarray, arrivals: np.ndarray, host: HostShare | None,
           servers: float, bin_s: float) -> np.ndarray:
    """The tier's requests' service, each times its bin's factor where the tier's CPU demands move
    with the host's busy cores (``PoolTier.cpu_growth``, ``host_stretch.grown``): beside the host's
    background when the tier is the host's, else on a core a server with nothing beside it."""
    found = next((t for t in scenario.platform.tiers if t.name == tier), None)
    spec = getattr(found, "cpu_growth", None)
    if spec is None or spec.per_core == 0.0 or work.size == 0:
        return work
    growth = CpuGrowth(spec.per_core, spec.reference_cores)
    mine = host is not None and host.tier == tier
    level = np.asarray(host.background, float) if mine and host is not None else np.zeros(0)
    cores = host.cores if mine and host is not None else servers
    return grown(work, arrivals, growth, level, cores, bin_s)


def _threads(scenario: sc.Scenario, tier: str) -> sc.WorkerThreads | None:
    """The tier's worker threads, if it has them and serves FCFS (a copy made processor sharing,
    as bench_calibrate's variant is, without validation, keeps its discipline)."""
    found = next((t for t in scenario.platform.tiers if t.name == tier), None)
    return getattr(found, "threads", None) if getattr(found, "discipline", "fcfs") == "fcfs" else None


def _route_holds(scenario: sc.Scenario, tier: str, names: list[str]) -> LockSpec | None:
    """Per endpoint (rows), its own transaction's hold of the tier's write lock in seconds (0:
    none) and the share of its requests that run one, if the tier is a writer with the routes'
    holds (``PoolTier.route_holds``); with its loops' retries (``write_lock.polling``)."""
    found = next((t for t in scenario.platform.tiers if t.name == tier), None)
    holds = getattr(found, "route_holds", None)
    if holds is None:
        return None
    by = getattr(found, "batched_by", None)
    loops = next((getattr(t, "servers", 1) for t in scenario.platform.tiers if t.name == by), 1)
    per_endpoint = np.array([[holds.hold_ms.get(n, 0.0) / 1000.0 for n in names],
                             [holds.share.get(n, 1.0) for n in names],
                             [holds.hold_scv.get(n, 0.0) for n in names]])
    return LockSpec(per_endpoint, loops, holds.retry_ms, holds.retry_min_ms)


def on_lock(spec: LockSpec, times: np.ndarray, kinds: np.ndarray, ready: np.ndarray, visits: np.ndarray,
            write_s: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The writer's batches (``visits``, ready at ``ready``, each ``write_s`` of lock time) on one
    lock with the routes' own transactions (``sim.tiers.write_lock``; ``spec.holds``: per endpoint
    the hold, the share of requests holding and the hold's spread, drawn with ``rng``; its loops'
    retries): (start,
    leave) of the writes, and the routes' requests with how much the wait for the lock delayed each."""
    from sim.tiers.write_lock import polling, route_asks, route_holds, serve_lock

    holds = spec.holds
    routes = np.flatnonzero((holds[0][kinds] > 0) & (rng.random(kinds.size) < holds[1][kinds]))
    hold = route_holds(holds[0][kinds[routes]], holds[2][kinds[routes]], rng)
    asks = route_asks(ready[routes], times[routes], hold)
    loops = polling(spec.retry_ms, spec.retry_min_ms, spec.loops, visits.size, rng)
    served = serve_lock(ready[visits], write_s, asks, hold, loops=loops)
    return served.write_start, served.write_leave, routes, served.hold_start - asks


def on_workers(pool: _Pool, threads: sc.WorkerThreads, names: list[str], arrivals: np.ndarray,
               kinds: np.ndarray, service: np.ndarray, host: HostShare | None, bin_s: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``on_host`` for a tier whose servers are worker processes with an event loop and a thread
    pool behind a session gate (``sim.tiers.workers``): each request's service split into its
    loop, GIL and GIL-free parts in its endpoint's ratio (``threads.sync``), the wake-up cost on
    the loop's part. Without a host the workers have a core each and nothing beside them. The
    stretch per bin is the loop's (the group commits run on it): its work's wall over its CPU.
    Last: each request's wait for a slot."""
    from sim.tiers import batching
    from sim.tiers.workers import serve_workers, split

    sync = np.array([n in threads.sync for n in names])
    loop_s = np.array([threads.sync[n].loop_ms / 1000.0 if n in threads.sync else 0.0 for n in names])
    free_s = np.array([threads.sync[n].free_ms / 1000.0 if n in threads.sync else 0.0 for n in names])
    loop, gil, free = split(service, kinds, pool.demand_s, loop_s, free_s, sync)
    if pool.wakeup_s > 0:
        loop = loop + batching.overhead_shares(arrivals, service, pool.servers, pool.wakeup_s)
    level = np.asarray(host.background, float) if host is not None else np.zeros(0)
    cores = host.cores if host is not None else float(pool.servers)
    work = Work(rng.integers(0, pool.servers, arrivals.size), loop, gil, free, sync[kinds])
    served = serve_workers(arrivals, work, pool.servers, threads.slots, cores, _background(level, bin_s, rng))
    bins = np.clip((arrivals // bin_s).astype(int), 0, max(level.size - 1, 0))
    size = max(level.size, 1)
    cpu = np.bincount(bins, weights=loop, minlength=size)
    wall = np.bincount(bins, weights=served.loop_end - served.loop_begin, minlength=size)
    stretch = np.where(cpu > 0, wall / np.where(cpu > 0, cpu, 1.0), 1.0)
    leave = served.leave
    if threads.writer is not None:  # the writing endpoints' jobs then go to their worker's writer thread
        from sim.tiers.writer import through

        factor = None  # the host's busy cores per bin stretch its transactions (sim.tiers.host_stretch)
        if host is not None and host.wall is not None:
            busy = busy_per_bin(arrivals, loop + gil + free, level, bin_s)
            factor = host.wall.factor(busy, host.cores)[bins]
        leave = through(threads.writer, names, kinds, leave, work.worker, pool.servers, rng, factor)
    return leave - (loop + gil + free), leave, stretch, served.gate_wait


def _background(level: np.ndarray, bin_s: float, rng: np.random.Generator) -> Background | None:
    """The host's other work per bin as processes (as many as its busiest bin needs cores) each
    taking an even share of Poisson jobs of ``BACKGROUND_JOB_S``, as ``on_host`` has it."""
    others = int(np.ceil(level.max())) if level.size and level.max() > 0 else 0
    if others == 0:
        return None
    times, sizes, owners = [], [], []
    for b in np.flatnonzero(level > 0):
        count = rng.poisson(level[b] * bin_s / BACKGROUND_JOB_S)
        times.append(b * bin_s + rng.uniform(0.0, bin_s, count))
        sizes.append(rng.exponential(BACKGROUND_JOB_S, count))
        owners.append(rng.integers(0, others, count))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    return Background(t[order], np.concatenate(sizes)[order], np.concatenate(owners)[order], others)


def _wall(host: HostShare | None, tier: str, busy: np.ndarray | None, arrivals: np.ndarray,
          bin_s: float) -> np.ndarray | float:
    """Per request of ``tier``: the factor on its wall-time service where the host's busy cores
    stretch it (``HostShare.wall``, the tier in ``runs``, the host tier served before), else 1."""
    if host is None or host.wall is None or busy is None or tier not in host.runs:
        return 1.0
    bins = np.clip((arrivals // bin_s).astype(int), 0, busy.size - 1)
    factor: np.ndarray = host.wall.factor(busy, host.cores)[bins]
    return factor


def _stretched(pool: _Pool, arrivals: np.ndarray, service: np.ndarray, stretch: np.ndarray, bin_s: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A tier whose work the host tier's processes do: each request's service (and the commit
    of a batch) lengthened by the stretch of its bin (the commit by the mean), served as usual."""
    from dataclasses import replace

    factor = stretch[np.clip((arrivals // bin_s).astype(int), 0, stretch.size - 1)]
    slowed = replace(pool, commit_s=pool.commit_s * float(np.mean(factor))) if arrivals.size else pool
    start, leave = served(slowed, arrivals.tolist(), (service * factor).tolist(), rng)
    return np.asarray(start), np.asarray(leave)


def on_host(pool: _Pool, arrivals: np.ndarray, service: np.ndarray, host: HostShare, bin_s: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, leave) of the tier's requests served by its ``servers`` processes beside the
    background's processes (as many as its busiest bin needs cores, each taking an even share
    of its jobs), and per bin how much the sharing stretched them in service (wall time in
    service over CPU; 1 in a bin without requests). A wake-up cost (``wakeup_ms``) lengthens
    each request by its mean share, as under processor sharing (``batching.overhead_shares``)."""
    from sim.tiers import batching
    from sim.tiers.sharing import time_share

    if pool.wakeup_s > 0:
        service = service + batching.overhead_shares(arrivals, service, pool.servers, pool.wakeup_s)
    level = np.asarray(host.background, float)
    times, sizes, owners = [arrivals], [service], [rng.integers(0, pool.servers, arrivals.size)]
    background = _background(level, bin_s, rng)
    others = background.processes if background is not None else 0
    if background is not None:
        times.append(background.times)
        sizes.append(background.sizes)
        owners.append(pool.servers + background.owners)
    t, s, o = np.concatenate(times), np.concatenate(sizes), np.concatenate(owners)
    order = np.argsort(t, kind="stable")
    begin, leave = (np.asarray(x) for x in time_share(t[order].tolist(), s[order].tolist(), o[order].tolist(),
                                                       pool.servers + others, host.cores))
    mine = np.empty(order.size, int)
    mine[order] = np.arange(order.size)
    keep = mine[: arrivals.size]
    begin, leave = begin[keep], leave[keep]
    bins = np.clip((arrivals // bin_s).astype(int), 0, level.size - 1) if level.size else np.zeros(0, int)
    size = max(level.size, 1)
    cpu = np.bincount(bins, weights=service, minlength=size)
    wall = np.bincount(bins, weights=leave - begin, minlength=size)
    stretch = np.where(cpu > 0, wall / np.where(cpu > 0, cpu, 1.0), 1.0)
    return leave - service, leave, stretch
