"""Speed of the tier models, each beside a baseline measured in the same run.

1. ``Platform.evaluate`` over a whole 89-day window (128,160 minutes) of the winter-2023
   platform, against the naive baseline: one Python call per minute (the same model, one
   minute at a time, backlog carried), timed on a slice and given per minute.
2. The request-level simulation's FCFS tier (``requestsim.serve``), against the textbook
   SimPy model (one process per request competing for a ``simpy.Resource``).
3. A group-commit database (``discipline: group-commit``, commit 5 ms, the batch chain per
   minute) over the same window, and its sizing, against the old whole-commit charge (the
   same tier as FCFS with demand + commit per write), both timed in this run.

    .venv/bin/python bench/bench_queueing.py [--slice 2000] [--only group-commit]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain import scenario as sc  # noqa: E402
from domain.scenario import load_scenario  # noqa: E402
from sim.tiers import sizing  # noqa: E402
from sim.tiers.platform import Platform, PoolTier  # noqa: E402
from sim.tiers.requestsim import serve  # noqa: E402

MINUTES = 89 * 24 * 60  # 2022-12-02 .. 2023-02-28


def synthetic_window(platform: Platform, seed: int = 1) -> tuple[dict, np.ndarray]:
    """Full-scale rates with the scenario's daily profile, weekly noise and a few overloads."""
    scenario = platform.scenario
    rng = np.random.default_rng(seed)
    hour = (np.arange(MINUTES) // 60) % 24
    profile = np.asarray(scenario.behaviour.daily_profile)[hour]
    shape = profile / profile.max() * rng.uniform(0.7, 1.1, MINUTES)
    peaks = {"heartbeat": 30_000.0, "campaign_page": 9_000.0, "login": 6_000.0,
             "sms_send": 700.0, "school_search": 2_000.0, "register": 900.0,
             "test_fetch": 1_500.0, "test_submit": 1_500.0, "certificate": 50.0,
             "admin_progress": 300.0}
    rps = {name: peak * shape for name, peak in peaks.items()}
    rush = slice(MINUTES - 24 * 60 + 19 * 60, MINUTES - 24 * 60 + 21 * 60)  # last evening
    rps["sms_send"][rush] *= 1.5  # the gateway overloaded for two hours: fluid backlog path
    return rps, 2_400.0 * shape


def naive_loop(platform: Platform, rps: dict, egress: np.ndarray, minutes: int) -> dict:
    """One minute at a time through each tier, carrying the backlog: the obvious loop."""
    out = {t.name: [] for t in platform.tiers}
    carried = {t.name: 0.0 for t in platform.tiers}
    for m in range(minutes):
        column = platform.matrix({k: v[m:m + 1] for k, v in rps.items()})
        for tier in platform.tiers:
            metrics = tier.evaluate(column, egress[m:m + 1], carried[tier.name])
            carried[tier.name] = float(metrics.backlog_s[0])
            out[tier.name].append(metrics)
    return out


def bench_evaluate(slice_minutes: int) -> None:
    platform = Platform(load_scenario(ROOT / "scenarios" / "winter-2023.yaml"))
    rps, egress = synthetic_window(platform)
    start = time.perf_counter()
    series = platform.evaluate(rps, egress)
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    loop = naive_loop(platform, rps, egress, slice_minutes)
    per_minute = (time.perf_counter() - start) / slice_minutes
    worst = max(abs(loop[t][m].p95_ms[0] - series[t].p95_ms[m]) /
                max(series[t].p95_ms[m], 1e-9)
                for t in series for m in range(slice_minutes))
    peaks = ", ".join(f"{t} {series[t].utilisation.max():.2f}" for t in series)
    print(f"Platform.evaluate, {MINUTES:,} minutes x {len(series)} tiers (peak util: {peaks})")
    print(f"  vectorised          {vectorised:8.2f} s   {vectorised / MINUTES * 1e6:8.1f} us/minute")
    print(f"  naive minute loop   {per_minute * MINUTES:8.2f} s   {per_minute * 1e6:8.1f} us/minute"
          f"   (timed on {slice_minutes:,} minutes, scaled)")
    print(f"  speed-up            {per_minute * MINUTES / vectorised:8.1f} x"
          f"   (largest p95 difference on the slice: {worst:.1e} relative)")


def _resource_model(arrivals: list[float], service: list[float], servers: int) -> list[float]:
    import simpy

    env = simpy.Environment()
    resource = simpy.Resource(env, servers)
    start = [0.0] * len(arrivals)

    def request(i: int):
        with resource.request() as slot:
            yield slot
            start[i] = env.now
            yield env.timeout(service[i])

    def source():
        for i, at in enumerate(arrivals):
            yield env.timeout(at - env.now)
            env.process(request(i))

    env.process(source())
    env.run()
    return start


def bench_request_level(requests: int = 300_000) -> None:
    rng = np.random.default_rng(2)
    servers, rho = 8, 0.9
    arrivals = np.cumsum(rng.exponential(1 / (rho * servers), requests)).tolist()
    service = rng.exponential(1.0, requests).tolist()
    start = time.perf_counter()
    ours, _ = serve(arrivals, service, servers)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    theirs = _resource_model(arrivals, service, servers)
    slow = time.perf_counter() - start
    same = np.allclose(ours, theirs)
    print(f"request-level M/M/{servers} at {rho:.0%}, {requests:,} requests (same start times: {same})")
    print(f"  requestsim.serve    {requests / fast:10,.0f} requests/s")
    print(f"  simpy.Resource      {requests / slow:10,.0f} requests/s   speed-up {slow / fast:.1f} x")


def _database_as(platform: Platform, commit_ms: float, grouped: bool) -> None:
    """Replace the database tier: a group-commit writer pool, or the old charge (FCFS with
    the commit added to every write's demand)."""
    i = platform.tier_names.index("database")
    old = platform.tiers[i]
    assert isinstance(old, PoolTier)
    config = next(t for t in platform.scenario.platform.tiers if t.name == "database")
    assert isinstance(config, sc.PoolTier)
    if grouped:
        config = config.model_copy(update={"discipline": "group-commit", "commit_ms": commit_ms})
        demand = old.demand_s
    else:
        demand = np.where(old.visits, old.demand_s + commit_ms / 1000.0, 0.0)
    platform.tiers[i] = PoolTier(config, demand, old.slo, old.patience_s, old.visits)


def bench_group_commit(commit_ms: float = 5.0) -> None:
    rps, egress = synthetic_window(Platform(load_scenario(ROOT / "scenarios" / "winter-2023.yaml")))
    print(f"group-commit database (commit {commit_ms:g} ms) over {MINUTES:,} minutes, "
          "against the old whole-commit charge in this run")
    for label, grouped in (("whole commit (old)", False), ("batch chain", True)):
        platform = Platform(load_scenario(ROOT / "scenarios" / "winter-2023.yaml"))
        _database_as(platform, commit_ms, grouped)
        tier = platform.tier("database")
        assert isinstance(tier, PoolTier)
        matrix = platform.matrix(rps)
        start = time.perf_counter()
        metrics = tier.evaluate(matrix, egress)
        evaluated = time.perf_counter() - start
        start = time.perf_counter()
        capacity = sizing._size_pool(tier, matrix, metrics.utilisation)
        sized = time.perf_counter() - start
        print(f"  {label:<20} evaluate {evaluated:6.2f} s, sizing {sized:6.2f} s;  peak utilisation "
              f"{metrics.utilisation.max():.3f} on {tier.servers} servers, peak p95 "
              f"{metrics.p95_ms.max():.2f} ms; needs {capacity.needed:g} (minimum {capacity.minimum:g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=int, default=2000, help="minutes timed for the loop")
    parser.add_argument("--only", choices=["group-commit"], help="run one part only")
    args = parser.parse_args()
    if args.only is None:
        bench_evaluate(args.slice)
        bench_request_level()
    bench_group_commit()


if __name__ == "__main__":
    main()
