"""A worker's lingering writer thread (sim/tiers/writer.py): by hand, its limit without the
linger (the gated group commit of sim/tiers/batching.py) and a SimPy writer written as the
reference's ThreadCommitter loop is."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.tiers.batching import serve_batches
from sim.tiers.writer import serve_writers


def test_batches_by_hand():
    # linger 1, commit 2, write 0.5; jobs at 0, 0.5, 2 and 10 on one writer: the first two in one
    # batch (taken 0, lingers to 1, ends 1 + 2 + 2 x 0.5 = 4); the job at 2 came during that
    # transaction: taken at 4, lingers to 5, ends 5 + 2.5 = 7.5; the last alone: 10 -> 13.5
    start, leave = serve_writers(np.array([0.0, 0.5, 2.0, 10.0]), np.full(4, 0.5), np.zeros(4, int), 1,
                                 2.0, 1.0)
    assert leave.tolist() == [4.0, 4.0, 7.5, 13.5]
    assert start.tolist() == [1.0, 1.0, 5.0, 11.0]


def test_each_worker_has_its_own_writer():
    # the same two jobs at once on two writers: each alone (1 + 2 + 0.5), not one batch
    _, leave = serve_writers(np.array([0.0, 0.0]), np.full(2, 0.5), np.array([0, 1]), 2, 2.0, 1.0)
    assert leave.tolist() == [3.5, 3.5]


@pytest.mark.parametrize("rate", [50.0, 300.0, 900.0])
def test_without_a_linger_it_is_the_gated_group_commit(rate):
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, 20_000))
    service = rng.exponential(0.001, arrivals.size)
    writer = rng.integers(0, 2, arrivals.size)
    _, leave = serve_writers(arrivals, service, writer, 2, 0.002, 0.0)
    _, gated = serve_batches(arrivals.tolist(), service.tolist(), 2, 0.002, assign=writer)
    np.testing.assert_allclose(leave, gated, rtol=0, atol=1e-12)


def _simpy_writer(arrivals: np.ndarray, service: np.ndarray, commit: float, linger: float) -> np.ndarray:
    """The reference's writer loop in SimPy: block for a job, gather with a deadline, commit."""
    env = simpy.Environment()
    jobs = simpy.Store(env)
    leave = np.zeros(arrivals.size)

    def feed():
        for i, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            jobs.put(i)

    def writer():
        while True:
            batch = [(yield jobs.get())]
            deadline = env.now + linger
            while True:
                get = jobs.get()
                got = yield get | env.timeout(max(0.0, deadline - env.now))
                if get not in got:
                    get.cancel()
                    break
                batch.append(got[get])
            yield env.timeout(commit + float(service[batch].sum()))
            leave[batch] = env.now

    env.process(feed())
    env.process(writer())
    env.run(until=float(arrivals[-1]) + 10.0)
    return leave


@pytest.mark.parametrize("rate", [100.0, 400.0])
def test_it_is_the_reference_writers_loop_simulated_event_by_event(rate):
    rng = np.random.default_rng(8)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, 5_000))
    service = rng.exponential(0.0005, arrivals.size)
    _, leave = serve_writers(arrivals, service, np.zeros(arrivals.size, int), 1, 0.002, 0.001)
    np.testing.assert_allclose(leave, _simpy_writer(arrivals, service, 0.002, 0.001), rtol=0, atol=1e-9)


def test_at_light_load_a_job_takes_the_linger_the_commit_and_its_write():
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1.0, 5_000))  # 1 a second against 4 ms batches
    _, leave = serve_writers(arrivals, np.full(arrivals.size, 0.0005), np.zeros(arrivals.size, int), 1,
                             0.0025, 0.001)
    assert (leave - arrivals).mean() == pytest.approx(0.004, rel=0.01)


def _worker_and_database(writer: dict | None):
    """One worker (1-ms deterministic requests on its loop) whose requests are jobs of its writer
    thread, and a database tier (2 servers, 0.8 ms a request: the database's CPU)."""
    from pathlib import Path

    from domain.scenario import WorkerThreads, load_scenario

    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    s = load_scenario(scenarios / "erlang-mm1-rho50.yaml")
    threads = WorkerThreads(slots=1, sync={}, writer=writer)
    api = s.platform.tiers[0].model_copy(update={"threads": threads, "service": "deterministic"})
    database = api.model_copy(update={"name": "database", "servers": 2, "threads": None})
    endpoints = [e.model_copy(update={"demand_ms": {"server": 1.0, "database": 0.8}})
                 for e in s.platform.endpoints]
    return s.model_copy(update={"platform": s.platform.model_copy(
        update={"tiers": [api, database], "endpoints": endpoints})})


def test_the_prediction_answers_a_job_when_its_writer_committed_it():
    """At 5 requests/s every job is alone: 1 ms on the loop, then the writer's linger, commit and
    write (1 + 2 + 0.5 ms), the database's 0.8 ms inside them (not again): 4.5 ms, where without
    the writer the request is its loop's and the database's 1.8 ms. The tiers' utilisation is the
    same (the same draws): the writer's wall time is not anyone's busy time."""
    from sim.tiers.replay import predict

    writer = {"endpoints": ["request"], "linger_ms": 1.0, "commit_ms": 2.0, "write_ms": 0.5,
              "covers": "database"}
    rates = np.full((1, 60), 5.0)
    plain = predict(_worker_and_database(None), rates, 10.0, np.random.default_rng(6))
    written = predict(_worker_and_database(writer), rates, 10.0, np.random.default_rng(6))
    assert written.endpoints["request"].mean_ms == pytest.approx(4.5, rel=0.01)
    assert plain.endpoints["request"].mean_ms == pytest.approx(1.8, rel=0.05)
    assert written.utilisation == pytest.approx(plain.utilisation, rel=1e-9)


def test_exponential_transactions_keep_the_mean_and_give_the_tail():
    """At light load each job is alone: linger + an exponential transaction of mean commit + write,
    so its mean is 1 + 3 ms and its p95 1 + 3 ln 20 = 9.99 ms (fixed: 4 ms)."""
    from domain.scenario import ThreadWriter
    from sim.tiers.writer import through

    writer = ThreadWriter(endpoints=["beat"], linger_ms=1.0, commit_ms=2.5, write_ms=0.5,
                          service="exponential")
    done = np.cumsum(np.random.default_rng(5).exponential(1.0, 40_000))
    answered = through(writer, ["beat"], np.zeros(done.size, int), done, np.zeros(done.size, int), 1,
                       np.random.default_rng(1))
    response = (answered - done) * 1000.0
    assert response.mean() == pytest.approx(4.0, rel=0.02)
    assert np.quantile(response, 0.95) == pytest.approx(1.0 + 3.0 * np.log(20.0), rel=0.03)
