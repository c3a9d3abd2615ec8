"""Group commits formed by event loops' turns (``batched_by``; sim/tiers/turns.py,
``batching.turn_batches``): a loop commits once per turn the writes its requests handed over,
so a batch is the writes among one turn's requests. Checked against a simulated loop (gated
turns, Poisson arrivals, each request a write with a given probability), against the writer's
own chain (which the reference's batches outgrew near its knee), and through both predictions."""

from __future__ import annotations

import numpy as np
import pytest

from domain.scenario import load_scenario
from sim.tiers.batching import batching_figures, turn_batches
from sim.tiers.turns import loop_batches


def _turns(arrivals: np.ndarray, work: np.ndarray, overhead_s: float) -> np.ndarray:
    """Each request's turn of one gated loop: a turn takes every request waiting as it starts."""
    turn, free, i, k = np.empty(arrivals.size, int), 0.0, 0, 0
    while i < arrivals.size:
        begin = max(free, arrivals[i])
        j = int(np.searchsorted(arrivals, begin, side="right"))
        turn[i:j], free, i, k = k, begin + overhead_s + work[i:j].sum(), j, k + 1
    return turn


@pytest.mark.parametrize("rate,item_s,overhead_s,share,scv,tolerance", [
    (92.6, 0.0075, 0.0, 0.815, 0.0, 0.01), (92.6, 0.0075, 0.0, 0.815, 1.0, 0.01),
    (92.6, 0.0075, 0.0, 0.815, 4.0, 0.03), (60.0, 0.004, 0.0005, 0.8, 1.0, 0.01),
    (150.0, 0.006, 0.0003, 0.5, 1.0, 0.04)])  # the loop 90% busy: the simulation's own noise ~2.5%
def test_writes_per_commit_are_the_simulated_loops(rate, item_s, overhead_s, share, scv, tolerance):
    rng = np.random.default_rng(1)
    n = 300_000
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    work = (np.full(n, item_s) if scv == 0 else rng.gamma(1.0 / scv, item_s * scv, n))
    turn = _turns(arrivals, work, overhead_s)
    per_commit = np.bincount(turn[rng.random(n) < share])
    simulated = per_commit[per_commit > 0].mean()
    closed = turn_batches(np.array([rate]), np.array([item_s]), overhead_s, np.array([share]), scv)[0]
    assert closed == pytest.approx(simulated, rel=tolerance)


def test_every_request_a_write_is_the_gated_chain_and_light_load_is_one():
    rates = np.array([1e-3, 10.0, 100.0, 200.0, 300.0])
    figures = batching_figures(rates, np.full(5, 0.003), 0.001)
    turns = turn_batches(rates, np.full(5, 0.003), 0.001, np.ones(5), 0.0)
    assert turns == pytest.approx(figures.mean_batch, rel=1e-9)
    light = turn_batches(np.array([1e-3, 400.0]), np.full(2, 0.003), 0.0, np.full(2, 0.8))[0]
    assert light == pytest.approx(1.0)
    assert np.isinf(turn_batches(np.array([400.0]), np.array([0.003]), 0.0, np.array([0.8]))[0])  # saturated


def test_the_loops_batches_outgrow_the_writers_own_near_the_loops_saturation():
    """Heartbeats (2.5 ms at the api, 1.8 ms at the writer) and sign-ins (45 ms at the api only)
    on two loops: as the loops fill, the turns and so the commits grow, while the writer, busy a
    third of the time, would batch barely more than one write (the reference: 1.92 writes a
    commit at 185 requests/s against the writer chain's 1.04)."""
    heartbeats = np.array([40.0, 100.0, 150.0, 190.0])
    rates = np.vstack([heartbeats, heartbeats / 25.0])
    batch = loop_batches(rates, np.array([0.0025, 0.045]), np.array([True, True]), 2, 0.0,
                         np.array([0.0018, 0.0]), np.array([True, False]), 0.0005)
    writer = batching_figures(heartbeats, np.full(4, 0.0018), 0.0005).mean_batch
    assert np.all(np.diff(batch) > 0) and batch[0] < 1.1
    assert batch[-1] > 1.5 and batch[-1] > writer[-1] + 0.4 and writer[-1] < 1.1


def test_both_predictions_charge_the_loops_batches(tmp_path):
    """``batched_by: api`` on the writer: the per-minute model's utilisation is heartbeats ×
    (d + commit / E[N]) with the loops' E[N], and the request-level prediction (the load test's,
    sim.tiers.replay) agrees with it; below the writer's own chain's at a load that fills the loops."""
    from sim.tiers.platform import Platform
    from sim.tiers.replay import predict
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: database, kind: pool, servers: 2}",
        "- {name: database, kind: pool, servers: 1, discipline: group-commit, commit_ms: 3, "
        "batched_by: api}")
    # two workers, as the reference
    text = text.replace("- {name: api, kind: pool, servers: 4}", "- {name: api, kind: pool, servers: 2}")
    path = tmp_path / "loops.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    platform = Platform(scenario)
    names = [e.name for e in scenario.platform.endpoints]
    rates = np.zeros((len(names), 30))
    rates[names.index("heartbeat")] = 250.0  # api 3 ms, database 2 ms each (smoke's estimates)
    rates[names.index("login")] = 8.0  # api 55 ms, database 2 ms
    minute = platform.tier("database").performance(rates[:, :1], np.zeros(1))
    assert minute.batching is not None
    batch = minute.batching.mean_batch[0]
    assert minute.utilisation[0] == pytest.approx(258.0 * (0.002 + 0.003 / batch))
    writer = batching_figures(np.array([258.0]), np.array([0.002]), 0.003)
    assert batch > writer.mean_batch[0] + 0.3 and minute.utilisation[0] < writer.utilisation[0] - 0.05
    prediction = predict(scenario, rates, 10.0, np.random.default_rng(4))
    assert prediction.utilisation["database"] == pytest.approx(minute.utilisation[0], abs=0.02)


@pytest.mark.parametrize("tier,why", [
    ("- {name: database, kind: pool, servers: 1, batched_by: api}", "only for discipline group-commit"),
    ("- {name: database, kind: pool, servers: 1, discipline: group-commit, commit_ms: 3, "
     "batched_by: video_cdn}",
     "is not another pool tier")])
def test_batched_by_names_another_pool_for_a_group_commit(tmp_path, tier, why):
    from domain.scenario import ScenarioError
    from tests.conftest import SMOKE

    path = tmp_path / "bad.yaml"
    text = SMOKE.read_text(encoding="utf-8").replace("- {name: database, kind: pool, servers: 2}", tier)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=why):
        load_scenario(path)
