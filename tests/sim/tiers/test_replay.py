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
