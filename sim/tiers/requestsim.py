"""Request-level SimPy simulation of the platform's pool tiers.

Every request is an individual customer: Poisson arrivals (per endpoint), first-come
first-served queues with c servers per tier, service times drawn around each endpoint's
demand (exponential, deterministic or a general shape, as the tier says), visiting the endpoint's tiers in the
platform's order. Nothing is scaled: it always runs at full-scale rates on all the servers,
so it is used on a sampled minute (or a few seconds of one) to confirm the analytic
per-minute figures of ``sim.tiers.platform``, and for open-workload scenarios (``workload:``);
the replications of both are in ``sim.tiers.experiments``.

Design for speed: arrival and service times are drawn up front with NumPy; the network is
feed-forward, so tiers are simulated one after another, each by c SimPy server processes
that take requests in arrival order (about one event per request); times are analysed
afterwards with NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import simpy

from domain import scenario as sc
from sim.tiers import service as general
from sim.tiers.turns import loop_batches

PERCENTILES = (0.50, 0.95, 0.99)


@dataclass(frozen=True)
class TierStats:
    """One tier in one replication, measured on arrivals inside [warmup, end)."""

    requests: int
    arrival_rate: float  # requests/s entering the tier
    utilisation: float  # busy server-time share
    mean_wait_s: float
    mean_response_s: float  # time in the tier: wait + service
    mean_in_system: float  # time-average number of requests at the tier (queue + service)
    p50_s: float
    p95_s: float
    p99_s: float
    # Control variates (known mean 0): relative deviation of the measured arrival rate and of
    # the mean service time drawn from their true values. Used by ``Estimate.controlled``.
    arrival_control: float = 0.0
    service_control: float = 0.0


@dataclass(frozen=True)
class _Pool:
    name: str
    servers: int
    service: general.Service
    demand_s: np.ndarray  # per endpoint, its mean demand at the tier (0 where it does not visit)
    visits: np.ndarray  # per endpoint, whether it visits the tier (a visit may cost 0: Endpoint.visits)
    discipline: str = "fcfs"
    commit_s: float = 0.0  # group-commit: the batch's fixed cost
    wakeup_s: float = 0.0  # an event loop's fixed cost per wake-up (wakeup_ms)
    batched_by: str | None = None  # group-commit: by these event loops' turns (sim/tiers/turns.py)


def pools(scenario: sc.Scenario) -> list[_Pool]:
    endpoints = scenario.platform.endpoints
    return [_Pool(t.name, t.servers, t.service,
                  np.array([e.demand_ms.get(t.name, 0.0) / 1000.0 for e in endpoints]),
                  np.array([e.visits(t.name) for e in endpoints], bool),
                  getattr(t, "discipline", "fcfs"), getattr(t, "commit_ms", 0.0) / 1000.0,
                  getattr(t, "wakeup_ms", 0.0) / 1000.0, getattr(t, "batched_by", None))
            for t in scenario.platform.tiers if t.kind == "pool"]


def drawn(pool: _Pool, every: list[_Pool], times: np.ndarray, kinds: np.ndarray, visits: np.ndarray,
          rng: np.random.Generator, window_s: float = 10.0) -> tuple[_Pool, np.ndarray, np.ndarray]:
    """Service times of the requests ``visits`` (indices into ``times``, the arrivals, and
    ``kinds``) at ``pool``, the pool to serve them on, and what each is served beyond its own
    service. A writer whose batches the event loops' turns form (``batched_by``) is served
    with each write's mean share of the commit, commit / E[N] at the rates of the ``window_s``
    it came in (``sim.tiers.turns``), in gated batches without a commit of their own: its busy
    time is then the loops' chain's."""
    service = _service_times(pool, kinds[visits], rng)
    if pool.batched_by is None or pool.commit_s <= 0 or visits.size == 0:
        return pool, service, np.zeros(service.size)
    loop = next(p for p in every if p.name == pool.batched_by)
    window = np.floor(times / window_s).astype(int)
    rates = np.zeros((pool.demand_s.size, int(window.max()) + 1))
    np.add.at(rates, (kinds, window), 1.0 / window_s)
    batch = loop_batches(rates, loop.demand_s, loop.visits, loop.servers, loop.wakeup_s,
                         pool.demand_s, pool.visits, pool.commit_s)
    return replace(pool, commit_s=0.0), service, pool.commit_s / batch[window[visits]]


def _arrivals(rates: np.ndarray, horizon_s: float, rng: np.random.Generator):
    """Merged Poisson arrivals: sorted times and each request's endpoint index."""
    total = float(rates.sum())
    count = int(rng.poisson(total * horizon_s))
    times = np.sort(rng.uniform(0.0, horizon_s, count))
    kinds = rng.choice(len(rates), size=count, p=rates / total)
    return times, kinds


