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
from typing import NamedTuple

from domain.scenario import Scenario
from domain.zones import localise


@dataclass(frozen=True, slots=True)
class CourseRule:
    course_id: int
    opens_at: dt.datetime
    min_study_s: float
    credit_hours: float
    test_unlock_s: float
    full_marks_probability: tuple[float, ...]


COURSE_NOT_OPEN, WINDOW_CLOSED = "course_not_open", "window_closed"
# Position and arrival times are measured by two clocks (player, server): a second of slack
# keeps honest beats that arrive a little early from looking like seeks.
SEEK_SLACK_S = 1.0


@dataclass(frozen=True, slots=True)
class PlaybackRules:
    """What a play may earn (from ``Scenario.rules``): at most ``max_rate`` × real time of
    position advance, at most ``max_credit_multiple`` × a resource's length, and with
    ``one_study_clock`` concurrent plays of one teacher credited once."""

    max_rate: float = 2.0
    max_credit_multiple: float = 2.0
    one_study_clock: bool = True


@dataclass(frozen=True, slots=True)
class PlayState:
    """One play as its last accepted beat left it, and the teacher's study clock (the instant
    up to which any of his plays has been credited; None before the first credit)."""

    beat_at: dt.datetime
    position_s: float
    watched_s: float
    clock_at: dt.datetime | None = None


class PlayCredit(NamedTuple):
    """Seconds a beat credits, and the rule that cut the claim (None when it was granted):
    ``wall_time``, ``position``, ``resource_length``, ``paused``, ``seek``."""

    seconds: float
    limited_by: str | None


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
        self.name = scenario.name
        # resource id -> (course id, length in seconds): what shared credit is routed by
        self.resources: dict[str, tuple[int, float]] = {
            r.id: (c.id, float(r.duration_s)) for c in scenario.courses for r in c.resources}
        rules = scenario.rules
        self.playback = PlaybackRules(
            rules.max_playback_rate, rules.max_credit_multiple, rules.one_study_clock
        )

    # --- time ---------------------------------------------------------------------------

    def at(self, moment: dt.datetime) -> dt.datetime:
        return localise(moment, self.zone)

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
        opens, closes = self.recordable_span(course_id)
        lo = max(self.at(since), opens)
        hi = min(self.at(until), closes)
        return max(0.0, (hi - lo).total_seconds())

    def recordable_span(self, course_id: int) -> tuple[dt.datetime, dt.datetime]:
        """The instants between which study of a course is recorded (opening, window end)."""
        return max(self._rule(course_id).opens_at, self.start_at), self.end_at

    def closed_reason(self, course_id: int, moment: dt.datetime) -> str | None:
        """Why study of a course cannot be recorded at ``moment`` (None while it can):
        ``course_not_open`` before its opening day, ``window_closed`` outside the window."""
        if not self.in_window(moment):
            return WINDOW_CLOSED
        return None if self.at(moment) >= self._rule(course_id).opens_at else COURSE_NOT_OPEN

    def play_credit(self, course_id: int, play: PlayState, until: dt.datetime, position_s: float,
                    claimed_s: float, duration_s: float) -> PlayCredit:
        """Seconds one heartbeat of a play may credit, and the rule that limited it.

        The smallest of: the time the client claims; the wall time since the play's last
        accepted beat that the course was open (and, with one study clock, that no other play
        of the teacher has been credited for); the position advance (a paused or rewound
        player earns nothing); what is left of ``max_credit_multiple`` times the resource's
        length. A position advance faster than ``max_playback_rate`` is a seek and earns
        nothing. Pure: the server, the model and the load tests all call this."""
        if claimed_s <= 0:
            return PlayCredit(0.0, None)
        rules = self.playback
        advanced = position_s - play.position_s
        span = (self.at(until) - self.at(play.beat_at)).total_seconds()
        if advanced <= 0:
            return PlayCredit(0.0, "paused")
        if advanced > rules.max_rate * span + SEEK_SLACK_S:
            return PlayCredit(0.0, "seek")
        since = self.credited_since(play)
        limits = (
            (claimed_s, None),
            (self.recordable_seconds(course_id, since, until), "wall_time"),
            (advanced, "position"),
            (max(0.0, rules.max_credit_multiple * duration_s - play.watched_s), "resource_length"),
        )
        seconds, reason = min(limits, key=lambda limit: limit[0])
        return PlayCredit(max(0.0, seconds), reason if seconds < claimed_s else None)

    def credited_since(self, play: PlayState) -> dt.datetime:
        """The instant a beat's credit runs from: the play's last accepted beat, or the
        teacher's study clock if that is later (with one study clock). Shared credit
        (``SharedCredit.route``) asks the other campaigns about the same span."""
        clock_at, since = play.clock_at, play.beat_at
        if self.playback.one_study_clock and clock_at is not None and self.at(clock_at) > self.at(since):
            return clock_at
        return since

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


