"""The per-minute campaign model of a group-commit tier (sim/tiers/pool.py with ``commit_s``)
against the request-level writer (``serve_batches``) and against the old whole-commit charge.

The scenario is smoke's with its database as group-commit writers (commit 5 ms); heartbeats
cost the database 2 ms, test submissions 4 ms. One writer at 7-215 writes/s is 5-93% busy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers import sizing
from sim.tiers.batching import serve_batches
from sim.tiers.platform import Platform, PoolTier
from sim.tiers.pool import PoolPerformance

COMMIT_S = 0.005


def _platform(tmp_path, service: str = "deterministic", servers: int = 1) -> Platform:
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: database, kind: pool, servers: 2}",
        f"- {{name: database, kind: pool, servers: {servers}, service: {service}, "
        f"discipline: group-commit, commit_ms: {COMMIT_S * 1000:g}}}")
    path = tmp_path / f"grouped-{service}-{servers}.yaml"
    path.write_text(text, encoding="utf-8")
    return Platform(load_scenario(path))


def _simulated(rates: list[float], demands: list[float], service: str, writers: int,
               n: int = 200_000, seed: int = 5) -> tuple[float, list[float], np.ndarray]:
    """Busy share of the writers, mean response per class and the p95 and p99 of all,
    request by request. Writes go to a writer at random (each its own Poisson stream, as the
    per-minute model takes them)."""
    rng = np.random.default_rng(seed)
    total = sum(rates)
    arrivals = np.cumsum(rng.exponential(1.0 / total, n))
    kinds = rng.choice(len(rates), n, p=np.array(rates) / total)
    own = np.array(demands)[kinds] * (rng.exponential(1.0, n) if service == "exponential" else 1.0)
    writer = rng.integers(0, writers, n)
    busy, response = 0.0, np.empty(n)
    for w in range(writers):
        mine = np.flatnonzero(writer == w)
        start, leave = (np.array(v) for v in serve_batches(arrivals[mine].tolist(),
                                                           own[mine].tolist(), 1, COMMIT_S))
        busy += float((leave - start).sum())
        response[mine] = leave - arrivals[mine]
    return (busy / (writers * arrivals[-1]),
            [float(response[kinds == k].mean()) for k in range(len(rates))],
            np.quantile(response, [0.95, 0.99]))


def _database(platform: Platform, rps: dict[str, float]) -> tuple[PoolPerformance, list[str]]:
    perf = platform.state(rps, 0.0)._perfs["database"]
    return perf, [platform.endpoints[i] for i in perf.index]


def _whole_commit(perf: PoolPerformance) -> tuple[float, float]:
    """The old charge: every write a whole commit (an M/G/c queue on demand + commit):
    utilisation and the heartbeat's mean response at the tier."""
    old = PoolPerformance(perf.rates, perf.demand_s, perf.servers, perf.service)
    return float(old.utilisation[0]), float(old.mean_wait_s()[0]) + 0.002 + COMMIT_S


# writes/s per writer: 5%, 21%, 51%, 73%, 85%, 90% busy
LOADS = [7.0, 30.0, 80.0, 130.0, 170.0, 197.0]


@pytest.mark.parametrize("rate", LOADS)
@pytest.mark.parametrize("service,busy_tol,mean_tol,tail_tol", [
    ("deterministic", 0.003, 0.01, (0.08, 0.12)), ("exponential", 0.012, 0.03, (0.04, 0.04))])
def test_minute_matches_the_batching_writer(tmp_path, rate, service, busy_tol, mean_tol, tail_tol):
    """Utilisation (absolute), mean response and p95, p99 (relative) of one writer. With fixed
    writes the chain is exact (the tolerance is the simulation's noise) and the percentiles
    come from a shifted exponential on two of its moments (the true wait is closer to uniform:
    p95 -7..+2%, p99 -7..+11%); with exponential writes the chain takes each batch at its mean
    length, and the spread of the writes makes the wait's shape closer to the exponential."""
    perf, names = _database(_platform(tmp_path, service), {"heartbeat": rate})
    busy, (mean,), tails = _simulated([rate], [0.002], service, 1)
    assert perf.utilisation[0] == pytest.approx(busy, abs=busy_tol)
    model = float(perf.mean_response_s(names.index("heartbeat"))[0])
    assert model == pytest.approx(mean, rel=mean_tol)
    for p, measured, tolerance in zip((0.95, 0.99), tails, tail_tol, strict=True):
        assert perf.percentile_s(p)[0] == pytest.approx(measured, rel=tolerance)
    old_busy, old_mean = _whole_commit(perf)
    if rate >= 130.0:  # the old whole-commit charge fails the same comparison at high load
        assert abs(old_busy - busy) > 0.15
        assert not (math.isfinite(old_mean) and abs(old_mean / mean - 1.0) <= mean_tol)


