"""An api tier of event loops (``wakeup_ms``): each wake-up costs a fixed overhead shared by
the requests ready then. The request-level loop (sim.tiers.batching.serve_batches with
``each``), the chain (``batching_figures``), the processor-sharing variant (``overhead_shares``)
and the per-minute model (sim.tiers.platform) against each other and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from domain.scenario import ScenarioError, load_scenario
from sim.tiers.batching import batching_figures, overhead_shares, serve_batches

D_S, WAKEUP_S = 0.0015, 0.001


def test_an_event_loop_by_hand():
    # requests at 0, 0.1, 0.2 and 5; service 1 each, wake-up 2: the first alone (wakes at 0,
    # done at 3); the two that came meanwhile share the next wake-up (3 -> 5) and are answered
    # in turn (6, 7); the last came at 5, during that batch, and is served after it (7 -> 10)
    start, leave = serve_batches([0.0, 0.1, 0.2, 5.0], [1.0] * 4, 1, 2.0, each=True)
    assert leave == [3.0, 6.0, 7.0, 10.0]
    busy = sum(b - a for a, b in zip(start, leave, strict=True))
    assert busy == pytest.approx(3 * 2.0 + 4 * 1.0)  # three wake-ups, four requests


def _loop(rate: float, servers: int, n: int = 120_000, seed: int = 7, shared: bool = False):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, n))
    service = rng.exponential(D_S, n)
    if shared:  # processor sharing: the wake-ups' mean share lengthens each request
        from sim.tiers.sharing import serve_ps

        service = service + overhead_shares(arrivals, service, servers, WAKEUP_S)
        start, leave = serve_ps(arrivals.tolist(), service.tolist(), servers)
    else:
        start, leave = serve_batches(arrivals.tolist(), service.tolist(), servers, WAKEUP_S, each=True,
                                     assign=rng.integers(0, servers, n))
    busy = float((np.array(leave) - np.array(start)).sum())
    return busy / (servers * arrivals[-1])


@pytest.mark.parametrize("rate", [50.0, 200.0, 400.0, 560.0])
def test_the_request_level_loop_has_the_chains_utilisation(rate):
    # per loop: λ d from 0.04 to 0.42, λ c from 0.025 to 0.28 (the calibrated api's range);
    # exponential service: the chain uses a batch's mean length (2 points, test_batching.py)
    figures = batching_figures(np.array([rate / 2]), np.array([D_S]), WAKEUP_S)
    assert _loop(rate, 2) == pytest.approx(float(figures.utilisation[0]), abs=0.01)
    assert _loop(rate, 2, shared=True) == pytest.approx(float(figures.utilisation[0]), abs=0.01)
    # less than a wake-up per request as load grows, never more than one
    assert rate / 2 * (D_S + WAKEUP_S) >= float(figures.utilisation[0]) > rate / 2 * D_S


def _scenario(tmp_path, wakeup: str):
    from tests.conftest import SMOKE

    text = SMOKE.read_text(encoding="utf-8").replace(
        "- {name: api, kind: pool, servers: 4}", f"- {{name: api, kind: pool, servers: 2{wakeup}}}")
    path = tmp_path / "loop.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


@pytest.mark.parametrize("rate", [100.0, 300.0, 450.0])
def test_per_minute_and_request_level_agree(tmp_path, rate):
    """One minute of heartbeats (api demand 3 ms) on two loops with a 1-ms wake-up: the
    per-minute model's utilisation (sim.tiers.platform: the group commit's per-minute chain)
    is the chain's, and the request-level loop's within 2 points (exponential service: the
    chain takes a batch's mean length, and with variable service batches are a little bigger:
    1.7 points at 0.8 of a core); both below a wake-up a request. The per-minute waits are the
    gated batch's, whose requests all leave at its end, so its mean response bounds the loop's
    from above (measured +3%, +10%, +13% at 20, 58, 81% busy)."""
    from sim.tiers.platform import Platform
    from sim.tiers.requestsim import analytic, simulate

    scenario = _scenario(tmp_path, ", wakeup_ms: 1")
    model = Platform(scenario).state({"heartbeat": rate}, 0.0).utilisation("api")
    chain = float(batching_figures(np.array([rate / 2]), np.array([0.003]), WAKEUP_S).utilisation[0])
    assert model == pytest.approx(chain, rel=1e-6)
    stats = simulate(scenario, {"heartbeat": rate}, 200.0, 5.0, np.random.default_rng(3))["api"]
    assert stats.utilisation == pytest.approx(model, abs=0.02)
    assert model < rate * 0.004 / 2
    response = analytic(scenario, {"heartbeat": rate})["api"]["mean_response_s"]
    assert stats.mean_response_s * 0.98 <= response <= stats.mean_response_s * 1.2


def test_per_minute_utilisation_follows_each_minute(tmp_path):
    from sim.tiers.platform import Platform

    rates = np.array([20.0, 150.0, 450.0])
    series = Platform(_scenario(tmp_path, ", wakeup_ms: 1")).evaluate({"heartbeat": rates}, np.zeros(3))
    chain = batching_figures(rates / 2, np.full(3, 0.003), WAKEUP_S).utilisation
    assert series["api"].utilisation == pytest.approx(chain, rel=1e-6)


def test_the_load_test_prediction_uses_the_wakeups(tmp_path):
    from sim.tiers.replay import predict

    scenario = _scenario(tmp_path, ", wakeup_ms: 1")
    plain = _scenario(tmp_path, "")
    names = [e.name for e in scenario.platform.endpoints]
    rates = np.zeros((len(names), 12))
    rates[names.index("heartbeat")] = 300.0
    loop = predict(scenario, rates, 10.0, np.random.default_rng(2)).utilisation["api"]
    fixed = predict(plain, rates, 10.0, np.random.default_rng(2)).utilisation["api"]
    chain = float(batching_figures(np.array([150.0]), np.array([0.003]), WAKEUP_S).utilisation[0])
    assert loop == pytest.approx(chain, abs=0.015)
    assert fixed < loop < 300.0 * 0.004 / 2


def test_wakeups_are_checked(tmp_path):
    with pytest.raises(ScenarioError, match=r"platform.tiers\[0\].pool.wakeup_ms: Input should be greater"):
        _scenario(tmp_path, ", wakeup_ms: -1")
    with pytest.raises(ScenarioError, match="wakeup_ms: not with discipline group-commit"):
        _scenario(tmp_path, ", wakeup_ms: 1, discipline: group-commit")
    assert _scenario(tmp_path, ", wakeup_ms: 0.8").platform.tier("api").wakeup_ms == 0.8
