"""Choosing the replayed stretch of the model's time series."""

from __future__ import annotations

import pytest

from loadtests.plan import PlanError, read_timeseries
from loadtests.stretch import select
from tests.loadtests.conftest import write_series


@pytest.fixture
def three_days(tmp_path):
    sessions = [1.0] * (3 * 1440)
    for m in range(1440 + 20 * 60, 1440 + 21 * 60):  # day 2, 20:00-21:00 is the busiest hour
        sessions[m] = 50.0
    return read_timeseries(write_series(tmp_path, sessions) / "timeseries.csv")


def test_peak_day_and_peak_hour(three_days):
    day = select(three_days, "peak-day")
    assert (day.start, day.stop) == (1440, 2880)
    hour = select(three_days, "peak-hour")
    assert (hour.start, hour.stop) == (1440 + 1200, 1440 + 1260)
    assert "2023-01-06 20:00" in hour.label


def test_dates_and_ranges(three_days):
    assert (select(three_days, "2023-01-07").start, select(three_days, "2023-01-07").stop) == (2880, 4320)
    both = select(three_days, "2023-01-05..2023-01-06")
    assert (both.start, both.stop) == (0, 2880)
    evening = select(three_days, "2023-01-05T19:00..2023-01-05T22:30")
    assert (evening.start, evening.stop) == (19 * 60, 22 * 60 + 30)
    assert (select(three_days, "window").start, select(three_days, "all").stop) == (0, 4320)


@pytest.mark.parametrize("spec", ["bogus", "2023-13-01", "2024-01-01", "2023-01-06..2023-01-05"])
def test_bad_stretch_is_one_line_naming_the_option(three_days, spec):
    with pytest.raises(PlanError, match="^--stretch: ") as err:
        select(three_days, spec)
    assert "\n" not in str(err.value)
