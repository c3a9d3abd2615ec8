import numpy as np
import pytest

from sim.sessions.recorder import Recorder

ENDPOINTS = ["login", "heartbeat"]


def _recorder(minutes=10):
    return Recorder(ENDPOINTS, minutes, days=1, day0_s=0.0,
                    heartbeat_s={"basic": 600.0, "higher": 20.0, "vocational": 20.0})


def _close_all(rec):
    for _ in range(rec.minutes):
        rec.close_minute()
    rec.finish()


def test_span_counts_fractional_minutes():
    rec = _recorder()
    rec.open("sessions", 30.0, 2.0)
    rec.close("sessions", 150.0, 2.0)
    _close_all(rec)
    np.testing.assert_allclose(rec.spans["sessions"][:4], [1.0, 2.0, 1.0, 0.0])


def test_heartbeats_are_viewers_over_interval():
    rec = _recorder()
    rec.open("viewers.higher", 0.0, 10.0)  # 10 viewers all minute, 20 s interval
    rec.open("viewers.basic", 0.0, 60.0)  # 60 viewers, 600 s interval
    _close_all(rec)
    assert rec.counts[1, 0] == pytest.approx(10 * 3 + 60 * 0.1)


def test_requests_planned_for_later_minutes_land_there():
    rec = _recorder()
    rec.hit_at(0, 10.0, 1.0)
    rec.hit_at(0, 185.0, 3.0)
    rates = rec.close_minute()
    assert rates[0] == pytest.approx(1 / 60)  # login, then heartbeat, then egress
    assert len(rates) == len(ENDPOINTS) + 1
    for _ in range(rec.minutes - 1):
        rec.close_minute()
    rec.finish()
    assert list(rec.counts[0, :4]) == [1.0, 0.0, 0.0, 3.0]


def test_littles_law_on_random_spans():
    rng = np.random.default_rng(5)
    rec = _recorder(minutes=600)
    starts = rng.uniform(0, 500 * 60, 2000)
    durations = rng.exponential(600.0, 2000)
    for s, d in zip(starts, durations, strict=True):
        rec.open("sessions", s, 1.0)
        rec.close("sessions", min(s + d, 600 * 60 - 1e-6), 1.0)
    _close_all(rec)
    kept = np.minimum(starts + durations, 600 * 60 - 1e-6) - starts
    arrival_rate = 2000 / (600 * 60)
    assert rec.spans["sessions"].mean() == pytest.approx(arrival_rate * kept.mean(), rel=1e-9)


def test_waiting_room_stays_travel_with_a_shards_totals():
    """Each shard's stays (joined, left, weight) reach the run's recorder, in shard order, so
    the queue counts every shard's teachers; a run without stays has none."""
    shards = [_recorder(), _recorder()]
    shards[0].room_stay(30.0, 90.0, 2.0)
    shards[1].room_stay(10.0, 400.0, 1.5)
    shards[1].room_stay(70.0, 80.0, 1.5)
    run = _recorder()
    for rec in shards:
        _close_all(rec)
        run.absorb(rec.totals())
    assert list(run.room) == [30.0, 90.0, 2.0, 10.0, 400.0, 1.5, 70.0, 80.0, 1.5]
    assert len(_recorder().room) == 0


def test_session_arrivals_and_viewers_by_sub_platform():
    """A load test replays each minute's sessions with their sub-platforms (loadtests.plan):
    their columns add up to the minute's arrivals and viewers, and come out in the series."""
    rec = _recorder()
    rec.session_started(10.0, 2.0, True, 0)
    rec.session_started(20.0, 1.5, False, 2)
    rec.registration_started(1.5)
    rec.open("viewers.vocational", 0.0, 4.0)
    rec.open("viewers.basic", 30.0, 2.0)
    rec.close_minute()
    rec.session_started(70.0, 3.0, True, 1)
    rec.hit_at(0, 75.0, 1.0)
    for _ in range(rec.minutes - 1):
        rec.close_minute()
    rec.finish()
    cols = rec.series()
    assert [cols[f"arrivals.sessions.{s}"][0] for s in ("basic", "higher", "vocational")] == [2.0, 0.0, 1.5]
    assert [cols[f"arrivals.sessions.{s}"][1] for s in ("basic", "higher", "vocational")] == [0.0, 3.0, 0.0]
    total = sum(cols[f"arrivals.sessions.{s}"] for s in ("basic", "higher", "vocational"))
    np.testing.assert_allclose(total, cols["arrivals.sessions"])
    assert list(cols["arrivals.registrations"][:2]) == [1.5, 0.0]
    assert (cols["viewers.vocational"][0], cols["viewers.basic"][0]) == (4.0, 1.0)
    subs = ("basic", "higher", "vocational")
    np.testing.assert_allclose(cols["viewers"], sum(cols[f"viewers.{s}"] for s in subs))
    # the columns after the arrivals keep their places
    assert list(rec.counts[0, :2]) == [0.0, 1.0] and rec.lost.sum() == 0 and rec.retries.sum() == 0


def test_sessions_of_enrolled_teachers_by_their_credited_courses():
    """A replay gives each later sign-in an account at the stage the model's session had
    (loadtests.plan.Plan._stages): the sessions of enrolled teachers are counted by their
    credited courses, a teacher's first session (stage -1) by none."""
    rec = Recorder(["login"], 3, 1, 0.0, {"basic": 600.0}, stages=2)
    rec.session_started(10.0, 2.0, True, 0, -1)
    rec.session_started(20.0, 1.5, True, 0, 0)
    rec.session_started(30.0, 1.0, True, 1, 1)
    rec.close_minute()
    rec.session_started(70.0, 3.0, True, 0, 1)
    for _ in range(rec.minutes - 1):
        rec.close_minute()
    rec.finish()
    cols = rec.series()
    assert list(cols["arrivals.enrolled.0"]) == [1.5, 0.0, 0.0]
    assert list(cols["arrivals.enrolled.1"]) == [1.0, 3.0, 0.0]
    assert list(cols["arrivals.sessions"]) == [4.5, 3.0, 0.0]
    assert rec.lost.sum() == 0 and rec.retries.sum() == 0  # the columns after keep their places
