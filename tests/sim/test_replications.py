import math

import numpy as np
import pytest

from sim.replications import confidence, replication_seed, run_extra


def test_seeds_are_reproducible_and_distinct():
    seeds = [replication_seed(7, i) for i in range(5)]
    assert seeds[0] == 7 and len(set(seeds)) == 5
    assert seeds == [replication_seed(7, i) for i in range(5)]


def test_confidence_interval_is_the_t_interval():
    figures = [{"x": v, "y": 1.0} for v in (1.0, 2.0, 3.0, 4.0)]
    ci = confidence(figures)
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / math.sqrt(4)
    assert ci["count"] == 4 and ci["mean"]["x"] == 2.5
    assert ci["ci95"]["x"] == pytest.approx([2.5 - half, 2.5 + half])
    assert ci["ci95"]["y"] == [1.0, 1.0]


def test_replications_in_processes(smoke):
    figures = run_extra(smoke, 150, seed=3, count=3, max_simulated=None, workers=2)
    assert len(figures) == 2
    assert figures[0]["outcomes.participants"] == figures[1]["outcomes.participants"] == 135
    assert figures[0]["peak(rps.total)"] != figures[1]["peak(rps.total)"]


def test_replications_on_a_dask_cluster(smoke):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        figures = run_extra(smoke, 150, seed=3, count=2, max_simulated=None,
                            scheduler=cluster.scheduler_address)
    local = run_extra(smoke, 150, seed=3, count=2, max_simulated=None, workers=1)
    assert figures == local  # same seeds, same figures wherever they run
