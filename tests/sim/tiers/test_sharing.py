"""Processor sharing on c cores against its theory: insensitive mean response (M/M/c's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers import queueing as q
from sim.tiers.experiments import run_workload
from sim.tiers.sharing import serve_processes, serve_ps

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_two_requests_share_one_core():
    # both present from t=0 with 1 s of work each: each gets half the core, both leave at 2 s
    start, leave = serve_ps([0.0, 0.0], [1.0, 1.0], 1)
    assert leave == pytest.approx([2.0, 2.0])
    assert start == pytest.approx([1.0, 1.0])  # leave - service: 1 s of stretch each


def test_short_request_overtakes_a_long_one():
    _, leave = serve_ps([0.0, 0.1], [10.0, 0.2], 1)
    assert leave[1] == pytest.approx(0.1 + 0.4)  # half the core for 0.4 s
    assert leave[0] == pytest.approx(10.2)  # the work is conserved


def test_c_cores_serve_c_requests_at_full_speed():
    _, leave = serve_ps([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], 3)
    assert leave == pytest.approx([1.0, 2.0, 3.0])


def _mean_response(scv_file: str, discipline: str, servers: int, factor: float = 0.3):
    scenario = load_scenario(SCENARIOS / f"{scv_file}.yaml")
    tiers = [t.model_copy(update={"discipline": discipline, "servers": servers})
             for t in scenario.platform.tiers]
    workload = scenario.workload.model_copy(update={
        "duration_s": scenario.workload.duration_s * factor,
        "rate_per_s": scenario.workload.rate_per_s * servers})
    scenario = scenario.model_copy(update={
        "platform": scenario.platform.model_copy(update={"tiers": tiers}), "workload": workload})
    return run_workload(scenario).measured["server"]["mean_response_s"]


@pytest.mark.parametrize("servers", [1, 2])
def test_mean_response_is_insensitive_to_service_variability(servers):
    """H2 service with scv 4 at rho 0.7: PS's mean response is M/M/c's (0.333 s at c = 1),
    where FCFS would pay P-K's 0.683 s."""
    measured = _mean_response("mg1-hyperexp-scv4-rho70", "processor-sharing", servers)
    lam, s = 7.0 * servers, 0.1
    exact = s + float(q.mean_wait(lam, s, servers))
    assert measured.mean == pytest.approx(exact, rel=0.06)
    fcfs = s + float(q.mean_wait(lam, s, servers, scv=4.0))
    assert measured.hi < fcfs


def test_per_minute_model_uses_the_insensitive_mean():
    from sim.tiers.requestsim import analytic

    scenario = load_scenario(SCENARIOS / "mg1-hyperexp-scv4-rho70.yaml")
    tiers = [t.model_copy(update={"discipline": "processor-sharing"}) for t in scenario.platform.tiers]
    scenario = scenario.model_copy(update={"platform": scenario.platform.model_copy(update={"tiers": tiers})})
    figures = analytic(scenario, {"request": 7.0})["server"]
    assert figures["mean_response_s"] == pytest.approx(0.1 / 0.3, rel=1e-9)
    assert np.isfinite(figures["p95_s"])


def test_three_processes_on_two_cores_each_get_two_thirds():
    # one 1-s item each at t=0: 3 runnable processes on 2 cores run at 2/3 of a core each
    start, leave = serve_processes([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0, 1, 2], 3, 2.0)
    assert leave == pytest.approx([1.5, 1.5, 1.5])
    assert start == pytest.approx([0.5, 0.5, 0.5])  # leave - service: the CPU each used


def test_a_process_serves_its_own_queue_in_order_at_most_one_core():
    # two items for process 0 on 2 idle cores: FCFS one after the other, never faster than a core
    _, leave = serve_processes([0.0, 0.0, 0.5], [1.0, 1.0, 0.2], [0, 0, 1], 2, 2.0)
    assert leave == pytest.approx([1.0, 2.0, 0.7])


def _exponential_run(rate, mean_s, owners, processes, cores, n=100_000, seed=3):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    service = rng.exponential(mean_s, n)
    assign = owners(rng, n)
    _, leave = serve_processes(arrivals.tolist(), service.tolist(), assign.tolist(), processes, cores)
    return float(np.mean(np.array(leave) - arrivals))


def test_one_core_shared_by_processes_is_mm1_for_the_total_load():
    """Exponential items of one mean on one core: the core is work conserving and each busy
    process's item is memoryless, so the number present is M/M/1's at the total load (0.7):
    mean response 1/(mu - lambda) = 10 ms / 0.3, however the items split over processes (a
    worker beside the load generator)."""
    split = _exponential_run(70.0, 0.010, lambda rng, n: rng.integers(0, 3, n), 3, 1.0)
    assert split == pytest.approx(0.010 / 0.3, rel=0.05)


def test_processes_on_as_many_cores_are_independent_mm1_queues():
    # random dispatch to 2 processes on 2 cores: each an M/M/1 at 0.6 (not M/M/2's shared queue)
    mean = _exponential_run(120.0, 0.010, lambda rng, n: rng.integers(0, 2, n), 2, 2.0)
    assert mean == pytest.approx(0.010 / 0.4, rel=0.05)
    assert mean > 0.010 + float(q.mean_wait(120.0, 0.010, 2)) * 1.3  # the shared queue waits far less
