"""Request-level SimPy simulation of the platform's pool tiers.

Every request is an individual customer: Poisson arrivals (per endpoint), first-come
first-served queues with c servers per tier, service times drawn around each endpoint's
demand (exponential, deterministic or a general shape, as the tier says), visiting the endpoint's tiers in the
platform's order. Nothing is scaled: it always runs at full-scale rates on all the servers,
so it is used on a sampled minute (or a few seconds of one) to confirm the analytic
per-minute figures of ``sim.tiers.platform``, and for open-workload scenarios (``workload:``).

Design for speed: arrival and service times are drawn up front with NumPy; the network is
feed-forward, so tiers are simulated one after another, each by c SimPy server processes
that take requests in arrival order (about one event per request); times are analysed
afterwards with NumPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from domain import scenario as sc
from records import WorkloadSummary, build, write_summary
from records.tables import REPLICATIONS
from sim.tiers import service as general

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
    demand_s: np.ndarray  # per endpoint, 0 where the endpoint does not use the tier
    discipline: str = "fcfs"
    commit_s: float = 0.0  # group-commit: the batch's fixed cost
    wakeup_s: float = 0.0  # an event loop's fixed cost per wake-up (wakeup_ms)


def pools(scenario: sc.Scenario) -> list[_Pool]:
    endpoints = scenario.platform.endpoints
    return [_Pool(t.name, t.servers, t.service,
                  np.array([e.demand_ms.get(t.name, 0.0) / 1000.0 for e in endpoints]),
                  getattr(t, "discipline", "fcfs"), getattr(t, "commit_ms", 0.0) / 1000.0,
                  getattr(t, "wakeup_ms", 0.0) / 1000.0)
            for t in scenario.platform.tiers if t.kind == "pool"]


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
    for pool in pools(scenario):
        visits = np.flatnonzero(pool.demand_s[kinds] > 0)
        if visits.size == 0:
            continue
        visits = visits[np.argsort(ready[visits], kind="stable")]
        enter = ready[visits]
        service = _service_times(pool, kinds[visits], rng)
        start, leave = (np.array(x) for x in served(pool, enter.tolist(), service.tolist(), rng))
        ready[visits] = leave
        expected_rate = float(rates[pool.demand_s > 0].sum())
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
        service_control=(float(service[inside].mean()) / expected_s - 1.0) if inside.any() else 0.0,
    )


# --- replications and the open-workload mode ----------------------------------------------

METRICS = ("utilisation", "mean_wait_s", "mean_response_s", "mean_in_system",
           "p50_s", "p95_s", "p99_s")


@dataclass(frozen=True)
class Estimate:
    """Mean over replications with a Student-t 95% confidence interval."""

    mean: float
    lo: float
    hi: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> Estimate:
        from scipy.stats import t

        data = np.asarray(values, float)
        mean = float(data.mean())
        if data.size < 2:
            return cls(mean, mean, mean, tuple(values))
        half = float(t.ppf(0.975, data.size - 1) * data.std(ddof=1) / np.sqrt(data.size))
        return cls(mean, mean - half, mean + half, tuple(float(v) for v in values))

    @classmethod
    def controlled(cls, values: list[float], controls: np.ndarray) -> Estimate:
        """Control-variate estimate (Lavenberg & Welch): regress the replications' values on
        controls whose true mean is 0; the intercept estimates the mean, and its t interval
        (R - 1 - q degrees of freedom) is the 95% CI. Falls back to ``of`` with too few runs."""
        from scipy.stats import t

        y = np.asarray(values, float)
        x = np.asarray(controls, float).reshape(y.size, -1)
        if y.size < x.shape[1] + 3:
            return cls.of(values)
        design = np.column_stack([np.ones(y.size), x])
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        dof = y.size - design.shape[1]
        residual = y - design @ beta
        sigma2 = float(residual @ residual) / dof
        var0 = sigma2 * float(np.linalg.pinv(design.T @ design)[0, 0])
        half = float(t.ppf(0.975, dof) * np.sqrt(max(var0, 0.0)))
        mean = float(beta[0])
        return cls(mean, mean - half, mean + half, tuple(float(v) for v in y))

    def covers(self, value: float) -> bool:
        return self.lo <= value <= self.hi


@dataclass(frozen=True)
class WorkloadResult:
    scenario: str
    seed: int
    endpoint: str  # the endpoint, or the endpoints joined by "+"
    rate_per_s: float  # total
    replications: int
    measured: dict[str, dict[str, Estimate]]  # tier -> metric -> estimate
    theory: dict[str, dict[str, float]]  # tier -> metric -> analytic value (sim.tiers.platform)
    runs: tuple[dict[str, TierStats], ...]
    rates: Mapping[str, float] = dataclasses.field(default_factory=dict)  # per endpoint
    services: Mapping[str, object] = dataclasses.field(default_factory=dict)  # tier -> shape

    def summary(self, scenario_path: str | None = None) -> WorkloadSummary:
        tiers: dict[str, dict[str, dict]] = {}
        for tier, metrics in self.measured.items():
            tiers[tier] = {}
            for name, est in metrics.items():
                exact = self.theory[tier].get(name)
                tiers[tier][name] = {
                    "mean": est.mean, "ci95": [est.lo, est.hi], "theory": exact,
                    "relative_error": (est.mean / exact - 1.0) if exact else None,
                    "theory_in_ci95": est.covers(exact) if exact is not None else None,
                }
        return build(WorkloadSummary, {
            "scenario": self.scenario, "scenario_path": scenario_path, "seed": self.seed,
            "endpoint": self.endpoint, "rate_per_s": self.rate_per_s,
            "rates_per_s": dict(self.rates), "service": self.services,
            "replications": self.replications, "tiers": tiers, "metrics": self.metrics()})

    def metrics(self) -> dict[str, float]:
        """The gate's map (docs/results.md), measured means: latency in ms, utilisation a
        fraction (steady state, so its max is its mean)."""
        out = {}
        for tier, m in self.measured.items():
            out[f"max(utilisation.{tier})"] = m["utilisation"].mean
            out[f"mean(tier.{tier}.wait_ms)"] = m["mean_wait_s"].mean * 1000.0
            for p in ("p50", "p95", "p99"):
                out[f"{p}(latency.{tier})"] = m[f"{p}_s"].mean * 1000.0
        return out


def write_workload(result: WorkloadResult, out_dir: str | Path,
                   scenario_path: str | None = None) -> Path:
    """Write a workload run's ``summary.json`` and ``replications.csv`` (one row per
    replication and tier, every measured figure) into ``out_dir``; returns the summary path."""
    import csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fields = [f.name for f in dataclasses.fields(TierStats)]
    header = ["replication", "tier", *fields]
    REPLICATIONS.check(header)
    with (out / "replications.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, run in enumerate(result.runs):
            for tier, stats in run.items():
                writer.writerow([i, tier, *(getattr(stats, f) for f in fields)])
    return write_summary(out, result.summary(scenario_path))


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


def _replicate(args) -> dict[str, TierStats]:
    scenario, rps, duration, warmup, seed_seq = args
    return simulate(scenario, rps, duration, warmup, np.random.default_rng(seed_seq))


def replicate(scenario: sc.Scenario, rps: Mapping[str, float], duration_s: float,
              warmup_s: float, seed: int, replications: int, workers: int | None = None
              ) -> list[dict[str, TierStats]]:
    """Independent replications (one SeedSequence child each, so results do not depend on
    how many processes run them); in parallel processes when there are several."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    children = np.random.SeedSequence(seed).spawn(replications)
    jobs = [(scenario, dict(rps), duration_s, warmup_s, child) for child in children]
    workers = min(replications, workers or os.cpu_count() or 1)
    if workers <= 1:
        return [_replicate(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_replicate, jobs))


