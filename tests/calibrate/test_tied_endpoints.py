"""Endpoints that come in a fixed ratio in every step (the reference's sign-in and campaign
page: one each per session) cannot be told apart by the utilisation law: only their joint
cost is measured. The platform file must keep that joint cost whole, not put the scenario's
estimate beside the fit's arbitrary share (2026-11-30: login 0 -> 55 ms beside the page's
19.7 ms doubled the predicted api utilisation, 0.39 against 0.19 measured)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibrate.fit import Row, fit_tier, tied_groups
from calibrate.platform_lines import demand_lines
from domain.scenario import load_scenario

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
LOGIN_S, PAGE_S, BEAT_S = 0.012, 0.008, 0.0015  # the truth of the synthetic server


def _rows(rng: np.random.Generator) -> list[Row]:
    """Steps of different mixes in which every session signs in and loads its page once
    (a fixed ratio) and sends a varying number of heartbeats."""
    rows = []
    for step, (sessions, beats) in enumerate([(2, 50), (5, 40), (10, 300), (20, 200), (30, 900), (50, 400)]):
        for _ in range(6):
            n = float(rng.poisson(sessions * 5))
            b = float(rng.poisson(beats * 5 / 10))
            busy = n * (LOGIN_S + PAGE_S) + b * BEAT_S + rng.normal(0, 0.002)
            rows.append(Row(step, 5.0, {"login": n, "campaign_page": n, "heartbeat": b}, {"api": busy}))
    return rows


def test_endpoints_in_a_fixed_ratio_form_a_group_and_others_do_not():
    counts = np.array([[1, 1, 5, 3], [2, 2, 1, 6], [4, 4, 7, 9], [8, 8, 2, 1.0]])
    assert tied_groups(counts, ["a", "b", "c", "d"]) == (("a", "b"),)
    assert tied_groups(counts[:, 2:], ["c", "d"]) == ()


def test_the_joint_cost_is_kept_whole_and_split_by_the_scenarios_ratio():
    scenario = load_scenario(SMOKE)
    estimate = {e.name: e.demand_ms["api"] for e in scenario.platform.endpoints}
    rng = np.random.default_rng(3)
    endpoints = [e.name for e in scenario.platform.endpoints]
    fit = fit_tier("api", _rows(rng), endpoints, rng)
    assert ("campaign_page", "login") in fit.tied
    # NNLS puts the pair's whole cost on one of them: the case the rule is for
    assert min(fit.demands["login"].ms, fit.demands["campaign_page"].ms) == 0.0
    lines = demand_lines(scenario, {"api": fit})
    login, page = lines["login"]["api"], lines["campaign_page"]["api"]
    # the pair costs what was measured, not the measurement plus an estimate
    assert login["ms"] + page["ms"] == pytest.approx((LOGIN_S + PAGE_S) * 1000, rel=0.1)
    assert login["ms"] / page["ms"] == pytest.approx(estimate["login"] / estimate["campaign_page"])
    assert login["measured"] and "jointly" in login["why"]
    assert fit.demands["heartbeat"].ms == pytest.approx(BEAT_S * 1000, rel=0.15)


def test_a_split_the_fit_made_up_is_replaced_too():
    """Both fitted above 0 (noise shared the pair's cost out): still only the sum is known."""
    from calibrate.fit import Demand, TierFit

    scenario = load_scenario(SMOKE)
    estimate = {e.name: e.demand_ms["api"] for e in scenario.platform.endpoints}
    demands = {e.name: Demand(1.0, 0.5, 2.0, 500) for e in scenario.platform.endpoints}
    demands["login"] = Demand(6.9, 0.0, 21.9, 2_274)
    demands["campaign_page"] = Demand(14.1, 0.0, 20.7, 2_236)
    fit = TierFit("api", 0.0, demands, 0.99, 50, tied=(("campaign_page", "login"),))
    lines = demand_lines(scenario, {"api": fit})
    login, page = lines["login"]["api"], lines["campaign_page"]["api"]
    assert 2_274 * login["ms"] + 2_236 * page["ms"] == pytest.approx(2_274 * 6.9 + 2_236 * 14.1)
    assert login["ms"] / page["ms"] == pytest.approx(estimate["login"] / estimate["campaign_page"])
    assert lines["heartbeat"]["api"]["ms"] == 1.0  # not tied: the fit's own
