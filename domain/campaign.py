"""The campaign rules: one pure, fast module shared by the model, the reference server
and the load tests so that they can never disagree.

Terms: 学时 (xueshi) = credit hour; 结业 (jieye) = completion, which earns the certificate.
All numbers come from the scenario (``Scenario.courses`` and ``Scenario.rules``).
Instants are timezone-aware datetimes; naive ones are read in the campaign's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.scenario import Scenario


@dataclass(frozen=True, slots=True)
class CourseRule:
    course_id: int
    opens_at: dt.datetime
    min_study_s: float
    credit_hours: float
    test_unlock_s: float
    full_marks_probability: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class CourseProgress:
    """What a teacher has done in one course: study seconds recorded, test passed."""

    studied_s: float = 0.0
    test_passed: bool = False


class Campaign:
    """Rules of one campaign, built once from a validated scenario."""

    def __init__(self, scenario: Scenario) -> None:
        cal = scenario.calendar
        self.zone = cal.zone
        self.start_at = cal.start_at
        self.end_at = cal.end_at
        self.credit_cap_hours = scenario.rules.credit_cap_hours
        self.completion_hours = scenario.rules.completion_hours
        self.certificates_at = cal.localize(scenario.rules.certificates_issued)
        self.courses: dict[int, CourseRule] = {c.id: _course_rule(c, cal) for c in scenario.courses}
        required = scenario.rules.completion_courses
        self.required_courses = tuple(self.courses) if required == "all" else tuple(required)

    # --- time ---------------------------------------------------------------------------

    def at(self, moment: dt.datetime) -> dt.datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    def at_offset(self, seconds: float) -> dt.datetime:
        """The instant ``seconds`` after the window opens (the model's clock)."""
        return self.start_at + dt.timedelta(seconds=seconds)

    def offset(self, moment: dt.datetime) -> float:
        return (self.at(moment) - self.start_at).total_seconds()

    def in_window(self, moment: dt.datetime) -> bool:
        return self.start_at <= self.at(moment) < self.end_at

    def is_open(self, course_id: int, moment: dt.datetime) -> bool:
        rule = self._rule(course_id)
        return self.in_window(moment) and self.at(moment) >= rule.opens_at

    def open_courses(self, moment: dt.datetime) -> list[int]:
        return [cid for cid in self.courses if self.is_open(cid, moment)]

    def recordable_seconds(self, course_id: int, since: dt.datetime, until: dt.datetime) -> float:
        """Study time between two instants that may be recorded for a course:
        only while the course is open and the window has not closed."""
        lo = max(self.at(since), self._rule(course_id).opens_at, self.start_at)
        hi = min(self.at(until), self.end_at)
        return max(0.0, (hi - lo).total_seconds())

    # --- tests --------------------------------------------------------------------------

    def test_unlocked(self, course_id: int, studied_s: float) -> bool:
        return studied_s >= self._rule(course_id).test_unlock_s

    @staticmethod
    def passes(correct: int, questions: int) -> bool:
        """Full marks pass; attempts are unlimited."""
        if questions <= 0 or not 0 <= correct <= questions:
            raise ValueError(f"score {correct}/{questions} is not a valid score")
        return correct == questions

    def full_marks_probability(self, course_id: int, attempt: int) -> float:
        """Chance of full marks on the ``attempt``-th try (1-based); the last value repeats."""
        if attempt < 1:
            raise ValueError(f"attempt number {attempt} is below 1")
        probs = self._rule(course_id).full_marks_probability
        return probs[min(attempt, len(probs)) - 1]

    # --- credit hours -------------------------------------------------------------------

    def course_credit(self, course_id: int, progress: CourseProgress) -> float:
        """Credit hours a course earns on its own, before the campaign cap."""
        rule = self._rule(course_id)
        if progress.test_passed and progress.studied_s >= rule.min_study_s:
            return rule.credit_hours
        return 0.0

    def credit_by_course(self, progress: Mapping[int, CourseProgress]) -> dict[int, float]:
        """Credit per course after the cap, filled in course order."""
        left = self.credit_cap_hours
        credited: dict[int, float] = {}
        for cid in self.courses:
            earned = min(self.course_credit(cid, progress.get(cid, CourseProgress())), left)
            credited[cid] = earned
            left -= earned
        return credited

    def credited_hours(self, progress: Mapping[int, CourseProgress]) -> float:
        return sum(self.credit_by_course(progress).values())

    def studied_hours(self, progress: Mapping[int, CourseProgress], hour_s: float = 3600) -> float:
        """Recorded study ("studied X h"); keeps growing after the credit cap."""
        return sum(p.studied_s for p in progress.values()) / hour_s

    # --- completion and certificates ----------------------------------------------------

    def is_complete(self, progress: Mapping[int, CourseProgress]) -> bool:
        credit = self.credit_by_course(progress)
        return (
            all(credit.get(cid, 0.0) > 0 for cid in self.required_courses)
            and self.credited_hours(progress) >= self.completion_hours
        )

    def certificate_available(self, progress: Mapping[int, CourseProgress], now: dt.datetime) -> bool:
        """Certificates come in one batch after the window, for completers only."""
        return self.at(now) >= self.certificates_at and self.is_complete(progress)

    # --- helpers ------------------------------------------------------------------------

    def _rule(self, course_id: int) -> CourseRule:
        try:
            return self.courses[course_id]
        except KeyError:
            raise KeyError(f"unknown course {course_id}") from None

    def rule(self, course_id: int) -> CourseRule:
        return self._rule(course_id)

    def course_ids(self) -> Iterable[int]:
        return self.courses.keys()


def _course_rule(course, cal) -> CourseRule:
    unlock = course.test.unlock_after_minutes
    min_study_s = course.credit.min_study_minutes * 60
    return CourseRule(
        course_id=course.id,
        opens_at=cal.localize(dt.datetime.combine(course.opens, dt.time())),
        min_study_s=min_study_s,
        credit_hours=course.credit.hours,
        test_unlock_s=min_study_s if unlock is None else unlock * 60,
        full_marks_probability=tuple(course.test.full_marks_probability),
    )
