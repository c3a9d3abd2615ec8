"""Processor sharing on c cores against its theory: insensitive mean response (M/M/c's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers import queueing as q
from sim.tiers.experiments import run_workload
from sim.tiers.sharing import serve_ps

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
