"""Group commit (sim/tiers/batching.py): the request-level writer against the exact Markov
chain of batch sizes, and both against cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.scenario import ScenarioError, load_scenario
from sim.tiers.batching import batch_chain, batching_figures, effective_demand, serve_batches


def _simulated(rate: float, demand_s: float, commit_s: float, n: int = 150_000, seed: int = 4):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    start, leave = serve_batches(arrivals.tolist(), [demand_s] * n, 1, commit_s)
    busy = float((np.array(leave) - np.array(start)).sum())
    batches = len(set(leave))
    return busy / arrivals[-1], batches / arrivals[-1], np.array(leave) - arrivals


def test_a_batch_by_hand():
    # writes at 0, 0.1, 0.2 and 5; service 1 each, commit 2: the first alone (0 -> 3), the two
    # that came meanwhile together (3 -> 3 + 2 + 2 = 7), the last waits for that batch (7 -> 10)
    start, leave = serve_batches([0.0, 0.1, 0.2, 5.0], [1.0] * 4, 1, 2.0)
    assert leave == [3.0, 7.0, 7.0, 10.0]
    assert [b - a for a, b in zip(start, leave, strict=True)] == [3.0, 2.0, 2.0, 3.0]  # commit shared


def test_light_load_is_a_batch_of_one():
    # λ → 0: every write is alone, U = λ (d + c) (the utilisation law with d + c per write)
    figures = batch_chain(0.5, 0.002, 0.010)
    assert figures.mean_batch == pytest.approx(1.0, abs=0.01)
    assert figures.utilisation == pytest.approx(0.5 * 0.012, rel=0.01)


@pytest.mark.parametrize("rate,demand_s,commit_s", [
    (50.0, 0.002, 0.005), (200.0, 0.002, 0.005), (400.0, 0.002, 0.005), (100.0, 0.003, 0.017)])
def test_chain_matches_the_simulated_writer(rate, demand_s, commit_s):
    utilisation, batches_per_s, _ = _simulated(rate, demand_s, commit_s)
    figures = batch_chain(rate, demand_s, commit_s)
    assert figures.utilisation == pytest.approx(utilisation, abs=0.006)
    assert figures.batches_per_s == pytest.approx(batches_per_s, rel=0.02)
    # the utilisation law with the effective demand: U = λ (d + c / E[N])
    assert figures.utilisation == pytest.approx(rate * figures.demand_s, rel=1e-6)


def test_heavy_load_batches_approach_the_fixed_point():
    # at λ d close to 1 the writer is always busy and batches grow to λ c / (1 - λ d)
    rate, d, c = 450.0, 0.002, 0.005
    figures = batch_chain(rate, d, c)
    assert figures.utilisation > 0.999
    assert figures.mean_batch == pytest.approx(rate * c / (1 - rate * d), rel=0.05)


def test_utilisation_grows_slower_than_a_fixed_demand():
    rates = np.array([10.0, 100.0, 200.0, 300.0])
    per_write = effective_demand(rates, 0.002, 0.005, writers=1)
    assert np.all(np.diff(per_write) < 0)  # the commit is shared by bigger batches
    assert per_write[0] == pytest.approx(batch_chain(10.0, 0.002, 0.005).demand_s, rel=0.01)
    two = effective_demand(np.array([200.0]), 0.002, 0.005, writers=2)  # 100/s per writer
    assert two[0] == pytest.approx(batch_chain(100.0, 0.002, 0.005).demand_s, rel=0.01)


def test_unstable_and_negative_inputs_are_refused():
    with pytest.raises(ValueError, match="unstable"):
        batch_chain(600.0, 0.002, 0.005)
    with pytest.raises(ValueError, match=">= 0"):
        batch_chain(-1.0, 0.002, 0.005)
    assert math.isclose(batch_chain(0.0, 0.002, 0.005).utilisation, 0.0)


def test_commit_only_with_group_commit(tmp_path):
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: database, kind: pool, servers: 2}",
        "- {name: database, kind: pool, servers: 2, commit_ms: 3}")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="commit_ms: only for discipline group-commit"):
        load_scenario(bad)
    good = tmp_path / "good.yaml"
    grouped = text.replace("commit_ms: 3}", "commit_ms: 3, discipline: group-commit}")
    good.write_text(grouped, encoding="utf-8")
    tier = next(t for t in load_scenario(good).platform.tiers if t.name == "database")
    assert tier.commit_ms == 3 and tier.discipline == "group-commit"


@pytest.mark.parametrize("service,tolerance", [("deterministic", 0.01), ("exponential", 0.03)])
def test_the_load_test_prediction_batches_as_the_chain_says(tmp_path, service, tolerance):
    """sim.tiers.replay.predict on a group-commit writer: utilisation as the chain gives it
    (exact for deterministic writes; with exponential writes the chain, which uses the batch's
    mean length, is within 3 points)."""
    from sim.tiers.replay import predict
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: database, kind: pool, servers: 2}",
        f"- {{name: database, kind: pool, servers: 1, service: {service}, "
        "discipline: group-commit, commit_ms: 5}")
    path = tmp_path / "grouped.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    names = [e.name for e in scenario.platform.endpoints]
    rates = np.zeros((len(names), 30))
    rates[names.index("heartbeat")] = 150.0  # heartbeats only: database demand 2 ms each
    prediction = predict(scenario, rates, 10.0, np.random.default_rng(2))
    expected = batch_chain(150.0, 0.002, 0.005).utilisation
    assert prediction.utilisation["database"] == pytest.approx(expected, abs=tolerance)
    assert prediction.utilisation["database"] < 150.0 * 0.007 - 0.1  # far below a commit per write


@pytest.mark.parametrize("rate,demand_s,commit_s", [
    (0.5, 0.002, 0.010), (50.0, 0.002, 0.005), (200.0, 0.002, 0.005), (400.0, 0.002, 0.005),
    (100.0, 0.003, 0.017), (30.0, 0.0, 0.010)])
def test_closed_form_is_the_chain(rate, demand_s, commit_s):
    # batching_figures solves batch_chain's Markov chain through its Laplace transform
    chain = batch_chain(rate, demand_s, commit_s)
    figures = batching_figures(np.array([rate]), np.array([demand_s]), commit_s)
    assert figures.mean_batch[0] == pytest.approx(chain.mean_batch, rel=1e-9)
    assert figures.utilisation[0] == pytest.approx(chain.utilisation, rel=1e-9)
    assert figures.demand_s[0] == pytest.approx(chain.demand_s, rel=1e-9)


@pytest.mark.parametrize("rate,tolerance", [(50.0, 0.01), (200.0, 0.01), (400.0, 0.03)])
def test_mean_response_matches_the_simulated_writer(rate, tolerance):
    # fixed writes: the chain and the remainder-plus-own-batch argument are exact (the
    # tolerance is the simulation's noise, which grows as the writer fills)
    demand_s, commit_s = 0.002, 0.005
    _, _, response = _simulated(rate, demand_s, commit_s, n=200_000, seed=3)
    figures = batching_figures(np.array([rate]), np.array([demand_s]), commit_s)
    model = figures.wait_s[0] + commit_s + demand_s
    assert model == pytest.approx(float(response.mean()), rel=tolerance)


def test_the_figures_at_the_limits():
    rates = np.array([0.0, 1e-3, 600.0])
    figures = batching_figures(rates, np.full(3, 0.002), 0.005)
    # no load: a lone write and its whole commit; light load: the same, and U = λ (d + c)
    assert figures.demand_s[0] == pytest.approx(0.007)
    assert figures.demand_s[1] == pytest.approx(0.007, rel=1e-6)
    assert figures.utilisation[1] == pytest.approx(1e-3 * 0.007, rel=1e-4)
    assert figures.wait_s[0] == 0.0 and figures.wait_s[1] < 1e-6
    # λ d >= 1: unstable, every write's demand its own (batches without bound)
    assert not figures.stable[2] and figures.wait_s[2] == np.inf
    assert figures.utilisation[2] == pytest.approx(1.2) and figures.demand_s[2] == 0.002


@pytest.mark.parametrize("rate", [30.0, 130.0, 197.0])
def test_the_wait_of_those_that_wait(rate):
    # fixed writes: a write that finds the writer idle leaves after exactly commit + d; the
    # others wait, with the chain's share (the utilisation), mean and standard deviation
    demand_s, commit_s = 0.002, 0.005
    _, _, response = _simulated(rate, demand_s, commit_s, n=200_000, seed=3)
    wait = response - commit_s - demand_s
    waited = wait[wait > 1e-12]
    figures = batching_figures(np.array([rate]), np.array([demand_s]), commit_s)
    assert waited.size / wait.size == pytest.approx(figures.utilisation[0], abs=0.01)
    assert figures.wait_s[0] / figures.utilisation[0] == pytest.approx(waited.mean(), rel=0.015)
    assert figures.busy_wait_sd_s is not None
    assert figures.busy_wait_sd_s[0] == pytest.approx(waited.std(), rel=0.03)


@pytest.mark.parametrize("item_s,overhead_s", [(0.002, 0.005), (0.0001, 0.05), (0.01, 0.0005),
                                               (0.002, 0.0), (0.003, 0.017)])
def test_busier_with_every_write_cheaper(item_s, overhead_s):
    """What sizing's bisection needs: a server's utilisation and its wait never fall as its
    rate grows (more servers: less of each), while each item's busy time never grows."""
    rates = np.geomspace(1e-3, 0.9999 / item_s, 4000)
    figures = batching_figures(rates, np.full(rates.size, item_s), overhead_s, 1.0, 2.0)
    assert np.all(np.diff(figures.utilisation) >= -1e-12)
    assert np.all(np.diff(figures.wait_s) > 0)
    assert np.all(np.diff(figures.demand_s) <= 1e-15)
    assert figures.busy_wait_sd_s is not None and np.all(np.isfinite(figures.busy_wait_sd_s))