@pytest.mark.parametrize("rate", [30.0, 80.0, 130.0, 170.0])
def test_a_mix_on_two_writers(tmp_path, rate):
    """Heartbeats (2 ms) and test submissions (4 ms), split at random over two writers: the
    chain on the minute's mean write at half the rate; each class's response is its own
    write and commit plus the shared wait."""
    platform = _platform(tmp_path, "deterministic", servers=2)
    rates = {"heartbeat": 2 * 0.8 * rate, "test_submit": 2 * 0.2 * rate}
    perf, names = _database(platform, rates)
    busy, means, _ = _simulated(list(rates.values()), [0.002, 0.004], "deterministic", 2)
    assert perf.utilisation[0] == pytest.approx(busy, abs=0.004)
    for name, mean in zip(rates, means, strict=True):
        assert float(perf.mean_response_s(names.index(name))[0]) == pytest.approx(mean, rel=0.015)


def test_light_load_is_the_whole_commit(tmp_path):
    """As batches shrink to one write, utilisation, mean and percentiles tend to the old
    whole-commit charge's (an M/G/1 on demand + commit, and the commit fixed)."""
    perf, _ = _database(_platform(tmp_path, "deterministic"), {"heartbeat": 0.05})
    old = PoolPerformance(perf.rates, perf.demand_s, perf.servers, perf.service)
    assert perf.utilisation[0] == pytest.approx(old.utilisation[0], rel=1e-3)
    assert perf.mean_wait_s()[0] == pytest.approx(old.mean_wait_s()[0], rel=0.01)
    for p in (0.5, 0.95, 0.99):
        assert perf.percentile_s(p)[0] == pytest.approx(old.percentile_s(p)[0], rel=1e-3)


def test_minutes_at_once_are_the_minutes_one_by_one(tmp_path):
    platform = _platform(tmp_path, "exponential", servers=3)
    heartbeats = np.array([0.0, 5.0, 120.0, 400.0, 560.0])
    series = platform.evaluate({"heartbeat": heartbeats, "test_submit": heartbeats / 4},
                               np.zeros(heartbeats.size))["database"]
    for m, rate in enumerate(heartbeats):
        one = platform.evaluate({"heartbeat": rate, "test_submit": rate / 4}, np.zeros(1))["database"]
        for metric in ("utilisation", "wait_ms", "p95_ms", "in_system"):
            assert getattr(series, metric)[m] == pytest.approx(getattr(one, metric)[0], rel=1e-9)
    # Little's law: requests at the tier = rate × mean response
    perf = series.performance
    assert perf is not None
    alone = (perf.weights * perf.demand_s[:, None]).sum(axis=0)
    assert series.in_system == pytest.approx(perf.load * (perf.mean_wait_s() + alone))


def test_overload_drains_at_the_writes_own_demand(tmp_path):
    """λ d >= 1 per writer: no stationary state; the backlog grows at λ d - 1 (the commit is
    shared by batches without bound), not at λ (d + commit) - 1."""
    platform = _platform(tmp_path, "deterministic")
    perf = platform.tier("database").performance(platform.matrix({"heartbeat": 520.0}), np.zeros(1))
    assert not perf.stable[0]
    assert perf.utilisation[0] == pytest.approx(520.0 * 0.002)
    assert perf.backlog_end_s[0] == pytest.approx((1.04 - 1.0) * 60.0)  # under smoke's patience


def _tier(tmp_path, servers: int = 1) -> PoolTier:
    tier = _platform(tmp_path, "exponential", servers).tier("database")
    assert isinstance(tier, PoolTier)
    return tier


def test_utilisation_and_latency_fall_as_writers_are_added(tmp_path):
    """Each writer's rate falls with more writers, so its batches shrink and each write pays
    more of a commit; yet the tier's utilisation and every percentile still fall."""
    tier = _tier(tmp_path)
    minute = np.zeros((len(tier.demand_s), 1))
    minute[list(tier.demand_s).index(0.002 + COMMIT_S)] = 900.0  # heartbeats
    figures = [tier.with_servers(c).performance(minute, np.zeros(1)) for c in range(2, 40)]
    utilisation = [float(f.utilisation[0]) for f in figures]
    assert np.all(np.diff(utilisation) < 0)
    assert np.all(np.diff([f.mean_s[0] for f in figures]) > 0)  # busy time per write grows
    for p in (0.5, 0.95, 0.99):
        assert np.all(np.diff([float(f.percentile_s(p)[0]) for f in figures]) <= 1e-9)


def test_sizing_meets_the_slo_and_one_writer_fewer_does_not(tmp_path):
    tier = _tier(tmp_path)
    minute = np.zeros((len(tier.demand_s), 1))
    minute[list(tier.demand_s).index(0.002 + COMMIT_S)] = 900.0
    needed, binding = sizing.servers_needed(tier, minute)
    assert not sizing.violations(tier, minute, needed)
    assert binding in sizing.violations(tier, minute, needed - 1)
    minimum, _ = sizing.servers_needed(tier, minute, headroom=False)
    assert minimum <= needed
    assert not sizing.violations(tier, minute, minimum, headroom=False)
    assert sizing.violations(tier, minute, minimum - 1, headroom=False)
    # the whole-commit charge needs at least as many: it over-counts every write's busy time
    whole = PoolTier.__new__(PoolTier)
    whole.__dict__.update(tier.__dict__, commit_s=0.0, own_s=tier.demand_s)
    assert sizing.servers_needed(whole, minute)[0] >= needed
