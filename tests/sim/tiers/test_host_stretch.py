"""The host's stretch of wall-time demands (sim/tiers/host_stretch.py): by hand, against processor
sharing simulated request by request, its constant-demand limit, and in the load-test prediction
(a PostgreSQL writer thread's transactions)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.tiers.host_stretch import MAX_BUSY, WallStretch, busy_per_bin, relative, stretch
from sim.tiers.sharing import serve_ps


def test_stretch_by_hand():
    # one core busy 0.5: M/M/1's 1 / (1 - 0.5) = 2; two cores with one busy (rho 0.5): Erlang C
    # C(2, 1) = 2 rho^2 / (1 + rho) = 1/3, so 1 + (1/3) / (2 - 1) = 4/3 = 1 / (1 - rho^2)
    assert stretch(0.5, 1) == pytest.approx(2.0)
    assert stretch(1.0, 2) == pytest.approx(4.0 / 3.0)
    assert stretch(1.6, 2) == pytest.approx(1.0 / (1.0 - 0.8**2))
    assert stretch(0.0, 2) == pytest.approx(1.0)


def test_a_host_busier_than_its_cores_is_capped():
    assert stretch(5.0, 2) == pytest.approx(stretch(2 * MAX_BUSY, 2))
    assert np.isfinite(stretch(2.0, 2))


@pytest.mark.parametrize("busy", [0.6, 1.2, 1.6])
@pytest.mark.parametrize("sizes", ["exponential", "deterministic"])
def test_it_is_the_mean_stretch_of_processor_sharing_on_two_cores(busy, sizes):
    """Poisson work of 1-ms items on 2 cores shared fairly (limited processor sharing,
    ``serve_ps``): the mean response over the mean size is ``stretch(busy, 2)`` whatever the
    sizes' distribution (insensitivity)."""
    rng = np.random.default_rng(5)
    n, size = 200_000, 0.001
    arrivals = np.cumsum(rng.exponential(size / busy, n))
    service = rng.exponential(size, n) if sizes == "exponential" else np.full(n, size)
    _, leave = serve_ps(arrivals.tolist(), service.tolist(), 2)
    measured = float(np.mean(np.asarray(leave) - arrivals)) / float(service.mean())
    assert measured == pytest.approx(float(stretch(busy, 2)), rel=0.05)


def test_the_constant_demand_limit():
    # as busy as at the calibration: the calibrated wall time; none of it queueing: the same
    np.testing.assert_allclose(relative([0.3, 1.0, 1.7], 2, 1.0, share=0.0), 1.0)
    assert relative(0.7, 2, 0.7) == pytest.approx(1.0)
    assert WallStretch(1.2, 0.5).factor(1.2, 2) == pytest.approx(1.0)


def test_only_the_share_that_queues_for_the_cores_stretches():
    # calibrated on an idle host (stretch 1), measured at 1.6 cores of 2 (stretch 1/0.36):
    # half the wall time stretches, the other half stays
    assert relative(1.6, 2, 0.0, share=0.5) == pytest.approx(0.5 + 0.5 / 0.36)
    # a quieter host than the calibration's: below the calibrated wall time
    assert relative(0.2, 2, 1.0) < 1.0
    with pytest.raises(ValueError, match="share"):
        relative(1.0, 2, 0.0, share=1.5)


def test_busy_per_bin_adds_the_background():
    # two 10-s bins: 3 s of CPU in the first, 1 s in the second, beside 0.5 and 0.2 cores
    busy = busy_per_bin(np.array([1.0, 2.0, 15.0]), np.array([1.0, 2.0, 1.0]), np.array([0.5, 0.2]), 10.0)
    np.testing.assert_allclose(busy, [0.8, 0.3])


def test_a_writers_transactions_stretched_by_hand():
    """``through`` with a factor of 2 on every transaction: at light load linger + 2 x (commit +
    write) = 1 + 2 x 3 = 7 ms (4 ms without)."""
    from domain.scenario import ThreadWriter
    from sim.tiers.writer import through

    writer = ThreadWriter(endpoints=["beat"], linger_ms=1.0, commit_ms=2.5, write_ms=0.5)
    done = np.arange(0.0, 2000.0, 1.0)
    answered = through(writer, ["beat"], np.zeros(done.size, int), done, np.zeros(done.size, int), 1,
                       np.random.default_rng(1), np.full(done.size, 2.0))
    np.testing.assert_allclose((answered - done) * 1000.0, 7.0)


def _predicted(wall: WallStretch | None, background: float):
    from sim.tiers.replay import HostShare, predict
    from tests.sim.tiers.test_writer import _worker_and_database

    writer = {"endpoints": ["request"], "linger_ms": 1.0, "commit_ms": 2.0, "write_ms": 0.5,
              "covers": "database"}
    host = HostShare("server", 2.0, np.full(60, background), wall=wall)
    rates = np.full((1, 60), 5.0)
    return predict(_worker_and_database(writer), rates, 10.0, np.random.default_rng(6), host=host)


def test_in_the_prediction_the_host_stretches_the_writers_transactions():
    """5 requests/s of 1 ms on the loop beside one process busy a whole core on 2 cores (the loop
    never waits for a core): the host is busy 1.005 cores, stretch(1.005, 2) = 1 / (1 - 0.5025²)
    = 1.338 against an idle calibration, so a lone job's transaction of 2.5 ms takes 3.34 ms:
    1 + 1 + 3.34 = 5.34 ms (4.5 ms as calibrated); the utilisation is unchanged."""
    plain = _predicted(None, 1.0)
    stretched = _predicted(WallStretch(0.0, 1.0), 1.0)
    assert plain.endpoints["request"].mean_ms == pytest.approx(4.5, rel=0.01)
    expected = 2.0 + 2.5 / (1.0 - 0.5025**2)
    assert stretched.endpoints["request"].mean_ms == pytest.approx(expected, rel=0.01)
    assert stretched.utilisation == pytest.approx(plain.utilisation, rel=1e-9)


def test_in_the_prediction_nothing_stretches_that_does_not_queue_for_the_cores():
    # share 0: the constant demand, draw for draw
    plain, flat = _predicted(None, 1.0), _predicted(WallStretch(0.0, 0.0), 1.0)
    assert flat.endpoints["request"].mean_ms == pytest.approx(plain.endpoints["request"].mean_ms, rel=1e-12)
