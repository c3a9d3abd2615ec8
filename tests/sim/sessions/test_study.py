"""Study and tests in a session (sim.sessions.study), each step driven alone on one shard's
journeys: credit and when it shows, a stalled video, test attempts until full marks."""

from __future__ import annotations

import math

import pytest

from sim.sessions.recorder import TALLY
from tests.sim.sessions.journey_fixture import drive, journeys, minute_row


@pytest.fixture
def j(smoke):
    return journeys(smoke)


def _tally(j) -> dict[str, float]:
    return dict(zip(TALLY, j.rec.tally, strict=True))


def test_study_reaching_the_minimum_shows_when_credited_and_credits_a_passed_course(j):
    slot, tid = 0, 4
    cell = tid * j.courses + slot
    minimum = j.tables.min_study_s[slot]
    j.add_study(tid, slot, 0.6 * minimum, shown=100.0)
    assert j.ledger.studied[cell] == pytest.approx(0.6 * minimum)
    assert math.isinf(j.ledger.min_reached_at[cell])
    j.add_study(tid, slot, 0.5 * minimum, shown=200.0)
    assert j.ledger.min_reached_at[cell] == 200.0  # when the credit shows, not when studied
    assert not j.ledger.credited[tid] >> slot & 1  # the test is not passed yet
    j.add_study(tid, slot, minimum, shown=300.0)
    assert j.ledger.min_reached_at[cell] == 200.0  # reached once


def test_a_played_resource_is_study_credited_and_counted(j):
    slot, tid, seconds = 0, 2, 600.0
    j.fb.video_ok = 1.0
    clock = [0.0, True, 1e9, False]
    steps = drive(j._watch(tid, 1.5, slot, seconds, clock))
    assert steps == [seconds, True] and clock[0] == seconds
    assert j.ledger.studied[tid * j.courses + slot] == seconds
    assert _tally(j)["study_s"] == pytest.approx(1.5 * seconds)
    assert _tally(j)["deferred_study_s"] == 0.0  # clock[3]: not a come-back session


def test_a_stalled_video_ends_the_play_at_the_patience_with_an_error_and_no_credit(j):
    slot, tid = 0, 2
    j.fb.video_ok = 0.0  # the CDN cannot serve any stream
    clock = [0.0, True, 1e9, False]
    steps = drive(j._watch(tid, 1.0, slot, 600.0, clock))
    assert steps == [j.patience_s, False]
    assert j.ledger.studied[tid * j.courses + slot] == 0.0 and _tally(j)["study_s"] == 0.0
    assert minute_row(j)["errors"] == 1.0


def test_a_test_is_attempted_until_full_marks_and_credits_a_course_whose_minimum_showed(j):
    slot, tid = 0, 1
    cell = tid * j.courses + slot
    j.ledger.min_reached_at[cell] = 0.0
    clock = [0.0, True, 1e9, False]
    steps = drive(j._test(tid, 1.0, slot, clock))
    attempts = j.ledger.attempts[cell]
    assert steps[-1] is True and attempts >= 1
    assert steps[:-1] == [j.tables.attempt_s[slot]] * attempts  # each attempt takes its time
    assert j.ledger.passed_at[cell] == clock[0] == attempts * j.tables.attempt_s[slot]
    assert j.ledger.credited[tid] >> slot & 1
    rows = [minute_row(j) for _ in range(int(clock[0] // 60.0) + 1)]  # every minute it spans
    assert sum(r["test_fetch"] for r in rows) == sum(r["test_submit"] for r in rows) == attempts


def test_an_attempt_not_submitted_before_the_window_closes_is_lost(j):
    slot, tid = 0, 1
    cell = tid * j.courses + slot
    clock = [0.0, True, 1.0, False]  # study must stop one second in
    steps = drive(j._test(tid, 1.0, slot, clock))
    assert steps == [j.tables.attempt_s[slot], True]
    assert j.ledger.attempts[cell] == 0 and math.isinf(j.ledger.passed_at[cell])


@pytest.mark.parametrize("intervals", [10.5, 10.0, 0.25])
def test_a_play_counts_the_beats_the_player_sends(j, intervals):
    # the viewers' steady rate (one beat an interval of play) plus the start beat and the rest of a
    # last part interval: domain.decisions.beats_in_play, what the load test's player sends
    from domain.decisions import beats_in_play

    slot, tid, w = 0, 2, 1.5
    j.fb.video_ok = 1.0
    seconds = intervals * j.beat_s[tid]
    drive(j._watch(tid, w, slot, seconds, [0.0, True, 1e9, False]))
    beats = sum(minute_row(j)["heartbeat"] for _ in range(int(seconds / 60.0) + 3))
    assert beats == pytest.approx(w * beats_in_play(seconds, j.beat_s[tid])[0])
