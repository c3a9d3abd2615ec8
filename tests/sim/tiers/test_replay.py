"""The load-test prediction with the host's other work (HostShare) against M/M/1 theory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers.replay import BACKGROUND_JOB_S, HostShare, predict

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _one_worker(demand_ms: float):
    """erlang-mm1-rho50's single-server tier with the background's mean job as its demand."""
    s = load_scenario(SCENARIOS / "erlang-mm1-rho50.yaml")
    endpoints = [e.model_copy(update={"demand_ms": {"server": demand_ms}}) for e in s.platform.endpoints]
    return s.model_copy(update={"platform": s.platform.model_copy(update={"endpoints": endpoints})})


@pytest.mark.parametrize("background", [0.0, 0.3])
def test_a_worker_beside_background_work_on_one_core_is_mm1_at_the_total_load(background):
    """One worker process, 70 requests/s of exponential 5-ms items (0.35 of a core), beside
    ``background`` cores of other work in 5-ms jobs on a 1-core host: the core is work
    conserving and all items are exponential of one mean, so the number present is M/M/1's at
    the total load, the mean response 5 ms / (1 - 0.35 - background): 7.7 ms alone, 14.3 ms
    beside 0.3 of a core. The api's utilisation is its own work only."""
    demand = BACKGROUND_JOB_S * 1000.0
    rates = np.full((1, 40), 70.0)  # 40 bins of 10 s
    host = HostShare("server", 1.0, np.full(40, background))
    p = predict(_one_worker(demand), rates, 10.0, np.random.default_rng(11), host=host)
    assert p.endpoints["request"].mean_ms == pytest.approx(demand / (1 - 0.35 - background), rel=0.06)
    assert p.utilisation["server"] == pytest.approx(0.35, rel=0.03)


def test_without_a_host_the_pool_is_unchanged():
    rates = np.full((1, 40), 70.0)
    alone = predict(_one_worker(5.0), rates, 10.0, np.random.default_rng(11))
    idle_host = predict(_one_worker(5.0), rates, 10.0, np.random.default_rng(11),
                        host=HostShare("server", 1.0, np.zeros(40)))
    # one worker on an idle core: the same FCFS M/M/1 (different draws: within noise)
    expected = alone.endpoints["request"].mean_ms
    assert idle_host.endpoints["request"].mean_ms == pytest.approx(expected, rel=0.06)


def _loop_and_writer():
    """One worker (5-ms requests) and a group-commit writer (1 ms a write, 2 ms a commit) that
    the worker's loop runs, as on the SQLite reference."""
    s = _one_worker(5.0)
    api = s.platform.tiers[0]
    writer = api.model_copy(update={"name": "database", "discipline": "group-commit", "commit_ms": 2.0})
    endpoints = [e.model_copy(update={"demand_ms": {"server": 5.0, "database": 1.0}})
                 for e in s.platform.endpoints]
    return s.model_copy(update={"platform": s.platform.model_copy(
        update={"tiers": [api, writer], "endpoints": endpoints})})


def test_a_writer_the_workers_run_is_slowed_as_they_are():
    """On an idle host the workers' requests are not stretched, so neither is the writer; beside
    0.4 of a core of other work on a 1-core host they are (5-ms requests at 0.35), and the
    writer's busy time grows by about as much (its own requests alone would not change)."""
    scenario, rates = _loop_and_writer(), np.full((1, 40), 70.0)

    def writer(background: float, runs: tuple[str, ...]) -> float:
        host = HostShare("server", 1.0, np.full(40, background), runs)
        return predict(scenario, rates, 10.0, np.random.default_rng(4), host=host).utilisation["database"]

    assert writer(0.0, ("database",)) == pytest.approx(writer(0.0, ()), rel=0.03)
    plain, slowed = writer(0.4, ()), writer(0.4, ("database",))
    # while in service a request shares the core (half of it each) with the background's
    # process whenever that has work (about half the time at 0.4): ~1.5x its CPU
    assert 1.3 < slowed / plain < 1.8


