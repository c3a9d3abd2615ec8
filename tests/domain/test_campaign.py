"""The campaign rules at their boundaries, and their invariants (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.campaign import Campaign, CourseProgress

MIN = 60


def at(*args) -> dt.datetime:
    return dt.datetime(*args)  # naive: read in the campaign's zone


def done(minutes: float, passed: bool = True) -> CourseProgress:
    return CourseProgress(studied_s=minutes * MIN, test_passed=passed)


def all_done() -> dict[int, CourseProgress]:
    return {1: done(45), 2: done(90), 3: done(45), 4: done(45), 5: done(45)}


# --- opening and the window -----------------------------------------------------------------


def test_course_1_opens_with_the_window_and_the_rest_on_january_5(campaign):
    assert campaign.open_courses(at(2022, 12, 2, 0, 0)) == [1]
    assert campaign.open_courses(at(2023, 1, 4, 23, 59, 59)) == [1]
    assert campaign.open_courses(at(2023, 1, 5, 0, 0)) == [1, 2, 3, 4, 5]


def test_nothing_open_outside_the_window(campaign):
    assert campaign.open_courses(at(2022, 12, 1, 23, 59, 59)) == []
    assert campaign.open_courses(at(2023, 2, 28, 23, 59, 59)) == [1, 2, 3, 4, 5]
    assert campaign.open_courses(at(2023, 3, 1, 0, 0)) == []


def test_recordable_time_stops_at_the_last_second_of_the_window(campaign):
    last = at(2023, 2, 28, 23, 59, 59)
    assert campaign.recordable_seconds(2, last, last + dt.timedelta(seconds=20)) == 1
    assert campaign.recordable_seconds(2, at(2023, 3, 1), at(2023, 3, 1, 1)) == 0
    assert campaign.recordable_seconds(2, at(2023, 1, 4, 23, 59, 50), at(2023, 1, 5, 0, 0, 10)) == 10
    assert campaign.recordable_seconds(1, at(2022, 12, 1, 23, 59), at(2022, 12, 2, 0, 1)) == 60


def test_an_aware_instant_in_another_zone_is_converted(campaign):
    utc = dt.datetime(2023, 1, 4, 16, 0, tzinfo=dt.UTC)  # 2023-01-05 00:00 in Shanghai
    assert campaign.is_open(2, utc)
    assert not campaign.is_open(2, utc - dt.timedelta(seconds=1))


def test_model_clock_offsets_round_trip(campaign):
    moment = at(2023, 1, 5, 12, 30)
    assert campaign.at_offset(campaign.offset(moment)) == campaign.at(moment)
    assert campaign.offset(at(2022, 12, 2)) == 0


# --- credit hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("course", "minutes", "passed", "hours"),
    [
        (2, 89, True, 0), (2, 89.99, True, 0), (2, 90, True, 2), (2, 200, True, 2), (2, 90, False, 0),
        (1, 44, True, 0), (1, 45, True, 1), (3, 45, True, 1), (5, 44.99, True, 0), (4, 45, False, 0),
    ],
)
def test_course_credit_boundaries(campaign, course, minutes, passed, hours):
    assert campaign.course_credit(course, done(minutes, passed)) == hours


def test_test_unlocks_at_minimum_study_time(campaign):
    assert not campaign.test_unlocked(2, 89 * MIN)
    assert campaign.test_unlocked(2, 90 * MIN)
    assert not campaign.test_unlocked(1, 45 * MIN - 1)
    assert campaign.test_unlocked(1, 45 * MIN)


def test_only_full_marks_pass(campaign):
    assert campaign.passes(10, 10)
    assert not campaign.passes(9, 10)
    with pytest.raises(ValueError, match="11/10"):
        campaign.passes(11, 10)


def test_attempts_are_unlimited_and_the_last_probability_repeats(campaign):
    probs = [campaign.full_marks_probability(1, n) for n in (1, 2, 3, 4, 100)]
    assert probs == [0.45, 0.7, 0.85, 0.85, 0.85]
    with pytest.raises(ValueError, match="attempt number 0"):
        campaign.full_marks_probability(1, 0)


def test_the_seventh_hour_is_never_credited(winter):
    # a scenario where courses could earn 7 h in all: the cap still stops at 6
    data = winter.model_dump(by_alias=True)
    data["courses"][0]["credit"]["hours"] = 2
    from domain.scenario import parse_scenario

    capped = Campaign(parse_scenario(data))
    progress = all_done()
    assert sum(capped.course_credit(c, p) for c, p in progress.items()) == 7
    assert capped.credited_hours(progress) == 6
    assert capped.credit_by_course(progress) == {1: 2, 2: 2, 3: 1, 4: 1, 5: 0}


def test_study_after_the_cap_is_still_recorded(campaign):
    progress = all_done() | {3: done(300)}
    assert campaign.credited_hours(progress) == 6
    assert campaign.studied_hours(progress) == pytest.approx((45 * 4 + 90 + 255) / 60)


# --- completion and certificates ------------------------------------------------------------


def test_completion_needs_all_five_courses_and_six_hours(campaign):
    assert campaign.is_complete(all_done())
    for missing in range(1, 6):
        progress = all_done() | {missing: done(300, passed=False)}
        assert not campaign.is_complete(progress)


def test_certificates_only_after_the_batch_date(campaign):
    issued = campaign.certificates_at
    assert issued >= campaign.end_at
    assert not campaign.certificate_available(all_done(), issued - dt.timedelta(seconds=1))
    assert campaign.certificate_available(all_done(), issued)
    assert not campaign.certificate_available({1: done(45)}, issued)


def test_unknown_course_is_refused(campaign):
    with pytest.raises(KeyError, match="unknown course 9"):
        campaign.is_open(9, at(2023, 1, 6))


# --- invariants -----------------------------------------------------------------------------

progress_st = st.dictionaries(
    st.integers(1, 5),
    st.builds(CourseProgress, st.floats(0, 10_000 * MIN, allow_nan=False), st.booleans()),
)


@given(progress_st)
def test_credit_never_exceeds_the_cap(campaign, progress):
    assert 0 <= campaign.credited_hours(progress) <= campaign.credit_cap_hours


@given(progress_st, st.integers(1, 5), st.floats(0, 10_000 * MIN, allow_nan=False))
def test_credit_never_decreases_as_minutes_grow(campaign, progress, course, extra):
    before = campaign.credited_hours(progress)
    current = progress.get(course, CourseProgress())
    grown = progress | {course: CourseProgress(current.studied_s + extra, current.test_passed)}
    assert campaign.credited_hours(grown) >= before


@given(progress_st)
def test_credit_never_granted_without_a_passed_test(campaign, progress):
    credit = campaign.credit_by_course(progress)
    for course, hours in credit.items():
        if hours > 0:
            assert progress[course].test_passed


@given(st.datetimes(dt.datetime(2022, 11, 1), dt.datetime(2023, 4, 1)), st.integers(0, 7200))
def test_nothing_recorded_outside_the_window(campaign, since, length):
    until = since + dt.timedelta(seconds=length)
    for course in campaign.course_ids():
        got = campaign.recordable_seconds(course, since, until)
        assert 0 <= got <= length
        if campaign.at(since) >= campaign.end_at or campaign.at(until) <= campaign.start_at:
            assert got == 0
