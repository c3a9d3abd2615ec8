"""Replications give the same figures bit for bit wherever they run: in this process, in
spawned worker processes, on a Dask cluster's worker processes (their own interpreters, hash
seeds and BLAS threads); and a cluster running other model code is refused, not used.

Slow (a Dask cluster with worker processes starts in ~5-10 s and imports the model again);
skipped without the optional extra (pip install -e '.[dask]')."""

from __future__ import annotations

import pytest

from sim import replications
from sim.replications import run_extra

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def test_dask_worker_processes_give_the_local_figures_bit_for_bit(smoke, cluster):
    args = dict(teachers=300, seed=3, count=3, max_simulated=None)
    here = run_extra(smoke, **args, workers=1)
    spawned = run_extra(smoke, **args, workers=2)
    on_dask = run_extra(smoke, **args, scheduler=cluster.scheduler_address)
    assert len(here) == 2 and here[0] != here[1]
    assert spawned == here and on_dask == here  # exact float equality, every figure


def test_a_cluster_with_other_model_code_is_refused(smoke, cluster, monkeypatch):
    from sim.errors import ModelError

    monkeypatch.setattr(replications, "_FINGERPRINT", "edited-since")
    with pytest.raises(ModelError, match="run other model code"):
        run_extra(smoke, 150, seed=3, count=2, max_simulated=None,
                  scheduler=cluster.scheduler_address)