def _beats_and_routes(hold_ms: float | None, share: float = 1.0, retry_ms: float = 0.0, scv: float = 0.0):
    """Two api servers; heartbeats ("request": 1 ms of api, a 0.2-ms write to one group-commit
    writer) and a route ("route": 10 ms of api, its own transaction holding the writer's lock
    ``hold_ms``, as SQLite's routes do) ."""
    from domain.platform_spec import RouteHolds

    s = _one_worker(1.0)
    api = s.platform.tiers[0].model_copy(update={"servers": 2})
    holds = (RouteHolds(hold_ms={"route": hold_ms}, share={"route": share}, retry_ms=retry_ms,
                        retry_min_ms=retry_ms, hold_scv={"route": scv} if scv else {}) if hold_ms else None)
    writer = api.model_copy(update={"name": "database", "servers": 1, "discipline": "group-commit",
                                    "route_holds": holds, "service": "deterministic"})
    beat = s.platform.endpoints[0].model_copy(update={"demand_ms": {"server": 1.0, "database": 0.2}})
    route = beat.model_copy(update={"name": "route", "demand_ms": {"server": 10.0}})
    return s.model_copy(update={"platform": s.platform.model_copy(
        update={"tiers": [api, writer], "endpoints": [beat, route]})})


def test_heartbeats_wait_behind_the_routes_own_transactions_on_the_writer():
    """200 heartbeats/s and 10 routes/s holding the lock 8 ms each (0.08 of the time): a
    heartbeat that finds a hold waits its rest, uniform on [0, 8] ms, so the heartbeats' mean
    grows by 0.08 x 4 = 0.32 ms and their tail by ms (the wait's own p99 is 7 ms); the routes'
    answers are delayed by their own wait for the lock (never earlier); the writer's utilisation
    is its batches' alone, as the server's commit timer measures it (same draws both runs)."""
    rates = np.vstack([np.full(40, 200.0), np.full(40, 10.0)])
    without = predict(_beats_and_routes(None), rates, 10.0, np.random.default_rng(5))
    held = predict(_beats_and_routes(8.0), rates, 10.0, np.random.default_rng(5))
    beat, beat0 = held.endpoints["request"], without.endpoints["request"]
    assert beat.mean_ms - beat0.mean_ms == pytest.approx(0.32, rel=0.15)
    assert beat.p99_ms > beat0.p99_ms + 2.0 and beat.p50_ms == pytest.approx(beat0.p50_ms, rel=0.1)
    assert held.endpoints["route"].mean_ms >= without.endpoints["route"].mean_ms
    assert held.utilisation["database"] == pytest.approx(without.utilisation["database"], rel=0.01)


def test_a_loop_blocked_by_a_route_has_the_lock_at_its_next_retry():
    """The same load, the writer's one loop retrying every 4 ms (route_holds.retry_ms): a
    heartbeat that finds a hold (0.08 of them) waits its rest R, uniform on [0, 8] ms, rounded up
    to a whole number of retries, 4 or 8 ms (mean 6 against R's 4): the mean grows by 0.08 x 2 ms
    = 0.16 ms more than at once."""
    rates = np.vstack([np.full(40, 200.0), np.full(40, 10.0)])
    at_once = predict(_beats_and_routes(8.0), rates, 10.0, np.random.default_rng(5))
    polled = predict(_beats_and_routes(8.0, retry_ms=4.0), rates, 10.0, np.random.default_rng(5))
    grown = polled.endpoints["request"].mean_ms - at_once.endpoints["request"].mean_ms
    assert grown == pytest.approx(0.16, rel=0.2)


def test_heartbeats_wait_the_length_biased_rest_of_variable_holds():
    """The same load, the routes' holds drawn lognormal of scv 3 around 8 ms (route_holds.hold_scv):
    a heartbeat that finds one waits E[H^2] / 2E[H] = 8 (1 + 3) / 2 = 16 ms, so the mean grows by
    0.08 x 16 = 1.28 ms, four times the fixed holds' 0.32."""
    rates = np.vstack([np.full(40, 200.0), np.full(40, 10.0)])
    without = predict(_beats_and_routes(None), rates, 10.0, np.random.default_rng(5))
    spread = predict(_beats_and_routes(8.0, scv=3.0), rates, 10.0, np.random.default_rng(5))
    grown = spread.endpoints["request"].mean_ms - without.endpoints["request"].mean_ms
    assert grown == pytest.approx(1.28, rel=0.2)


def test_only_the_share_of_a_route_s_requests_that_write_hold_the_lock():
    """Half the routes write (a sign-in by SMS code among sign-ins by password): the lock is
    held 0.04 of the time, the heartbeats' mean grows by 0.04 x 4 = 0.16 ms."""
    rates = np.vstack([np.full(40, 200.0), np.full(40, 10.0)])
    without = predict(_beats_and_routes(None), rates, 10.0, np.random.default_rng(5))
    half = predict(_beats_and_routes(8.0, 0.5), rates, 10.0, np.random.default_rng(5))
    grown = half.endpoints["request"].mean_ms - without.endpoints["request"].mean_ms
    assert grown == pytest.approx(0.16, rel=0.2)
