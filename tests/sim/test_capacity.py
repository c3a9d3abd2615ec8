"""--capacity what-ifs: parsing, and the overload cascade of an under-provisioned tier."""

from __future__ import annotations

import pytest

from sim.capacity import CapacityError, parse_capacity, with_capacity
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