# --- several campaigns on one platform ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SharedCourse:
    """Where study of one course also counts: ``fraction`` of the course's resource time is
    on resources of ``course_id`` in ``campaign``, which records it between ``opens_at`` and
    ``closes_at`` (its ``recordable_span``)."""

    campaign: str
    course_id: int
    fraction: float
    opens_at: dt.datetime
    closes_at: dt.datetime


class SharedCredit:
    """Credit shared between campaigns on one platform: one study second on a resource
    counts in every campaign that has the resource in a course and whose rules accept the
    second (``Campaign.recordable_seconds``: the course is open and the window not closed).
    A resource is the same resource in two campaigns when it has the same id (the platform
    scenario refuses the same id with two lengths). The model, the reference server and the
    load tests all route study time through this one class."""

    def __init__(self, campaigns: Iterable[Campaign]) -> None:
        self.campaigns: dict[str, Campaign] = {}
        for campaign in campaigns:
            if campaign.name in self.campaigns:
                raise ValueError(f"campaign {campaign.name!r} is given twice")
            self.campaigns[campaign.name] = campaign
        # resource id -> ((campaign, course id), ...) in campaign order
        self.holders: dict[str, tuple[tuple[str, int], ...]] = {}
        for name, campaign in self.campaigns.items():
            for rid, (cid, _length) in campaign.resources.items():
                self.holders[rid] = self.holders.get(rid, ()) + ((name, cid),)

    def accepting(self, resource_id: str) -> tuple[tuple[str, int], ...]:
        """(campaign, course id) of every campaign that has the resource."""
        return self.holders.get(resource_id, ())

    def route(self, resource_id: str, seconds: float, since: dt.datetime,
              until: dt.datetime) -> dict[str, tuple[int, float]]:
        """Campaign -> (course id, seconds credited there) for ``seconds`` of study of the
        resource between two instants: each campaign takes what its own rules record of the
        claim (at most ``seconds``, at most the time its course was open in between)."""
        out: dict[str, tuple[int, float]] = {}
        for name, cid in self.accepting(resource_id):
            credited = min(seconds, self.campaigns[name].recordable_seconds(cid, since, until))
            if credited > 0:
                out[name] = (cid, credited)
        return out

    def shared_courses(self, name: str) -> dict[int, list[SharedCourse]]:
        """For each course of campaign ``name``: the other campaigns' courses its study also
        counts in, with the share of its resource time that is shared (the model routes a
        course's study seconds by this share: it does not track single resources)."""
        own = self.campaigns[name]
        totals: dict[int, float] = {}
        for cid, length in own.resources.values():
            totals[cid] = totals.get(cid, 0.0) + length
        shared: dict[tuple[int, str, int], float] = {}
        for rid, (cid, length) in own.resources.items():
            for other, other_cid in self.accepting(rid):
                if other != name:
                    key = (cid, other, other_cid)
                    shared[key] = shared.get(key, 0.0) + length
        out: dict[int, list[SharedCourse]] = {cid: [] for cid in own.courses}
        for (cid, other, other_cid), length in shared.items():
            opens, closes = self.campaigns[other].recordable_span(other_cid)
            out[cid].append(SharedCourse(other, other_cid, length / totals[cid], opens, closes))
        return out
