"""A validation level means what it says: at level L the replay's busiest window of the knee's
judged length plans L x the knee's rate (not L x the knee's scale: the peak hour's busiest
minutes run faster than the minutes a hold judged); the two windows' endpoint mixes compared;
the bench's records written and read through their models."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from calibrate.errors import CalibrationError
from calibrate.level_records import LevelResult, read, write
from calibrate.levels import Knee, busiest, knee_from, last, mix_distance, plan_level, shares, stretch_rates
from loadtests.plan import read_timeseries

ZONE = dt.timezone(dt.timedelta(hours=8))
ENDPOINTS = ["heartbeat", "login"]


def _model(folder: Path, late_login: float = 0.1) -> Path:
    """2023-01-05 18:00-22:00: the peak hour 20:00-21:00 (most sessions); heartbeats 1/s until
    20:30, 1.25/s after it; logins 0.1/s (``late_login`` after 20:30)."""
    folder.mkdir(parents=True)
    start = dt.datetime(2023, 1, 5, 18, 0, tzinfo=ZONE)
    with (folder / "timeseries.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minute", "arrivals.sessions", "rps.heartbeat", "rps.login", "rps.total"])
        for i in range(240):
            late = i >= 150
            writer.writerow([(start + dt.timedelta(minutes=i)).isoformat(), 10.0 if 120 <= i < 180 else 1.0,
                             1.25 if late else 1.0, late_login if late else 0.1, 0.0])
    return folder / "timeseries.csv"


def _knee(rate: float = 400.0, scale: float = 2.0) -> Knee:
    # a hold at compress 144 replaying 19:12-20:48, all of it judged (40 s = 96 model minutes)
    return Knee(rate, scale, "hold-2", "2023-01-05T19:12..2023-01-05T20:48", 144.0, 40.0, 40.0)


def test_the_busiest_window_is_found_where_the_plan_peaks():
    rates = np.array([[100.0] * 6 + [200.0] * 2 + [100.0] * 4])  # req/s per 10-s minute
    window = busiest(rates, ["a"], 10.0, 20.0)
    assert window.start_s == 60.0 and window.rate_rps == pytest.approx(200.0)
    assert last(rates, ["a"], 10.0, 40.0).rate_rps == pytest.approx(100.0)


def test_a_level_runs_its_busiest_window_at_that_share_of_the_knees_rate(tmp_path):
    timeseries = _model(tmp_path / "model")
    series = read_timeseries(timeseries)
    planned = (1.0 * 78 + 1.25 * 18 + 0.1 * 96) * 60 * 2.0 / 40.0  # the hold's judged minutes at scale 2
    plan = plan_level(0.85, _knee(planned), series, timeseries, ENDPOINTS, "peak-hour", 36.0, 100.0)
    assert plan.knee_planned_rps == pytest.approx(planned)
    assert plan.busiest_rps == pytest.approx(0.85 * planned, rel=1e-6)
    # the replay at that scale, counted independently: its busiest 40 s
    rates = stretch_rates(series, timeseries, "peak-hour", ENDPOINTS, plan.scale, 36.0)
    assert busiest(rates, ENDPOINTS, 60.0 / 36.0, 40.0).rate_rps == pytest.approx(0.85 * planned, rel=1e-6)
    # the busiest 40 s lie in 20:30-21:00 (from 50 s of the 100-s replay on)
    assert plan.busiest_start_s >= 50.0 - 1e-9
    # the knee's scale would have run it 1.18x faster (the hold's minutes are mostly before 20:30)
    assert plan.scale_by_knee_scale / plan.scale == pytest.approx(1.35 * 96 / (78 + 22.5 + 9.6), rel=1e-6)


def test_the_mixes_are_compared(tmp_path):
    timeseries = _model(tmp_path / "alike")
    alike = plan_level(0.3, _knee(), read_timeseries(timeseries), timeseries, ENDPOINTS, "peak-hour", 36.0)
    assert not alike.mix_differs and alike.mix_distance < 0.02  # logins 7.4% against 8.7%
    timeseries = _model(tmp_path / "unlike", late_login=1.0)  # logins 10x after 20:30
    unlike = plan_level(0.3, _knee(), read_timeseries(timeseries), timeseries, ENDPOINTS, "peak-hour", 36.0)
    assert unlike.mix_differs and unlike.busiest_mix["login"] > unlike.knee_mix["login"] + 0.2
    assert mix_distance(shares({"a": 1.0, "b": 1.0}), shares({"a": 1.0})) == pytest.approx(0.5)


def _provenance(knee: dict) -> dict:
    return {"stretch": "peak-hour", "compress": 144.0, "knee": knee,
            "step_results": [{"name": "stair-1", "scale": 1.0, "seconds": 20.0, "stretch": None,
                              "settle_s": None},
                             {"name": "hold-2", "scale": 2.0, "seconds": 97.0,
                              "stretch": "2023-01-05T19:12..2023-01-05T20:48", "settle_s": 57.0}]}


def test_the_knee_comes_from_the_calibrations_provenance(tmp_path):
    path = tmp_path / "platform.yaml"
    knee = knee_from(_provenance({"rate_rps": 440.0, "step": "hold-2"}), path)
    assert (knee.rate_rps, knee.scale, knee.judged_s, knee.seconds) == (440.0, 2.0, 40.0, 97.0)
    assert knee.stretch.startswith("2023-01-05T19:12")
    stair = knee_from(_provenance({"rate_rps": 300.0, "step": "stair-1"}), path)
    assert (stair.judged_s, stair.stretch) == (10.0, "peak-hour")  # a staircase step: its last window
    with pytest.raises(CalibrationError, match="no knee"):
        knee_from(_provenance({"rate_rps": None, "step": None, "note": "no step met the SLO"}), path)
    with pytest.raises(CalibrationError, match="platform.json: missing"):
        knee_from(None, path)


def test_a_levels_record_is_read_back_through_its_model(tmp_path):
    timeseries = _model(tmp_path / "model")
    plan = plan_level(1.1, _knee(), read_timeseries(timeseries), timeseries, ENDPOINTS, "peak-hour", 36.0)
    path = write(tmp_path / "level.json", LevelResult(plan=plan, why="locust failed (exit 1)"))
    assert read(path, LevelResult) == LevelResult(plan=plan, why="locust failed (exit 1)")
    path.write_text('{"kind": "bench-level", "plan": {"level": 1.1}}')
    with pytest.raises(CalibrationError, match="level.json: plan.scale"):
        read(path, LevelResult)


def test_a_knee_judged_on_the_levels_busiest_minutes_at_its_compression_is_the_same_load(tmp_path):
    """A hold (calibrate.holds) judged the busiest 40 s of the peak hour at compress 36: a level
    of that replay is L x the knee's scale, its busiest window L x what the knee's planned (not
    L x the knee's measured rate, which carries the replay's own excess over its plan twice).
    Judged at another compression it is another load, and the level goes by the rate."""
    from tests.calibrate import hold_model

    timeseries = hold_model.write_model(tmp_path / "model")
    series = read_timeseries(timeseries)
    hold = Knee(160.0, 2.0, "hold-2", "2023-01-05T19:58..2023-01-05T20:34", 36.0, 60.01, 40.0)
    plan = plan_level(0.85, hold, series, timeseries, hold_model.ENDPOINTS, "peak-hour", 36.0, 100.0)
    assert plan.by_knee_scale and plan.knee_compress == 36.0
    assert plan.scale == pytest.approx(0.85 * 2.0) and plan.scale_by_knee_scale == pytest.approx(plan.scale)
    assert plan.knee_planned_rps == pytest.approx(2.0 * hold_model.HOLD_RPS)
    assert plan.busiest_rps == pytest.approx(0.85 * plan.knee_planned_rps, rel=0.01)
    fast = Knee(160.0, 2.0, "hold-2", "2023-01-05T16:41..2023-01-05T20:48", 144.0, 102.7, 40.0)
    other = plan_level(0.85, fast, series, timeseries, hold_model.ENDPOINTS, "peak-hour", 36.0, 100.0)
    assert not other.by_knee_scale and other.busiest_rps == pytest.approx(0.85 * 160.0, rel=1e-6)


def test_the_knee_is_read_at_its_own_steps_compression(tmp_path):
    provenance = _provenance({"rate_rps": 440.0, "step": "hold-2"})
    provenance["step_results"][1]["compress"] = 36.0  # a hold at the validation's compression
    assert knee_from(provenance, tmp_path / "platform.yaml").compress == 36.0
    older = _provenance({"rate_rps": 440.0, "step": "hold-2"})  # before: the calibration's
    assert knee_from(older, tmp_path / "platform.yaml").compress == 144.0


def test_a_knee_that_is_not_exact_plans_levels_above_it_from_the_lowest_rate_that_broke():
    """A lower bound (no hold broke above it: 00:11's SQLite knee 469 req/s, the staircase broke
    at ~530) or a bracket wider than RESOLUTION: "110%" of the lower end ran a load the target
    sustained (p95 160 ms). Levels above 1 take the bracket's upper end, those below its lower."""
    lower = Knee(469.0, 7.0, "hold-7", "s", 36.0, 60.0, 40.0, upper_rps=530.0, bounded=False)
    assert lower.for_level(1.1) == (pytest.approx(7.0 * 530.0 / 469.0), True)
    assert lower.for_level(0.85) == (7.0, False) and not lower.exact
    wide = Knee(329.0, 4.7, "hold-4.7", "s", 36.0, 60.0, 40.0, upper_rps=393.0, bounded=True)
    assert wide.for_level(1.1)[1] and not wide.exact
    tight = Knee(329.0, 4.7, "hold-4.7", "s", 36.0, 60.0, 40.0, upper_rps=356.0, bounded=True)
    assert tight.exact and tight.for_level(1.1) == (4.7, False)
    old = Knee(329.0, 4.7, "hold-4.7", "s", 36.0, 60.0, 40.0)  # a record without the bracket
    assert old.exact and old.for_level(1.1) == (4.7, False)
    # the bracket by plan (since 05:00): the 05:00 baseline's hold-10.4 finished 541 req/s (1.07x the
    # knee's 507) of 710 offered (1.30x the knee's plan): not exact, "110%" from the broken hold's plan
    planned = Knee(507.0, 7.995, "hold-7.99", "s", 36.0, 60.0, 40.0, upper_rps=541.0, bounded=True,
                   width=710.0 / 545.0, upper_planned_rps=710.0)
    assert not planned.exact and planned.for_level(1.1) == (pytest.approx(7.995 * 710.0 / 545.0), True)
