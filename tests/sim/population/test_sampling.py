"""The sampled run's error bound with clustered heartbeats (sim.population.sampling)."""

import numpy as np
import pytest

from sim.population.sampling import heartbeat_cluster, sampling_bound


def _relative_errors(beats_per_viewer: float, weight: float, seed: int = 5, reps: int = 4000):
    """Full run (N teachers) against an independent sampled run (N / w teachers of weight w):
    at the peak minute each teacher views with probability p and sends c beats a minute."""
    rng = np.random.default_rng(seed)
    teachers, p = 400_000, 0.05
    full = beats_per_viewer * rng.binomial(teachers, p, reps)
    sampled = weight * beats_per_viewer * rng.binomial(int(teachers / weight), p, reps)
    return sampled / full - 1.0, beats_per_viewer * teachers * p


@pytest.mark.parametrize("beats", [3.0, 0.1])
def test_cluster_bound_matches_the_spread_of_clustered_heartbeats(beats):
    errors, count = _relative_errors(beats, weight=20.0)
    one_sigma = sampling_bound(20.0, count, cluster=beats, sigmas=1.0)
    assert errors.std() == pytest.approx(one_sigma, rel=0.06)
    assert np.mean(np.abs(errors) <= sampling_bound(20.0, count, cluster=beats)) > 0.999


def test_the_independent_bound_understates_three_beats_a_minute():
    """The issue's case: one viewer sends three heartbeats a minute (20 s); treating them as
    independent states sqrt(3) too small an error."""
    errors, count = _relative_errors(3.0, weight=20.0)
    naive = sampling_bound(20.0, count, cluster=1.0, sigmas=1.0)
    assert errors.std() / naive == pytest.approx(np.sqrt(3.0), rel=0.06)


def test_cluster_of_a_mixed_platform():
    # 100 basic viewers at 600 s (0.1/min), 10 higher at 20 s (3/min)
    c = heartbeat_cluster({"basic": 100.0, "higher": 10.0}, {"basic": 600.0, "higher": 20.0})
    assert c == pytest.approx((0.01 * 100 + 9 * 10) / (0.1 * 100 + 3 * 10))
    assert heartbeat_cluster({"higher": 10.0}, {"higher": 20.0}, others=30.0) == pytest.approx(
        (90 + 30) / (30 + 30))
    assert sampling_bound(3.0, 0.0) == np.inf
