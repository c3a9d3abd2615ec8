"""--capacity what-ifs: parsing, and the overload cascade of an under-provisioned tier."""

from __future__ import annotations

import math

import pytest

from sim.capacity import CapacityError, Relative, parse_capacity, resolve, with_capacity
from sim.tiers.sizing import Capacity
from tests.conftest import SMOKE


def _smoke():
    from domain.scenario import load_scenario

    return load_scenario(SMOKE)


def test_capacity_text_names_tiers_with_positive_sizes():
    scenario = _smoke()
    assert parse_capacity("api=60, database=20,video_cdn=1.5", scenario) == {
        "api": 60, "database": 20, "video_cdn": 1.5
    }
    resized = with_capacity(scenario, {"api": 60, "video_cdn": 1.5})
    tiers = {t.name: t for t in resized.platform.tiers}
    assert tiers["api"].servers == 60 and tiers["video_cdn"].capacity_gbps == 1.5
    assert tiers["database"] == {t.name: t for t in scenario.platform.tiers}["database"]


@pytest.mark.parametrize("text, problem", [
    ("api", "not TIER=SIZE"), ("web=3", "no tier 'web'"), ("api=x", "not a number"),
    ("api=0", "positive"), ("api=nan", "positive"), ("api=2.5", "whole number"),
])
def test_bad_capacity_text_is_one_line_naming_it(text, problem):
    with pytest.raises(CapacityError, match=problem):
        parse_capacity(text, _smoke())


def _need(tier: str, unit: str, needed: float, minimum: float | None) -> Capacity:
    return Capacity(tier, unit, needed, 1.0, 0.0, 0, "max_utilisation", minimum=minimum)


def test_a_share_is_of_the_plan_or_of_the_minimum_and_a_pool_gets_whole_servers():
    scenario = _smoke()
    sizes = parse_capacity("api=80%,database=80%min,video_cdn=50%min,sms_gateway=3", scenario)
    assert sizes == {"api": Relative(80, "need"), "database": Relative(80, "min"),
                     "video_cdn": Relative(50, "min"), "sms_gateway": 3}
    assert str(sizes["api"]) == "80%" and str(sizes["database"]) == "80%min"
    needs = {"api": _need("api", "servers", 27, 21), "database": _need("database", "servers", 75, 56),
             "video_cdn": _need("video_cdn", "Gbps", 2.5, 2.0)}
    # 80% of 27 is 21.6: 22 servers; 80% of 56 is 44.8: 45; Gbps are not rounded
    assert resolve(sizes, needs, scenario) == {"api": 22, "database": 45, "video_cdn": 1.0, "sms_gateway": 3}
    assert parse_capacity("api=80% need", scenario) == {"api": Relative(80, "need")}
    tiny = {"api": _need("api", "servers", 1, 1)}
    assert resolve(parse_capacity("api=10%", scenario), tiny, scenario) == {"api": 1}  # at least one


@pytest.mark.parametrize("need, problem", [
    (None, "no service levels"), (_need("api", "servers", math.inf, math.inf), "unbounded"),
    (_need("api", "servers", 0, 0), "no load"),
])
def test_a_share_of_a_need_that_is_missing_unbounded_or_zero_is_refused(need, problem):
    scenario = _smoke()
    with pytest.raises(CapacityError, match=problem):
        resolve(parse_capacity("api=80%min", scenario), {"api": need} if need else {}, scenario)


@pytest.mark.slow
def test_a_tier_below_its_peak_load_cascades_and_one_at_need_does_not():
    """smoke at 20,000 teachers, video tier: 10% below the peak egress, sessions are lost (and
    their teachers come back later); at the sizing's need (peak / max_utilisation), none are."""
    from sim.model import run_model
    from sim.outputs.writer import timeseries

    scenario = _smoke()
    ample = run_model(with_capacity(scenario, {"video_cdn": 100.0}), 20_000, scenario.seed, 20_000)
    peak = float(timeseries(ample)["egress_gbps"].max())
    need = peak / scenario.service_levels.tiers["video_cdn"].max_utilisation
    short = run_model(with_capacity(scenario, {"video_cdn": 0.9 * peak}), 20_000, scenario.seed, 20_000)
    at_need = run_model(with_capacity(scenario, {"video_cdn": need}), 20_000, scenario.seed, 20_000)
    assert _lost(ample) == _lost(at_need) == 0
    assert _lost(short) >= 100 and _lost(short) <= 0.1 * _sessions(short)  # measured: 340 of 104,309


def _lost(run) -> float:
    return float(run.recorder.daily["sessions_lost"].sum())


def _sessions(run) -> float:
    return float(run.recorder.daily["sessions"].sum())


def test_tiers_short_of_their_plan_are_raised_to_it_and_unbounded_ones_left():
    from sim.capacity import short_tiers

    scenario = _smoke()  # api 4 servers, video_cdn 1 Gbps
    needs = {"api": _need("api", "servers", 6.2, 5.0), "video_cdn": _need("video_cdn", "Gbps", 1.5, 1.2),
             "database": _need("database", "servers", math.inf, math.inf),
             "sms_gateway": _need("sms_gateway", "servers", 1.0, 1.0)}
    assert short_tiers(scenario, needs) == {"api": 7.0, "video_cdn": 1.5}
