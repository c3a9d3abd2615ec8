"""The fit's Dask path (``--scheduler``: a fit given a cluster) gives the answer of its
process-pool path for the same seed. The cluster is in-process (distributed.LocalCluster,
processes=False, one worker of two threads, as many as the pool's two processes, so the sampler
batches alike); skipped when distributed is not installed (``pip install -e '.[dask]'``)."""

import pytest

from fit import params
from fit.fitting import FitOptions, fit
from fit.simulations import Job, Runner

distributed = pytest.importorskip("distributed")

NAMES = ["session_minutes_mean"]


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_a_cluster_runs_the_jobs_a_pool_runs(smoke, scheduler):
    base = params.fit_data(smoke)
    jobs = [Job((0.2,), 11, 9e9), Job((0.7,), 12, 9e9)]
    with Runner(base, NAMES, [], 60, workers=2) as pool, \
            Runner(base, NAMES, [], 60, scheduler=scheduler) as cluster:
        assert cluster.parallel == pool.parallel == 2
        on_pool, on_cluster = pool.map(jobs), cluster.map(jobs)
    assert on_cluster == on_pool
    assert on_pool[0]["mean_session_minutes"] < on_pool[1]["mean_session_minutes"]  # not one answer


@pytest.mark.slow  # two tiny fits: ~1 min quiet
def test_a_fit_on_a_cluster_is_the_fit_on_a_pool(smoke, scheduler):
    from domain.targets import parse_targets
    from fit.simulations import evaluate

    unit = (params.BY_NAME[NAMES[0]].to_unit(30.0),)
    figures = evaluate(params.fit_data(smoke), NAMES, [], 200, Job(unit, 9, 9e9))
    targets = parse_targets({"campaign": "smoke", "targets": [{
        "name": "minutes", "metric": "mean_session_minutes", "value": figures["mean_session_minutes"],
        "relation": "match", "uncertainty": {"relative": 0.1}, "why": "made by a run",
        "source": {"document": "tests/fit/test_dask.py", "where": "30 minutes"}}]})
    options = FitOptions(tuple(NAMES), particles=4, budget=24, generations=3, max_simulated=100, seed=3,
                         workers=2)
    on_pool = fit(smoke, targets, options, lambda line: None)
    on_cluster = fit(smoke, targets, FitOptions(**{**options.__dict__, "workers": None,
                                                   "scheduler": scheduler}), lambda line: None)
    for key in ("posterior", "fit", "behaviour"):
        assert on_cluster[key] == on_pool[key], key
    assert on_cluster["provenance"]["simulations"] == on_pool["provenance"]["simulations"] > 0


@pytest.mark.slow  # four smoke runs of 60 teachers
def test_ranges_on_a_cluster_are_the_ranges_on_a_pool(smoke, scheduler):
    import numpy as np

    from fit.ranges import Posterior, run_draws

    posterior = Posterior("p", ["session_minutes_mean"], np.array([[20.0], [60.0]]), np.array([0.5, 0.5]))
    on_pool = run_draws(smoke, posterior, 2, 60, 5, None, workers=2)
    on_cluster = run_draws(smoke, posterior, 2, 60, 5, None, scheduler=scheduler)
    assert np.array_equal(on_cluster[0], on_pool[0]) and on_cluster[1] == on_pool[1]
    assert on_cluster[2] == on_pool[2]