def test_a_write_at_no_cost_of_its_own_still_forms_the_batches(tmp_path):
    """``demand_ms: {database: 0}`` is a visit at 0 of its own (a calibrated heartbeat whose
    cost is all in the per-batch cost); a tier left out is not visited. The writer is then busy
    only with its commits, one a batch: the chain's x / E[N] with no write demand, at request
    level (sim.tiers.replay) and per minute (sim.tiers.platform)."""
    from sim.tiers.platform import Platform
    from sim.tiers.replay import predict
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: database, kind: pool, servers: 2}",
        "- {name: database, kind: pool, servers: 1, service: exponential, "
        "discipline: group-commit, commit_ms: 5}")
    text = text.replace("demand_ms: {api: 3, database: 2}}", "demand_ms: {api: 3, database: 0}}")
    text = text.replace("demand_ms: {api: 55, database: 2}}", "demand_ms: {api: 55}}")
    path = tmp_path / "free-writes.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.platform.endpoint("heartbeat").visits("database")
    assert not scenario.platform.endpoint("login").visits("database")
    names = [e.name for e in scenario.platform.endpoints]
    rates = np.zeros((len(names), 30))
    rates[names.index("heartbeat")] = 150.0
    rates[names.index("login")] = 5.0  # never at the writer: no batches of its own
    expected = batch_chain(150.0, 0.0, 0.005).utilisation
    assert 0.3 < expected < 150.0 * 0.005 - 0.1  # batches of more than one write
    prediction = predict(scenario, rates, 10.0, np.random.default_rng(2))
    assert prediction.utilisation["database"] == pytest.approx(expected, abs=0.01)
    minute = {"heartbeat": np.array([150.0]), "login": np.array([5.0])}
    platform = Platform(scenario)
    evaluated = platform.tier("database").performance(platform.matrix(minute), np.zeros(1))
    assert evaluated.utilisation[0] == pytest.approx(expected, rel=1e-6)
