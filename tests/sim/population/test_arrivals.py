import datetime as dt

import numpy as np
import pytest

from domain.campaign import Campaign
from sim.model import horizon_s
from sim.population.arrivals import Profile, day_offset


@pytest.fixture(scope="module")
def profile(winter):
    campaign = Campaign(winter)
    return Profile(winter, campaign, horizon_s(campaign))


def _day_mean(profile, day):
    lo = int(day_offset(profile.campaign, day) // 60)
    return profile.intensity[lo:lo + 1440].mean()


def test_mean_one_over_the_window(profile):
    assert profile.intensity[: profile.window_minutes].mean() == pytest.approx(1.0)
    assert profile.cum_hours[profile.window_minutes] == pytest.approx(profile.window_s / 3600)


def test_operational_clock_round_trips(profile):
    t = np.array([0.0, 3600.0, 86400.0 * 30 + 1234.5, profile.window_s - 1])
    back = profile.real_s(profile.op_hours(t))
    np.testing.assert_allclose(back, t, atol=1e-6)
    for value in t:
        assert profile.op_hour(value) == pytest.approx(profile.op_hours(value))
        assert profile.real_at(profile.op_hour(value)) == pytest.approx(value, abs=1e-6)
    assert profile.real_at(profile.cum_hours[-1] + 1) == np.inf


def test_evenings_busier_than_nights(profile):
    day = profile.intensity[1440 * 10:1440 * 11]  # a whole local day (window starts at midnight)
    assert day[21 * 60:22 * 60].mean() > 10 * day[3 * 60:4 * 60].mean()


def test_spring_festival_quieter_than_the_week_after_break(profile):
    festival = _day_mean(profile, dt.date(2023, 1, 24))  # holiday inside the winter break
    ordinary_break = _day_mean(profile, dt.date(2023, 2, 1))  # Wednesday in the break
    assert festival < 0.6 * ordinary_break


def test_deadline_rush_and_opening_boost(profile):
    before = _day_mean(profile, dt.date(2023, 2, 15))  # Wednesday, before the rush
    rush = _day_mean(profile, dt.date(2023, 2, 22))  # Wednesday, inside the rush
    assert rush == pytest.approx(3.5 * before, rel=0.05)
    opening = _day_mean(profile, dt.date(2023, 1, 5))  # Thursday, courses 2-5 open
    later = _day_mean(profile, dt.date(2023, 1, 12))  # Thursday a week later
    assert opening > 1.5 * later


def test_markers_name_openings_holidays_deadline(profile):
    kinds = {m.kind for m in profile.markers()}
    assert {"opening", "holiday", "deadline"} <= kinds
