"""Worker processes with an event loop, a GIL and a gated thread pool (sim/tiers/workers.py):
its limits against the request-level disciplines it generalises, and cases worked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers.replay import HostShare, predict
from sim.tiers.requestsim import serve
from sim.tiers.sharing import serve_ps, time_share
from sim.tiers.workers import Work, serve_workers, split

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _poisson(n: int = 4000, rate: float = 20.0, mean_s: float = 0.04, seed: int = 1):
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.0, n / rate, n)), rng.exponential(mean_s, n), rng


def _work(worker, loop=None, gil=None, free=None, sync=None) -> Work:
    n = len(worker)
    zero = np.zeros(n)
    def part(x):
        return zero if x is None else np.asarray(x, float)

    return Work(np.asarray(worker), part(loop), part(gil), part(free),
                np.zeros(n, bool) if sync is None else np.asarray(sync, bool))


def test_without_sync_requests_each_worker_is_the_fcfs_process_of_time_share():
    """All async: every request is loop work, FCFS on its worker's loop, the workers sharing
    1.5 cores: the model without threads (sharing.time_share), to rounding."""
    t, s, rng = _poisson()
    worker = rng.integers(0, 2, t.size)
    served = serve_workers(t, _work(worker, loop=s), 2, 11, 1.5)
    _, leave = time_share(t.tolist(), s.tolist(), worker.tolist(), 2, 1.5)
    assert np.allclose(served.leave, leave, atol=1e-9)


def test_one_slot_holding_the_gil_is_fcfs():
    t, s, _ = _poisson()
    served = serve_workers(t, _work(np.zeros(t.size, int), gil=s, sync=np.ones(t.size)), 1, 1, 1.0)
    _, leave = serve(t.tolist(), s.tolist(), 1)
    assert np.allclose(served.leave, leave, atol=1e-9)
    # the wait is the gate's: FCFS's wait for its one server
    start, _ = serve(t.tolist(), s.tolist(), 1)
    assert np.allclose(served.gate_wait, np.array(start) - t, atol=1e-9)


def test_gil_free_work_with_cores_to_spare_is_one_fcfs_server_a_slot():
    t, _, rng = _poisson(rate=30.0)
    s = rng.exponential(0.3, t.size)  # 9 of 11 slots busy
    served = serve_workers(t, _work(np.zeros(t.size, int), free=s, sync=np.ones(t.size)), 1, 11, 100.0)
    _, leave = serve(t.tolist(), s.tolist(), 11)
    assert np.allclose(served.leave, leave, atol=1e-9)


def test_gil_work_with_slots_to_spare_is_processor_sharing_of_one_core():
    """The GIL is one core's worth however many cores the host has."""
    t, s, _ = _poisson(mean_s=0.02)
    served = serve_workers(t, _work(np.zeros(t.size, int), gil=s, sync=np.ones(t.size)), 1, 10_000, 4.0)
    _, leave = serve_ps(t.tolist(), s.tolist(), 1)
    assert np.allclose(served.leave, leave, atol=1e-9)


@pytest.mark.parametrize(("cores", "heartbeat_ms", "login_ms"), [(2.0, 6.0, 40.0), (1.0, 11.0, 45.0)])
def test_a_heartbeat_beside_a_sign_in_off_the_gil(cores, heartbeat_ms, login_ms):
    """By hand. A sign-in (40 ms of argon2, off the GIL) at 0, a heartbeat (5 ms on the loop) at
    1 ms, one worker. On 2 cores each runs on its own: the heartbeat leaves at 6 ms, where a
    single-threaded worker (the model without threads) answers it after the sign-in, at 45 ms.
    On 1 core they halve it from 1 ms: the heartbeat's 5 ms take 10 (leaves at 11 ms); the
    sign-in did 1 + 5 ms by then and leaves 34 ms later, at 45 ms."""
    t = np.array([0.0, 0.001])
    work = _work([0, 0], loop=[0.0, 0.005], free=[0.040, 0.0], sync=[True, False])
    served = serve_workers(t, work, 1, 11, cores)
    assert served.leave * 1000 == pytest.approx([login_ms, heartbeat_ms])


