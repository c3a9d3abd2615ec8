"""A teacher's requests (sim.sessions.client): the first try, retries after the patience, SMS
codes resent when slow, each step driven alone on one shard's journeys."""

from __future__ import annotations

import pytest

from sim.sessions.recorder import TALLY
from tests.sim.sessions.journey_fixture import drive, journeys, minute_row


@pytest.fixture
def j(smoke):
    return journeys(smoke)


def test_a_request_that_cannot_fail_is_one_hit_without_waiting(j):
    clock = [0.0, True, 1e9, False]
    assert j._ok(j.LOGIN, 2.0, clock) is True and clock[0] == 0.0
    j.fb.p_slow = [0.0] * len(j.fb.p_slow)
    j.fb.p_slow[j.LOGIN] = 0.5
    assert j._ok(j.LOGIN, 2.0, clock) is False  # may fail: the generator must decide
    row = minute_row(j)
    assert row["login"] == 2.0 and row["errors"] == 0.0 and row["retries"] == 0.0


def test_a_request_always_too_slow_is_tried_max_retries_plus_one_times_then_given_up(j):
    j.fb.p_slow = [0.0] * len(j.fb.p_slow)
    j.fb.p_slow[j.LOGIN] = 1.0  # slower than the patience every time
    j.retry_p = 1.0  # the teacher always tries again while tries are left
    clock = [0.0, True, 1e9, False]
    steps = drive(j._request(j.LOGIN, 3.0, clock))
    tries = j.max_retries + 1
    assert steps[-1] is False
    assert steps[:-1] == [j.patience_s] * tries and clock[0] == pytest.approx(tries * j.patience_s)
    assert clock[0] < 60.0  # smoke: every try of 10 s falls in minute 0
    row = minute_row(j)
    assert row["login"] == 3.0 * tries and row["errors"] == 3.0 * tries
    assert row["retries"] == 3.0 * (tries - 1)


def test_a_teacher_who_never_retries_gives_up_after_the_first_slow_try(j):
    j.fb.p_slow = [0.0] * len(j.fb.p_slow)
    j.fb.p_slow[j.PAGE] = 1.0
    j.retry_p = 0.0
    clock = [0.0, True, 1e9, False]
    assert drive(j._request(j.PAGE, 1.0, clock)) == [j.patience_s, False]


def test_sms_codes_slower_than_the_resend_button_are_resent_then_the_session_fails(j):
    j.fb.sms_delay = 1e6  # every code takes far longer than the resend button
    clock = [0.0, True, 1e9, False]
    steps = drive(j._sms_code(0, 1.0, clock))
    codes = j.max_retries + 1
    assert steps == [j.resend_s] * codes + [False]
    tally = dict(zip(TALLY, j.rec.tally, strict=True))
    assert tally["sms_codes"] == codes and tally["sms_resends"] == codes - 1


def test_a_prompt_sms_code_is_typed_in_and_the_sign_in_goes_on(j):
    j.fb.sms_delay = 0.0
    clock = [0.0, True, 1e9, False]
    steps = drive(j._sms_code(0, 1.0, clock))
    assert steps[-1] is True and len(steps) == 2 and 0.0 < steps[0] == clock[0]  # code entry
    tally = dict(zip(TALLY, j.rec.tally, strict=True))
    assert tally["sms_codes"] == 1 and tally["sms_resends"] == 0