def _service_times(pool: _Pool, kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return general.draw(pool.service, rng, kinds.size) * pool.demand_s[kinds]


def serve(arrivals: list[float], service: list[float], servers: int) -> tuple[list, list]:
    """One FCFS tier with ``servers`` servers in SimPy: (start, leave) time of each request.

    ``arrivals`` must be sorted. Each server is a process that, when free, takes the next
    request in arrival order (waiting for it to arrive if need be) and serves it: exactly
    first-come first-served on identical servers, with about one event per request.
    """
    env = simpy.Environment()
    n = len(arrivals)
    start = [0.0] * n
    leave = [0.0] * n
    taken = [0]

    def server():
        while taken[0] < n:
            request = taken[0]
            taken[0] = request + 1
            arrival = arrivals[request]
            if arrival > env.now:
                yield env.timeout(arrival - env.now)
                # now + (arrival - now) can miss the arrival by an ulp: a wait of +-1e-17 s
                start[request] = arrival
            else:
                start[request] = env.now
            yield env.timeout(service[request])
            leave[request] = env.now

    for _ in range(min(servers, n)):
        env.process(server())
    env.run()
    return start, leave


def served(pool: _Pool, arrivals: list[float], service: list[float],
           rng: np.random.Generator | None = None) -> tuple[list, list]:
    """(start, leave) per request under the tier's discipline. With ``wakeup_ms`` each server
    is an event loop paying that once per wake-up for every request ready then: request by
    request (FCFS: ``serve_batches``' event loop), or as each request's mean share of it
    (processor sharing, which has no batches of its own: ``overhead_shares``). A request goes
    to a loop drawn with ``rng`` (so each loop's arrivals are Poisson, as in the fit's chain),
    in turn without one."""
    from sim.tiers import batching

    if pool.discipline == "processor-sharing":
        from sim.tiers.sharing import serve_ps

        if pool.wakeup_s > 0:
            service = list(np.add(service, batching.overhead_shares(np.array(arrivals), np.array(service),
                                                                    pool.servers, pool.wakeup_s)))
        return serve_ps(arrivals, service, pool.servers)
    if pool.discipline == "group-commit":
        return batching.serve_batches(arrivals, service, pool.servers, pool.commit_s)
    if pool.wakeup_s > 0:
        assign = rng.integers(0, pool.servers, len(arrivals)) if rng is not None else None
        return batching.serve_batches(arrivals, service, pool.servers, pool.wakeup_s, True, assign)
    return serve(arrivals, service, pool.servers)


def simulate(scenario: sc.Scenario, rps: Mapping[str, float], duration_s: float,
             warmup_s: float, rng: np.random.Generator) -> dict[str, TierStats]:
    """Simulate ``warmup_s + duration_s`` seconds at the given full-scale endpoint rates.

    Requests visit their endpoint's tiers in the platform's order (a feed-forward network),
    so the tiers are simulated one after another: a tier's arrivals are the departures of
    each request's previous tier. Arrivals stop at the horizon; queues then drain.
    """
    names = [e.name for e in scenario.platform.endpoints]
    unknown = set(rps) - set(names)
    if unknown:
        raise ValueError(f"rps: unknown endpoints {sorted(unknown)}")
    rates = np.array([float(rps.get(n, 0.0)) for n in names])
    if rates.sum() <= 0 or np.any(rates < 0):
        raise ValueError("rps: rates must be non-negative with a positive total")
    horizon = warmup_s + duration_s
    times, kinds = _arrivals(rates, horizon, rng)
    ready = times.copy()  # when each request reaches its next tier
    out = {}
    every = pools(scenario)
    for pool in every:
        visits = np.flatnonzero(pool.visits[kinds])
        if visits.size == 0:
            continue
        visits = visits[np.argsort(ready[visits], kind="stable")]
        enter = ready[visits]
        serving, service, extra = drawn(pool, every, times, kinds, visits, rng)
        start, leave = (np.array(x) for x in served(serving, enter.tolist(), (service + extra).tolist(), rng))
        ready[visits] = leave
        expected_rate = float(rates[pool.visits].sum())
        expected_s = float((rates * pool.demand_s).sum()) / expected_rate
        out[pool.name] = _stats(pool, enter, start, leave, warmup_s, horizon, service,
                                expected_rate, expected_s)
    return out


def _overlap(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> float:
    return float(np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None).sum())


def _stats(pool: _Pool, enter: np.ndarray, start: np.ndarray, leave: np.ndarray,
           lo: float, hi: float, service: np.ndarray, expected_rate: float,
           expected_s: float) -> TierStats:
    window = hi - lo
    inside = (enter >= lo) & (enter < hi)
    wait = start[inside] - enter[inside]
    response = leave[inside] - enter[inside]
    pct = np.quantile(response, PERCENTILES) if response.size else np.zeros(3)
    return TierStats(
        requests=int(inside.sum()),
        arrival_rate=float(inside.sum()) / window,
        utilisation=_overlap(start, leave, lo, hi) / (pool.servers * window),
        mean_wait_s=float(wait.mean()) if wait.size else 0.0,
        mean_response_s=float(response.mean()) if response.size else 0.0,
        mean_in_system=_overlap(enter, leave, lo, hi) / window,
        p50_s=float(pct[0]), p95_s=float(pct[1]), p99_s=float(pct[2]),
        arrival_control=float(inside.sum()) / window / expected_rate - 1.0,
        # (a tier whose visitors all cost 0 of their own has no service to check)
        service_control=(float(service[inside].mean()) / expected_s - 1.0)
        if inside.any() and expected_s > 0 else 0.0,
    )


def analytic(scenario: sc.Scenario, rps: Mapping[str, float], endpoint: str | None = None
             ) -> dict[str, dict[str, float]]:
    """The tier model's figures for one steady minute at these rates (``sim.tiers.platform``), for
    every pool tier; percentiles are the endpoint's own if one is named."""
    from sim.tiers.platform import Platform

    platform = Platform(scenario)
    state = platform.state(rps, 0.0)
    out = {}
    for name, perf in state._perfs.items():
        if not hasattr(perf, "class_tail") or perf.load[0] <= 0:
            continue
        wait = float(perf.mean_wait_s()[0])
        weights = perf.weights[:, 0]
        response = wait + float((weights * perf.demand_s).sum())
        figures = {"utilisation": float(perf.utilisation[0]), "mean_wait_s": wait,
                   "mean_response_s": response, "arrival_rate": float(perf.load[0]),
                   "mean_in_system": float(perf.load[0]) * response}
        for p in PERCENTILES:
            key = f"p{round(p * 100)}_s"
            if endpoint is not None:
                cls = int(np.flatnonzero(perf.index == platform.endpoints.index(endpoint))[0])
                figures[key] = float(perf.class_percentile_s(p, cls)[0])
            else:
                figures[key] = float(perf.percentile_s(p)[0])
        out[name] = figures
    return out
