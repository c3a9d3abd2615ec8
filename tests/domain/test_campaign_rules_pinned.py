"""The campaign rules pinned one at a time, against the rules stated again here (domain.md):

- course 2 earns 2 credit hours after at least 90 minutes of study and a passed test; every other
  course earns 1 hour after at least 45 minutes and a passed test;
- at most 6 hours for the campaign, filled in course order; study time is still recorded after;
- completion (结业) needs every required course credited AND the completion hours, each alone
  not enough;
- only full marks pass; attempts are unlimited; the test unlocks after the minimum study time,
  or after ``unlock_after_minutes`` when the scenario states it.

Each test changes one rule at a time (a scenario edited in one field) so that a program that
gets one rule wrong cannot hide behind another.
"""

from __future__ import annotations

import datetime as dt

import pytest

from domain.campaign import Campaign, CourseProgress
from domain.scenario import parse_scenario

MIN = 60.0
# The rules, restated (domain.md "Credit hours"); not read from the code under test.
CREDIT_HOURS = {1: 1.0, 2: 2.0, 3: 1.0, 4: 1.0, 5: 1.0}
MIN_STUDY_MIN = {1: 45.0, 2: 90.0, 3: 45.0, 4: 45.0, 5: 45.0}
CAP_HOURS = 6.0


def edited(winter, edit) -> Campaign:
    data = winter.model_dump(by_alias=True)
    edit(data)
    return Campaign(parse_scenario(data))


def passed_all(**overrides: CourseProgress) -> dict[int, CourseProgress]:
    progress = {c: CourseProgress(MIN_STUDY_MIN[c] * MIN, True) for c in CREDIT_HOURS}
    progress.update({int(k[1:]): v for k, v in overrides.items()})
    return progress


def expected_credit(progress: dict[int, CourseProgress], cap: float = CAP_HOURS) -> dict[int, float]:
    """The rules stated independently: credit per course, then the cap in course order."""
    left, out = cap, {}
    for course in sorted(CREDIT_HOURS):
        p = progress.get(course, CourseProgress())
        earned = CREDIT_HOURS[course] if p.test_passed and p.studied_s >= MIN_STUDY_MIN[course] * MIN else 0.0
        out[course] = min(earned, left)
        left -= out[course]
    return out


# --- completion: each half of "all required courses AND the hours" alone ------------------


def test_all_courses_credited_but_too_few_hours_is_not_completion(winter):
    # completion needs 7 h under a 7 h cap; all five courses credited give 6 h
    campaign = edited(winter, lambda d: d["rules"].update(credit_cap_hours=7, completion_hours=7))
    progress = passed_all()
    assert all(h > 0 for h in campaign.credit_by_course(progress).values())
    assert campaign.credited_hours(progress) == 6
    assert not campaign.is_complete(progress)


def test_enough_hours_but_a_required_course_missing_is_not_completion(winter):
    # course 1 earns 2 h here: courses 1, 2, 3, 4 reach the 6 h cap without course 5
    def edit(d):
        d["courses"][0]["credit"]["hours"] = 2

    campaign = edited(winter, edit)
    progress = passed_all(c5=CourseProgress(0.0, False))
    assert campaign.credited_hours(progress) == 6 >= campaign.completion_hours
    assert not campaign.is_complete(progress)


def test_completion_courses_listed_explicitly(winter):
    campaign = edited(winter, lambda d: d["rules"].update(completion_courses=[1, 2], completion_hours=3))
    assert campaign.required_courses == (1, 2)
    only_1_2 = {1: CourseProgress(45 * MIN, True), 2: CourseProgress(90 * MIN, True)}
    assert campaign.is_complete(only_1_2)
    assert not campaign.is_complete({1: CourseProgress(45 * MIN, True), 3: CourseProgress(45 * MIN, True),
                                     4: CourseProgress(45 * MIN, True)})


def test_completion_at_exactly_the_hours(campaign):
    assert campaign.completion_hours == CAP_HOURS
    assert campaign.is_complete(passed_all())
    assert not campaign.is_complete(passed_all(c3=CourseProgress(45 * MIN - 1, True)))


def test_certificate_needs_completion_and_the_batch_date(campaign):
    issued = campaign.certificates_at
    naive = issued.replace(tzinfo=None)  # read in the campaign's zone
    assert campaign.certificate_available(passed_all(), naive)
    assert not campaign.certificate_available(passed_all(c4=CourseProgress(44 * MIN, True)), issued)
    assert not campaign.certificate_available(passed_all(), naive - dt.timedelta(microseconds=1))


# --- credit against the independent statement ---------------------------------------------


@pytest.mark.parametrize(
    "progress",
    [
        {},
        {2: CourseProgress(90 * MIN, True)},
        {2: CourseProgress(90 * MIN - 0.001, True), 1: CourseProgress(45 * MIN, True)},
        {1: CourseProgress(10_000, False), 5: CourseProgress(45 * MIN, True)},
        {3: CourseProgress(45 * MIN, True), 4: CourseProgress(45 * MIN + 1, True)},
    ],
)
def test_credit_by_course_matches_the_rules(campaign, progress):
    assert campaign.credit_by_course(progress) == expected_credit(progress)
    assert campaign.credited_hours(progress) == sum(expected_credit(progress).values())


def test_the_cap_fills_in_course_order(winter):
    # a 4.5 h cap: courses 1 (1 h), 2 (2 h), 3 (1 h) fit, course 4 gets the half hour left, 5 none
    campaign = edited(winter, lambda d: d["rules"].update(credit_cap_hours=4.5, completion_hours=4.5))
    assert campaign.credit_by_course(passed_all()) == expected_credit(passed_all(), cap=4.5)
    assert campaign.credit_by_course(passed_all()) == {1: 1, 2: 2, 3: 1, 4: 0.5, 5: 0}


