"""General service distributions: the request-level simulation against Pollaczek-Khinchine
for M/G/1, and the tier model's tails for the general shapes against their own definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter

from domain.distributions import ServiceShape
from domain.scenario import load_scenario
from sim.tiers import service as general
from sim.tiers.experiments import run_workload

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHAPES = TypeAdapter(ServiceShape)


def _pk_wait(rates: dict[str, float], demand_s: dict[str, float], scv: float) -> float:
    """Pollaczek-Khinchine: W = lambda E[S²] / (2 (1 - rho)), E[S²] = sum p_i (1 + scv) d_i²."""
    lam = sum(rates.values())
    rho = sum(rates[e] * demand_s[e] for e in rates)
    second = sum(rates[e] / lam * (1.0 + scv) * demand_s[e] ** 2 for e in rates)
    return lam * second / (2.0 * (1.0 - rho))


def _shortened(scenario, factor: float):
    workload = scenario.workload.model_copy(update={"duration_s": scenario.workload.duration_s * factor})
    return scenario.model_copy(update={"workload": workload})


@pytest.mark.parametrize("name,scv", [("mg1-hyperexp-scv4-rho70", 4.0), ("mg1-two-endpoints-lognormal", 2.0)])
def test_mg1_mean_wait_is_pollaczek_khinchine(name, scv):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    demand = {e.name: e.demand_ms["server"] / 1000.0 for e in scenario.platform.endpoints}
    exact = _pk_wait(scenario.workload.rates, demand, scv)
    result = run_workload(_shortened(scenario, 0.5))
    wait = result.measured["server"]["mean_wait_s"]
    assert wait.lo <= exact <= wait.hi, (wait, exact)
    assert wait.mean == pytest.approx(exact, rel=0.05)
    # the tier model (Allen-Cunneen with c = 1) is exactly P-K for the mean
    assert result.theory["server"]["mean_wait_s"] == pytest.approx(exact, rel=1e-9)


def test_high_variance_service_waits_longer_than_exponential_at_the_same_load():
    scenario = _shortened(load_scenario(SCENARIOS / "mg1-hyperexp-scv4-rho70.yaml"), 0.15)
    tiers = [t.model_copy(update={"service": "exponential"}) for t in scenario.platform.tiers]
    platform = scenario.platform.model_copy(update={"tiers": tiers})
    exponential = scenario.model_copy(update={"platform": platform})
    heavy = run_workload(scenario).measured["server"]["mean_wait_s"].mean
    light = run_workload(exponential).measured["server"]["mean_wait_s"].mean
    assert heavy / light == pytest.approx((1 + 4) / 2, rel=0.12)  # P-K: proportional to 1 + scv


@pytest.mark.parametrize("spec", [
    {"kind": "lognormal", "scv": 4}, {"kind": "gamma", "scv": 0.5}, {"kind": "hyperexponential", "scv": 4},
    {"kind": "empirical", "samples": [1, 2, 2, 3, 9]},
], ids=lambda s: s["kind"])
def test_general_tails_agree_with_monte_carlo(spec):
    shape = SHAPES.validate_python(spec)
    rng = np.random.default_rng(7)
    d, theta, n = 0.05, 8.0, 400_000
    s = general.draw(shape, rng, n) * d
    w = rng.exponential(1.0 / theta, n)
    u = rng.uniform(0.1, 0.3, n)
    x = np.array([0.02, 0.05, 0.1, 0.2, 0.4])
    for xi, bare, waited, fluid in zip(
            x, general.unit_tail(shape, x / d),
            general.exp_wait_plus_service_tail(shape, x, d, np.full(x.size, theta)),
            general.uniform_plus_service_tail(shape, x, np.full(x.size, 0.1), np.full(x.size, 0.3), d),
            strict=True):
        assert bare == pytest.approx((s > xi).mean(), abs=0.01)
        assert waited == pytest.approx((s + w > xi).mean(), abs=0.01)
        assert fluid == pytest.approx((s + u > xi).mean(), abs=0.01)
