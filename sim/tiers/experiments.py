"""Replicated request-level experiments (``sim.tiers.requestsim`` run many times): the
open-workload mode of ``yanxiu run`` (``workload:`` scenarios: every figure with its 95%
interval beside the analytic one) and the check of the busiest minute (``confirm_minute``).
Kept apart from the simulation kernel so that each stays small; both read the same
``TierStats`` per replication.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domain import scenario as sc
from records import WorkloadSummary, build, write_summary
from records.tables import REPLICATIONS
from sim.tiers.requestsim import TierStats, analytic, pools, simulate

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