def test_a_heartbeat_shares_the_gil_with_a_thread_that_holds_it():
    """By hand: the same sign-in with its 40 ms holding the GIL: on 2 cores as on 1, the loop
    and the thread take turns (half each) from 1 ms: the heartbeat leaves at 11 ms."""
    t = np.array([0.0, 0.001])
    work = _work([0, 0], loop=[0.0, 0.005], gil=[0.040, 0.0], sync=[True, False])
    served = serve_workers(t, work, 1, 11, 2.0)
    assert served.leave * 1000 == pytest.approx([45.0, 11.0])


def test_the_gate_is_waited_for_first_come_first_served():
    """By hand: 2 slots, three 10-ms GIL-free requests at 0, 1 and 2 ms whose loop hops (1 ms
    each, one at a time) end at 1, 2 and 3 ms: the first two run to 11 and 12 ms, the third
    waits for the first's slot (from 3 to 11 ms) and leaves at 21 ms."""
    t = np.array([0.0, 0.001, 0.002])
    work = _work([0, 0, 0], loop=[0.001] * 3, free=[0.010] * 3, sync=[True] * 3)
    served = serve_workers(t, work, 1, 2, 100.0)
    assert served.leave * 1000 == pytest.approx([11.0, 12.0, 21.0])
    assert served.gate_wait * 1000 == pytest.approx([0.0, 0.0, 8.0])


def test_split_keeps_each_endpoint_s_mean_with_the_gil_free_part_fixed():
    """argon2's cost is fixed by its parameters: the GIL-free part is the same for every
    sign-in, the drawn rest scaled so that the endpoint's mean stays its demand."""
    rng = np.random.default_rng(3)
    kinds = np.repeat([0, 1], 100_000)
    demand = np.array([0.005, 0.040])
    service = rng.exponential(1.0, kinds.size) * demand[kinds]
    loop, gil, free = split(service, kinds, demand, np.array([0.0, 0.001]), np.array([0.0, 0.030]),
                            np.array([False, True]))
    total = loop + gil + free
    assert total[kinds == 0] == pytest.approx(service[kinds == 0])  # async: all on the loop
    assert loop[kinds == 0] == pytest.approx(service[kinds == 0])
    assert total[kinds == 1].mean() == pytest.approx(0.040, rel=0.01)
    assert np.all(free[kinds == 1] == 0.030)
    assert loop[kinds == 1].mean() == pytest.approx(0.001, rel=0.02)
    # a GIL-free part larger than the demand is capped at the demand less the loop's
    _, gil, free = split(service, kinds, demand, np.array([0.0, 0.001]), np.array([0.0, 0.050]),
                         np.array([False, True]))
    assert np.all(free[kinds == 1] == pytest.approx(0.039)) and np.allclose(gil, 0.0, atol=1e-15)


def _two_endpoints(threads: dict | None):
    """A worker tier of 2 workers: a heartbeat (async, 2 ms) and a sign-in (sync, 40 ms)."""
    s = load_scenario(SCENARIOS / "erlang-mm1-rho50.yaml")
    first = s.platform.endpoints[0]
    endpoints = [first.model_copy(update={"name": "heartbeat", "demand_ms": {"server": 2.0}}),
                 first.model_copy(update={"name": "login", "demand_ms": {"server": 40.0}})]
    tier = s.platform.tiers[0].model_copy(update={"servers": 2, "threads": threads})
    platform = s.platform.model_copy(update={"tiers": [tier], "endpoints": endpoints})
    return s.model_copy(update={"platform": platform})


def test_the_prediction_without_sync_endpoints_is_the_model_without_threads():
    """threads with no sync endpoint: the same draws give the same responses as the
    single-threaded worker beside the same background (on_host)."""
    from domain.scenario import WorkerThreads

    rates = np.array([np.full(10, 150.0), np.full(10, 10.0)])
    host = HostShare("server", 2.0, np.full(10, 0.3))
    plain = predict(_two_endpoints(None), rates, 10.0, np.random.default_rng(5), host=host)
    threaded = predict(_two_endpoints(WorkerThreads(slots=11, sync={})), rates, 10.0,
                       np.random.default_rng(5), host=host)
    for name in ("heartbeat", "login"):
        assert threaded.endpoints[name].mean_ms == pytest.approx(plain.endpoints[name].mean_ms, rel=1e-9)
    assert threaded.utilisation == pytest.approx(plain.utilisation)