def _estimates(stats: list[TierStats]) -> dict[str, Estimate]:
    """Every metric over replications; waits and latencies use the arrival-rate and
    service-time control variates, which cut their variance about 2-3x at high load."""
    controls = np.array([[s.arrival_control, s.service_control] for s in stats])
    out = {m: Estimate.controlled([getattr(s, m) for s in stats], controls) for m in METRICS}
    # Utilisation is almost exactly arrival rate × mean service / c, a linear function of the
    # controls, so a controlled estimate would be trivially exact: report the plain one.
    out["utilisation"] = Estimate.of([s.utilisation for s in stats])
    return out


def run_workload(scenario: sc.Scenario, seed: int | None = None,
                 replications: int | None = None) -> WorkloadResult:
    """The open-workload mode of ``yanxiu run``: Poisson arrivals at the workload's endpoints."""
    workload = scenario.workload
    if workload is None:
        raise ValueError(f"{scenario.name}: workload: missing section (not a workload scenario)")
    seed = scenario.seed if seed is None else seed
    count = replications or workload.replications
    rps = workload.rates
    runs = replicate(scenario, rps, workload.duration_s, workload.warmup_s, seed, count)
    measured = {tier: _estimates([run[tier] for run in runs]) for tier in runs[0]}
    single = next(iter(rps)) if len(rps) == 1 else None
    services = {p.name: p.service if isinstance(p.service, str) else p.service.model_dump()
                for p in pools(scenario)}
    return WorkloadResult(scenario.name, seed, "+".join(rps), float(sum(rps.values())), count,
                          measured, analytic(scenario, rps, single), tuple(runs), rps, services)


