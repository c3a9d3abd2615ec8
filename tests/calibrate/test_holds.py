"""A hold replays the validation's load (calibrate.holds): the busiest 40 s of the validated
stretch at the validation's compression, with the minutes before them; a staircase scale becomes
a hold's at the same planned rate; each hold resumes sessions on accounts no earlier one took.

Before 2026-11-30 22:40 a hold replayed the minutes before and of the staircase's steps at the
staircase's compress 144, and the knee was not the one of the load the validations replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibrate.confirm import in_session_for_holds
from calibrate.holds import (
    busiest_minutes,
    drop_in_session,
    equivalent_scale,
    hold_load,
    resumed_by_sub,
    staircase_rps_per_scale,
)
from loadtests.plan import read_timeseries
from loadtests.stretch import select
from tests.calibrate import hold_model
from tests.calibrate.hold_model import ENDPOINTS, write_model


def test_the_hold_judges_the_validations_busiest_40_s_at_its_compression(tmp_path: Path):
    timeseries = write_model(tmp_path / "model")
    series = read_timeseries(timeseries)
    first, stop = busiest_minutes(series, timeseries, "peak-hour", ENDPOINTS, 36.0, 40.0)
    assert (series.minutes[first].strftime("%H:%M"), stop - first) == ("20:10", 24)  # 24 minutes = 40 s
    load = hold_load(series, timeseries, "peak-hour", ENDPOINTS, 36.0, 64.4, 40.0)
    # whole minutes: 39 of them (65 s) ending with the judged ones, which start 25 s in
    assert load.stretch == "2023-01-05T19:55..2023-01-05T20:34"
    assert load.judged == "2023-01-05T20:10..2023-01-05T20:34"
    assert load.seconds == pytest.approx(65.0) and load.judged_s == pytest.approx(40.0)
    assert load.rps_per_scale == pytest.approx(hold_model.HOLD_RPS)
    picked = select(series, load.stretch)
    assert (picked.start, picked.stop) == (load.start, load.stop)
    # at compress 144 the same 40 s are 96 minutes: the peak hour's 60 and no more
    assert busiest_minutes(series, timeseries, "peak-hour", ENDPOINTS, 144.0, 40.0) == (120, 180)
    # a hold longer than the series before it starts at its first minute
    early = hold_load(series, timeseries, "peak-hour", ENDPOINTS, 36.0, 1000.0, 40.0)
    assert early.start == 0 and early.seconds == pytest.approx(154 * 60 / 36)
    assert load.plan(2.0).resumed_count() == 598  # (300 in progress - 2 starting at 19:55) x 2


def test_a_staircase_scale_becomes_a_holds_at_the_same_planned_rate(tmp_path: Path):
    timeseries = write_model(tmp_path / "model")
    series = read_timeseries(timeseries)
    stair = staircase_rps_per_scale(series, timeseries, "peak-hour", ENDPOINTS, 144.0, 20.0)
    assert stair == pytest.approx(hold_model.STAIR_RPS)  # the last 10 s of 20 at 144: 20:24-20:48
    scale = equivalent_scale(2.0, stair, hold_model.HOLD_RPS)
    assert scale * hold_model.HOLD_RPS == pytest.approx(2.0 * stair)
    assert equivalent_scale(2.0, stair, 0.0) == 2.0


def _accounts(path: Path, in_session: list[str]) -> Path:
    rows = ["mobile,password,teacher_id,school_id,province,sub_platform,role,resume"]
    rows += [f"1380000{i:04d},pw,{i},1,p,basic,teacher," for i in range(3)]
    rows += [f"1390000{i:04d},pw,{100 + i},1,p,{sub},teacher,play:1:0:30:600:3"
             for i, sub in enumerate(in_session)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_later_hold_skips_the_accounts_in_a_session_earlier_holds_resumed(tmp_path: Path):
    """A roster hands resumed sessions the in-session accounts of their sub-platform from the
    file's start: those an earlier hold took are dropped; teachers are kept; "" takes from any."""
    path = _accounts(tmp_path / "a.csv", ["basic", "mobile", "basic", "mobile", "basic"])
    left = drop_in_session(path, {"basic": 2, "mobile": 1})
    ids = [line.split(",")[2] for line in path.read_text().splitlines()[1:]]
    assert ids == ["0", "1", "2", "103", "104"] and left == {"mobile": 1, "basic": 1}
    assert drop_in_session(path, {"": 1}) == {"basic": 1}  # a model run without sub-platforms
    assert drop_in_session(_accounts(tmp_path / "b.csv", []), {"basic": 3}) == {}


def test_the_calibrations_target_seeds_in_session_accounts_for_its_holds(tmp_path: Path):
    """As many as ``max_holds`` holds at the staircase's top scale resume (the most), each taking
    its own, three at most (``SEEDED_HOLDS``: only the first can run that high); at most half
    the teachers."""
    model = tmp_path / "model"
    series = read_timeseries(write_model(model))
    config, context = hold_model.config(model, max_holds=3), hold_model.context(series)
    shares = {"basic": 0.6, "mobile": 0.4}
    needed = in_session_for_holds(config, context, 1.0, shares, 100_000)
    scale = equivalent_scale(1.0, hold_model.STAIR_RPS, hold_model.HOLD_RPS)
    load = hold_load(series, model / "timeseries.csv", "peak-hour", ENDPOINTS, 36.0, 60.0, 40.0)
    per_hold = load.plan(scale)
    assert resumed_by_sub(per_hold) == {"basic": 518, "mobile": 346}  # the viewers' 60/40 at 19:58
    assert 3 * 864 <= needed <= 3 * 864 * 1.1  # and the seeding's draw of sub-platforms allowed for
    assert in_session_for_holds(config, context, 1.0, shares, 2_000) == 1_000
    five = in_session_for_holds(hold_model.config(model, max_holds=5), context, 1.0, shares, 100_000)
    assert five == needed  # not 5 x 864
    assert in_session_for_holds(hold_model.config(model, max_holds=0), context, 1.0, shares, 2_000) == 0
