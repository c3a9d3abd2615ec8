"""The group commits' CPU, a commit's and a job's, fitted on a calibration's bins
(calibrate/commit_cpu.py): a synthetic staircase whose batches grow, its costs recovered within
their intervals; the platform file's line only when a commit's own cost is significant."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.commit_cpu import fit_commit_cpu, line
from calibrate.fit import BATCHES, JOBS, Row
from calibrate.probes import COMMITS_CPU


def _rows(per_batch_ms: float, per_job_ms: float, seed: int = 2) -> list[Row]:
    """Eight steps of five bins, heartbeats 1 job each, batches of 1.0 to 4 jobs as the rate
    rises; the commits' CPU a·commits + b·jobs with 3% noise; the api's busy time beside it."""
    rng = np.random.default_rng(seed)
    out = []
    for step, (rate, size) in enumerate(zip([20, 50, 90, 140, 200, 260, 320, 380],
                                            [1.0, 1.02, 1.05, 1.1, 1.3, 1.7, 2.5, 4.0], strict=True)):
        for _ in range(5):
            jobs = float(rng.poisson(5.0 * rate))
            commits = jobs / size
            cpu = (per_batch_ms * commits + per_job_ms * jobs) / 1000.0 * rng.normal(1.0, 0.03)
            out.append(Row(step, 5.0, {"heartbeat": jobs, "login": 0.05 * jobs, JOBS: jobs, BATCHES: commits},
                           {"api": 0.002 * jobs + cpu}, {"heartbeat": 0.0004 * jobs, COMMITS_CPU: cpu}))
    return out


def test_a_commit_s_and_a_job_s_cpu_are_recovered_within_their_intervals():
    law = fit_commit_cpu("api", _rows(0.5, 0.2), ["heartbeat", "login"], np.random.default_rng(0))
    assert law is not None
    assert law.batch_lo <= 0.5 <= law.batch_hi and law.job_lo <= 0.2 <= law.job_hi
    assert law.per_batch_ms == pytest.approx(0.5, abs=0.05) and law.per_job_ms == pytest.approx(0.2, abs=0.03)
    assert law.endpoints == ("heartbeat",)
    # the demands' share a job: the commits' CPU over their jobs, between b and a + b
    assert 0.2 < law.calibrated_ms < 0.7
    written = line(law)
    assert written is not None and written["per_batch_ms"] == pytest.approx(law.per_batch_ms, abs=1e-4)


def test_a_commit_without_a_cost_of_its_own_is_not_written():
    law = fit_commit_cpu("api", _rows(0.0, 0.6), ["heartbeat", "login"], np.random.default_rng(0))
    assert law is not None and law.batch_lo == 0.0
    assert line(law) is None


def test_without_the_counters_there_is_no_law():
    bare = [Row(r.step, r.seconds, r.requests, r.busy_s, {"heartbeat": 0.1}) for r in _rows(0.5, 0.2)]
    assert fit_commit_cpu("api", bare, ["heartbeat", "login"], np.random.default_rng(0)) is None


def test_the_demands_share_comes_from_the_demands_rows():
    """The law on every step (the overloaded ones' large batches too), the share a job holds in the
    demands from the steps they were fitted on: here the first four, batches of 1.0-1.1."""
    rows = _rows(0.5, 0.2)
    fitted = [r for r in rows if r.step < 4]
    law = fit_commit_cpu("api", rows, ["heartbeat", "login"], np.random.default_rng(0), fitted)
    assert law is not None
    share = 1000.0 * sum(r.route_cpu_s[COMMITS_CPU] for r in fitted) / sum(r.requests[JOBS] for r in fitted)
    assert law.calibrated_ms == pytest.approx(share)
    assert share == pytest.approx(0.2 + 0.5 / 1.05, abs=0.03)