def test_a_sign_in_off_the_gil_no_longer_delays_the_heartbeats():
    """0.7 of a core a worker: the single-threaded worker makes a heartbeat wait behind the
    sign-ins; with the sign-in's work off the GIL (argon2) it waits only for its core's share."""
    from domain.scenario import SyncWork, WorkerThreads

    rates = np.array([np.full(10, 300.0), np.full(10, 20.0)])
    plain = predict(_two_endpoints(None), rates, 10.0, np.random.default_rng(2)).endpoints
    threads = WorkerThreads(slots=11, sync={"login": SyncWork(loop_ms=0.5, free_ms=38.0)})
    threaded = predict(_two_endpoints(threads), rates, 10.0, np.random.default_rng(2),
                       host=HostShare("server", 2.0, np.zeros(10))).endpoints
    assert threaded["heartbeat"].mean_ms < 0.5 * plain["heartbeat"].mean_ms
    assert threaded["login"].mean_ms > 40.0


def test_threads_name_only_endpoints_of_the_platform_and_only_on_fcfs_tiers():
    from pydantic import ValidationError

    from domain.scenario import SyncWork, WorkerThreads

    with pytest.raises(ValidationError, match="unknown endpoints"):
        _two_endpoints(WorkerThreads(slots=11, sync={"nope": SyncWork()})).platform.model_validate(
            _two_endpoints(WorkerThreads(slots=11, sync={"nope": SyncWork()})).platform.model_dump())
    tier = _two_endpoints(None).platform.tiers[0]
    with pytest.raises(ValidationError, match="only for discipline fcfs"):
        type(tier).model_validate(tier.model_dump() | {"discipline": "processor-sharing",
                                                       "threads": {"slots": 2, "sync": {}}})


def test_the_prediction_gives_the_gate_s_wait():
    """One slot a worker and sign-ins holding the GIL (40 ms, exponential) at 12.5/s a worker:
    each worker's gate is M/M/1 at 0.5, a wait of 0.5 x 40 / (1 - 0.5) = 40 ms; async
    requests wait for no slot."""
    from domain.scenario import SyncWork, WorkerThreads

    rates = np.array([np.full(40, 5.0), np.full(40, 25.0)])
    threads = WorkerThreads(slots=1, sync={"login": SyncWork()})
    p = predict(_two_endpoints(threads), rates, 10.0, np.random.default_rng(8)).endpoints
    assert p["login"].gate_wait_ms == pytest.approx(40.0, rel=0.2)
    assert p["heartbeat"].gate_wait_ms == 0.0


def test_a_copy_made_processor_sharing_is_served_so_and_not_by_its_threads():
    """bench_calibrate prints the api as processor sharing beside the prediction: a copy of a
    tier with threads whose discipline was changed without validation is served as it says."""
    from domain.scenario import SyncWork, WorkerThreads

    rates = np.array([np.full(10, 150.0), np.full(10, 10.0)])
    threads = WorkerThreads(slots=11, sync={"login": SyncWork(free_ms=38.0)})
    scenario = _two_endpoints(threads)
    tier = scenario.platform.tiers[0]
    shared = scenario.platform.model_copy(update={"tiers": [tier.model_copy(
        update={"discipline": "processor-sharing"})]})
    plain = scenario.platform.model_copy(update={"tiers": [tier.model_copy(
        update={"discipline": "processor-sharing", "threads": None})]})
    a = predict(scenario.model_copy(update={"platform": shared}), rates, 10.0, np.random.default_rng(1))
    b = predict(scenario.model_copy(update={"platform": plain}), rates, 10.0, np.random.default_rng(1))
    assert a.endpoints["heartbeat"].mean_ms == pytest.approx(b.endpoints["heartbeat"].mean_ms, rel=1e-9)