def test_min_study_minutes_are_minutes(winter):
    def edit(d):
        d["courses"][2]["credit"]["min_study_minutes"] = 30

    campaign = edited(winter, edit)
    assert campaign.rule(3).min_study_s == 1800
    assert campaign.course_credit(3, CourseProgress(1800, True)) == 1
    assert campaign.course_credit(3, CourseProgress(1799.5, True)) == 0


def test_studied_hours_counts_every_second_in_the_unit_asked(campaign):
    progress = {1: CourseProgress(5400, False), 2: CourseProgress(1800, True)}
    assert campaign.studied_hours(progress) == 2.0
    assert campaign.studied_hours(progress, hour_s=2700) == pytest.approx(7200 / 2700)
    assert campaign.studied_hours({}) == 0


# --- tests: unlocking and scoring ---------------------------------------------------------


def test_explicit_unlock_after_minutes(winter):
    def edit(d):
        d["courses"][1]["test"]["unlock_after_minutes"] = 30  # course 2 (min study 90 min)

    campaign = edited(winter, edit)
    assert campaign.rule(2).test_unlock_s == 1800
    assert not campaign.test_unlocked(2, 1799.9)
    assert campaign.test_unlocked(2, 1800)
    # unlocking early does not lower the study needed for credit
    assert campaign.course_credit(2, CourseProgress(1800, True)) == 0
    assert campaign.rule(2).min_study_s == 5400
    # the other courses keep unlocking at their minimum study time
    assert not campaign.test_unlocked(1, 45 * MIN - 0.5)
    assert campaign.test_unlocked(1, 45 * MIN)


def test_unlock_after_zero_minutes_means_at_once(winter):
    def edit(d):
        d["courses"][0]["test"]["unlock_after_minutes"] = 0

    campaign = edited(winter, edit)
    assert campaign.test_unlocked(1, 0.0)


@pytest.mark.parametrize(
    ("correct", "questions", "passes"),
    [(10, 10, True), (0, 10, False), (9, 10, False), (1, 1, True), (0, 1, False)],
)
def test_only_full_marks_pass(correct, questions, passes):
    assert Campaign.passes(correct, questions) is passes


@pytest.mark.parametrize(("correct", "questions"), [(0, 0), (-1, 10), (11, 10), (1, 0), (0, -1)])
def test_impossible_scores_are_refused(correct, questions):
    with pytest.raises(ValueError, match=f"score {correct}/{questions} is not a valid score"):
        Campaign.passes(correct, questions)


def test_full_marks_probability_by_attempt(winter):
    def edit(d):
        d["courses"][0]["test"]["full_marks_probability"] = [0.25]

    campaign = edited(winter, edit)
    assert [campaign.full_marks_probability(1, n) for n in (1, 2, 50)] == [0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="attempt number -1 is below 1"):
        campaign.full_marks_probability(1, -1)


# --- time ----------------------------------------------------------------------------------


def test_window_and_course_opening_are_inclusive_at_the_start(campaign):
    opens = campaign.rule(2).opens_at
    assert campaign.is_open(2, opens)
    assert not campaign.is_open(2, opens - dt.timedelta(microseconds=1))
    assert campaign.in_window(campaign.start_at)
    assert not campaign.in_window(campaign.end_at)
    assert campaign.in_window(campaign.end_at - dt.timedelta(microseconds=1))


def test_recordable_seconds_from_before_a_course_opens(campaign):
    opens = campaign.rule(2).opens_at
    hour, half_minute = dt.timedelta(hours=1), dt.timedelta(seconds=30)
    assert campaign.recordable_seconds(2, opens - hour, opens + half_minute) == 30
    assert campaign.recordable_seconds(2, opens + dt.timedelta(seconds=30), opens) == 0  # reversed
    start = campaign.start_at
    assert campaign.recordable_seconds(1, start - dt.timedelta(days=2), start + dt.timedelta(seconds=5)) == 5


def test_model_clock(campaign):
    assert campaign.at_offset(90) == campaign.start_at + dt.timedelta(seconds=90)
    assert campaign.offset(campaign.start_at + dt.timedelta(minutes=2)) == 120
    assert campaign.offset(campaign.start_at - dt.timedelta(seconds=1)) == -1


def test_course_lookup(campaign):
    assert list(campaign.course_ids()) == [1, 2, 3, 4, 5]
    assert campaign.rule(2).credit_hours == 2
    with pytest.raises(KeyError, match="unknown course 6"):
        campaign.rule(6)
    with pytest.raises(KeyError, match="unknown course 0"):
        campaign.test_unlocked(0, 1e9)


# --- the value types ----------------------------------------------------------------------


def test_progress_defaults_to_nothing_done():
    assert CourseProgress() == CourseProgress(studied_s=0.0, test_passed=False)


def test_rule_values_are_immutable_and_hashable(campaign):
    """Rules and progress are shared between the model's processes and the server's threads."""
    import dataclasses

    from domain.campaign import PlaybackRules, PlayState, SharedCourse

    start = campaign.start_at
    values = [CourseProgress(), campaign.rule(1), PlaybackRules(), PlayState(start, 0.0, 0.0),
              SharedCourse("other", 1, 0.5, start, campaign.end_at)]
    for value in values:
        hash(value)
        field = dataclasses.fields(value)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)


def test_playback_defaults_are_the_scenario_defaults():
    from domain.campaign import PlaybackRules

    assert PlaybackRules() == PlaybackRules(max_rate=2.0, max_credit_multiple=2.0, one_study_clock=True)