def confirm_minute(scenario: sc.Scenario, rps: Mapping[str, float], seconds: float = 60.0,
                   replications: int = 3, seed: int = 0, max_requests: int = 1_000_000,
                   workers: int | None = None) -> dict:
    """Re-run one minute's rates request by request at full scale, beside the analytic figures
    of ``sim.tiers.platform`` (both from empty queues): {"seconds", "replications", "tiers": {tier:
    {"requests", metric: {model, simulated, ci95, relative_error, model_in_ci95}}}}. Busy
    minutes are cut to ``max_requests`` per replication (a few seconds of the minute, never
    fewer servers). A tier that some replication never saw is left out.

    An overloaded minute (a pool at utilisation >= 1) has no steady state: the model's figures
    are those of one minute from empty queues (a growing fluid backlog), so exactly that minute
    is simulated, without warm-up; if it holds more than ``max_requests`` requests the check is
    skipped and ``"skipped"`` says why."""
    total = float(sum(rps.values()))
    model = analytic(scenario, rps)
    if any(figures["utilisation"] >= 1.0 for figures in model.values()):
        if total * 60.0 > max_requests:
            return {"seconds": 0.0, "replications": 0, "tiers": {},
                    "skipped": f"overloaded minute with {total * 60.0:,.0f} requests "
                               f"(more than {max_requests:,})"}
        seconds, warmup = 60.0, 0.0
    else:
        seconds = min(seconds, max_requests / total) if total > 0 else seconds
        warmup = min(5.0, seconds / 10)
    runs = replicate(scenario, rps, seconds, warmup, seed, replications, workers)
    tiers: dict[str, dict[str, Any]] = {}
    for tier, exact in model.items():
        stats = [run[tier] for run in runs if tier in run]
        if len(stats) < len(runs):
            continue
        tiers[tier] = {"requests": float(np.mean([s.requests for s in stats]))}
        for metric in METRICS:
            est = Estimate.of([getattr(s, metric) for s in stats])
            tiers[tier][metric] = {
                "model": exact[metric], "simulated": est.mean, "ci95": [est.lo, est.hi],
                "relative_error": est.mean / exact[metric] - 1.0 if exact[metric] else None,
                # 1 ns of slack: a model wait of 1e-16 s is "no wait", as the simulation says
                "model_in_ci95": est.lo - 1e-9 <= exact[metric] <= est.hi + 1e-9}
    return {"seconds": seconds, "replications": replications, "tiers": tiers}
