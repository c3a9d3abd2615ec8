"""Shape maths: compression, scaling, open arrivals, bins and the 10% check."""

from __future__ import annotations

import numpy as np
import pytest

from loadtests.plan import (
    ADMIN,
    CERTIFICATE,
    REGISTRATION,
    SESSION,
    Plan,
    PlanError,
    achieved_per_bin,
    bin_errors,
    read_timeseries,
)
from tests.loadtests.conftest import write_series


def series(tmp_path, sessions, **kw):
    return read_timeseries(write_series(tmp_path / "m", sessions, **kw) / "timeseries.csv")


def test_compression_sets_the_duration(tmp_path):
    s = series(tmp_path, [100.0] * 1440)
    assert Plan(s, 0, 1440, compress=144, scale=0.001).duration_s == pytest.approx(600.0)
    assert Plan(s, 0, 60, compress=60, scale=1).duration_s == pytest.approx(60.0)


def test_scaling_sets_the_volume(tmp_path):
    s = series(tmp_path, [100.0, 300.0, 0.0, 200.0], admin_rps=[1.0] * 4, cert_rps=[0.5] * 4)
    plan = Plan(s, 0, 4, compress=10, scale=0.1)
    # sessions 600 + admin views 4 * 60 + certificate fetches 4 * 30, times 0.1
    assert plan.total() == pytest.approx(0.1 * (600 + 240 + 120))
    assert len(plan.schedule()) == round(plan.total())


def test_deterministic_schedule_puts_each_minute_s_arrivals_in_that_minute(tmp_path):
    per_minute = [5.0, 0.0, 20.0, 3.0, 0.0, 0.0, 12.0]
    plan = Plan(series(tmp_path, per_minute), 0, 7, compress=30, scale=1.0)
    times = np.array([a.at for a in plan.schedule()])
    counts = achieved_per_bin(times, np.arange(8) * plan.minute_s)
    assert np.abs(counts - np.array(per_minute)).max() <= 1
    assert counts[1] == 0 and counts[4] == 0 and counts[5] == 0  # empty minutes stay empty
    assert np.all(np.diff(times) >= 0)


def test_deterministic_bins_are_within_ten_percent(tmp_path):
    rng = np.random.default_rng(3)
    plan = Plan(series(tmp_path, rng.uniform(0, 400, 600).tolist()), 0, 600, compress=60, scale=0.05)
    edges = plan.bins(5.0)
    errors = bin_errors(plan.planned_per_bin(edges), achieved_per_bin([a.at for a in plan.schedule()], edges))
    assert errors.max() <= 0.10


def test_poisson_schedule_has_the_planned_mean_and_poisson_spread(tmp_path):
    plan = Plan(series(tmp_path, [600.0] * 10), 0, 10, compress=60, scale=1.0)  # 10 per second
    totals = [len(plan.schedule("poisson", np.random.default_rng(seed))) for seed in range(40)]
    assert np.mean(totals) == pytest.approx(6000, rel=0.01)
    assert np.var(totals) == pytest.approx(6000, rel=0.6)  # Poisson: variance = mean
    again = plan.schedule("poisson", np.random.default_rng(0))
    assert [a.at for a in again] == [a.at for a in plan.schedule("poisson", np.random.default_rng(0))]


def test_schedule_depends_only_on_the_plan(tmp_path):
    """Open workload: arrival instants are fixed before the run; nothing about responses
    enters them, so two schedules from the same plan are identical."""
    plan = Plan(series(tmp_path, [30.0, 90.0, 10.0]), 0, 3, compress=6, scale=1.0)
    assert plan.schedule() == plan.schedule()
    assert plan.schedule()[-1].at <= plan.duration_s


def test_kinds_follow_the_mix(tmp_path):
    s = series(tmp_path, [200.0] * 60, registrations=[50.0] * 60, admin_rps=[1.0] * 60, cert_rps=[0.5] * 60)
    kinds = np.array([a.kind for a in Plan(s, 0, 60, compress=60, scale=0.5).schedule()])
    total = len(kinds)
    share = {k: (kinds == k).sum() / total for k in (SESSION, REGISTRATION, ADMIN, CERTIFICATE)}
    mix = np.array([150.0, 50.0, 60.0, 30.0]) / 290.0
    assert list(share.values()) == pytest.approx(mix.tolist(), abs=0.01)


def test_bad_numbers_name_the_option(tmp_path):
    s = series(tmp_path, [1.0, 2.0])
    with pytest.raises(PlanError, match="--compress"):
        Plan(s, 0, 2, compress=0, scale=1)
    with pytest.raises(PlanError, match="--scale"):
        Plan(s, 0, 2, compress=1, scale=-1)
    with pytest.raises(PlanError, match="--bin-seconds"):
        Plan(s, 0, 2, compress=1, scale=1).bins(0)
    with pytest.raises(PlanError, match="--arrival-process"):
        Plan(s, 0, 2, compress=1, scale=1).schedule("bursty")


def test_bin_error_allows_one_arrival_in_small_bins():
    planned = np.array([100.0, 100.0, 4.0, 0.0])
    errors = bin_errors(planned, np.array([110, 89, 5, 1]))
    assert errors.tolist() == pytest.approx([0.10, 0.11, 0.10, 0.10])


def test_missing_series_names_the_file(tmp_path):
    with pytest.raises(PlanError, match="timeseries.csv"):
        read_timeseries(tmp_path / "timeseries.csv")


def test_sign_ins_that_are_their_teachers_first_session_follow_the_model_s_enrolments(tmp_path):
    """The model's enrolments less its registrations are the sign-in sessions that are their
    teacher's first (``domain.decisions.enrols``); the schedule marks as many, minute by minute, and
    no registration, admin view or a model run without ``rps.enrol``."""
    sessions = [100.0, 100.0, 100.0, 100.0]
    registrations = [10.0, 10.0, 0.0, 0.0]
    enrols = [(10 + 5) / 60, (10 + 0) / 60, 20 / 60, 0.0]  # per second: 5, 0, 20, 0 first sign-ins
    s = series(tmp_path, sessions, registrations=registrations, enrol_rps=enrols, admin_rps=[0.2] * 4)
    plan = Plan(s, 0, 4, compress=6, scale=1.0)
    arrivals = plan.schedule()
    firsts = [a for a in arrivals if a.first]
    assert len(firsts) == 25 and all(a.kind == SESSION for a in firsts)
    per_minute = np.bincount([int(a.at // plan.minute_s) for a in firsts], minlength=4)
    assert per_minute.tolist() == [5, 0, 20, 0]
    assert all(a.first is None for a in arrivals if a.kind != SESSION)
    assert all(a.first is False for a in arrivals if a.kind == SESSION and not a.first)
    without = series(tmp_path / "old", sessions, registrations=registrations)
    assert all(a.first is None for a in Plan(without, 0, 4, compress=6, scale=1.0).schedule())


def test_a_registration_enrolling_minutes_later_is_no_first_sign_in(tmp_path):
    """A registration enrols a few model minutes after it starts: the enrolments lag the
    registrations, and the dip must not count as first sign-ins later."""
    s = series(tmp_path, [50.0] * 4, registrations=[10.0, 0.0, 0.0, 0.0], enrol_rps=[0.0, 0.0, 10 / 60, 0.0])
    assert not any(a.first for a in Plan(s, 0, 4, compress=6, scale=1.0).schedule())
