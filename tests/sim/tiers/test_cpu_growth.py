"""A CPU demand that moves with the host's busy cores (sim/tiers/host_stretch.CpuGrowth, served by
sim/tiers/replay.predict from PoolTier.cpu_growth): the fixed point by hand, its limits, and the
prediction against M/M/1 at the grown demand."""

from __future__ import annotations

import numpy as np
import pytest

from domain.platform_spec import DemandGrowth
from sim.tiers.host_stretch import LEAST_FACTOR, CpuGrowth, grown
from sim.tiers.replay import HostShare, predict
from tests.sim.tiers.test_replay import _one_worker


def test_no_slope_is_the_constant_demand():
    law = CpuGrowth(0.0, 1.0)
    np.testing.assert_allclose(law.factor([0.0, 1.0, 2.0]), 1.0)
    service = np.array([0.001, 0.002, 0.003])
    np.testing.assert_array_equal(grown(service, np.array([1.0, 2.0, 15.0]), law, np.array([0.5, 1.5]), 2.0,
                                        10.0), service)


def test_the_busy_cores_are_the_fixed_point_by_hand():
    # k 0.2 a core from 1 core; own 0.5 cores at the calibrated demands, 0.6 of other work:
    # x = (0.6 + 0.5 (1 - 0.2)) / (1 - 0.2 x 0.5) = 1 / 0.9 = 1.111, and x = 0.6 + 0.5 f(x)
    law = CpuGrowth(0.2, 1.0)
    x = float(law.settle(0.5, 0.6, 2.0))
    assert x == pytest.approx(1.0 / 0.9)
    assert x == pytest.approx(0.6 + 0.5 * float(law.factor(x)))


def test_a_host_busier_than_its_cores_is_all_busy_and_the_factor_has_a_floor():
    assert float(CpuGrowth(0.5, 0.0).settle(1.5, 1.0, 2.0)) == pytest.approx(2.0)  # 1 - k·own < 0 too
    assert float(CpuGrowth(0.1, 0.0).settle(1.5, 1.0, 2.0)) == pytest.approx(2.0)
    falling = CpuGrowth(-1.0, 0.0)
    assert float(falling.factor(5.0)) == LEAST_FACTOR
    assert float(falling.settle(1.0, 1.0, 4.0)) == pytest.approx(1.0 + LEAST_FACTOR)


def _grown_worker(per_core: float, reference: float):
    s = _one_worker(5.0)
    tier = s.platform.tiers[0].model_copy(update={"cpu_growth": DemandGrowth(per_core=per_core,
                                                                             reference_cores=reference)})
    return s.model_copy(update={"platform": s.platform.model_copy(update={"tiers": [tier]})})


def test_in_the_prediction_no_slope_is_the_old_prediction_exactly():
    rates = np.full((1, 20), 70.0)
    host = HostShare("server", 1.0, np.full(20, 0.2))
    old = predict(_one_worker(5.0), rates, 10.0, np.random.default_rng(3), host=host)
    new = predict(_grown_worker(0.0, 0.7), rates, 10.0, np.random.default_rng(3), host=host)
    assert new.endpoints == old.endpoints and new.utilisation == old.utilisation


def test_in_the_prediction_the_demand_grows_with_the_host_s_busy_cores():
    """One worker on one idle core, 70 requests/s of exponential 5-ms items (0.35 busy at the
    calibrated demand), CPU +30% a busy core from 0: x = 0.35 / (1 - 0.3 x 0.35) = 0.391 busy,
    each demand 5 x 1.117 = 5.59 ms, and the worker is M/M/1 there: utilisation 0.391, mean
    response 5.59 / (1 - 0.391) = 9.17 ms (7.69 at the constant demand)."""
    rates = np.full((1, 40), 70.0)
    host = HostShare("server", 1.0, np.zeros(40))
    p = predict(_grown_worker(0.3, 0.0), rates, 10.0, np.random.default_rng(11), host=host)
    x = 0.35 / (1.0 - 0.3 * 0.35)
    assert p.utilisation["server"] == pytest.approx(x, rel=0.03)
    assert p.endpoints["request"].mean_ms == pytest.approx(5.0 * (1 + 0.3 * x) / (1 - x), rel=0.06)


def test_a_platform_without_the_law_loads_with_none():
    assert _one_worker(5.0).platform.tiers[0].cpu_growth is None


def _committing_worker(per_batch_ms: float, per_job_ms: float, calibrated_ms: float):
    from domain.platform_spec import CommitCpu

    s = _one_worker(5.0)
    law = CommitCpu(per_batch_ms=per_batch_ms, per_job_ms=per_job_ms, calibrated_ms=calibrated_ms,
                    endpoints=["request"])
    tier = s.platform.tiers[0].model_copy(update={"commit_cpu": law})
    return s.model_copy(update={"platform": s.platform.model_copy(update={"tiers": [tier]})})


def test_a_job_s_share_of_its_batch_s_commit_by_hand():
    """Four jobs in the first 10 s answered two by two (batches of 2): 0.2 + 0.6 / 2 - 0.8 = -0.3 ms
    each; two in the next answered apart (batches of 1): 0.2 + 0.6 - 0.8 = 0; other endpoints 0."""
    from domain.platform_spec import CommitCpu
    from sim.tiers.replay import _commit_shares

    law = CommitCpu(per_batch_ms=0.6, per_job_ms=0.2, calibrated_ms=0.8, endpoints=["beat"])
    times = np.array([0.5, 0.6, 1.5, 1.6, 3.0, 11.0, 12.0])
    kinds = np.array([0, 0, 0, 0, 1, 0, 0])
    done = np.array([1.0, 1.0, 2.0, 2.0, 3.1, 11.5, 12.5])
    shares = _commit_shares(law, ["beat", "page"], times, kinds, done, 10.0, 2)
    np.testing.assert_allclose(shares * 1000.0, [-0.3, -0.3, -0.3, -0.3, 0.0, 0.0, 0.0], atol=1e-12)


def test_in_the_prediction_a_job_s_cpu_moves_by_its_share():
    """One worker, 70 requests/s of exponential 5-ms items, each a job whose commit share is 1 ms
    less than calibrated (no cost a batch): M/M/1 at 4 ms a request, utilisation 0.28, mean
    4 / (1 - 0.28) = 5.56 ms (7.69 as calibrated)."""
    rates = np.full((1, 40), 70.0)
    host = HostShare("server", 1.0, np.zeros(40))
    p = predict(_committing_worker(0.0, 0.5, 1.5), rates, 10.0, np.random.default_rng(11), host=host)
    assert p.utilisation["server"] == pytest.approx(0.28, rel=0.03)
    assert p.endpoints["request"].mean_ms == pytest.approx(4.0 / (1 - 0.28), rel=0.06)
    # a commit's and a job's shares that add up to the calibrated at batches of 1 (no batching
    # here: one worker, no writer): the calibrated prediction
    same = predict(_committing_worker(1.0, 0.5, 1.5), rates, 10.0, np.random.default_rng(11), host=host)
    assert same.utilisation["server"] == pytest.approx(0.35, rel=0.03)
