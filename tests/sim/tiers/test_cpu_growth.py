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
