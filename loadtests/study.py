"""A teacher's study within one session, decided by the model's own functions (``domain.decisions``).

The model keeps each teacher's state in arrays; a Locust teacher reads it off the target's
campaign page. ``PageState`` turns the page into the arguments ``domain.decisions`` takes:

- course slots in the rules' order (``domain.rules.RuleTables.course_ids``), their opening
  offsets (``opens_s``) and the server's instant ``now`` mapped to an offset by
  ``Campaign.offset``; a course the page does not list counts as never opening;
- the credited bit pattern: a course is credited when ``Campaign.course_credit`` says so for
  its page state (test passed and credit minimum studied), as the model's pattern does;
- each course's next resource: the one after the last resource with watched time (the model
  moves on after a play cut short by the session's budget, so the page's "first resource not
  fully watched" would be a different rule).

``study`` then runs the model's loop (``sim.sessions.behaviour``): pick a course, play its playlist,
take the test once ready, next course, while the session's budget and plays last. Requests go
through the caller's ``watch`` and ``take_test``; nothing here imports Locust, so the tests
drive it directly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from domain import decisions
from domain.campaign import CourseProgress

NEVER = math.inf


@dataclass
class CourseState:
    slot: int
    cid: int
    studied_s: float
    passed: bool
    attempts: int
    resources: list[dict]
    next_resource: int


@dataclass
class PageState:
    """The decision inputs of one teacher, from the campaign page."""

    opens_s: list[float]
    now: float
    credited: int
    courses: dict[int, CourseState]  # by slot

    @classmethod
    def from_page(cls, tables, page: dict) -> PageState:
        campaign = tables.campaign
        listed = {c.get("id"): c for c in page.get("courses") or ()}
        moment = _instant(page.get("now"))
        if moment is not None:
            now, opens = campaign.offset(moment), list(tables.opens_s)
        else:  # a page without the server's instant: its open flags say what is open now
            now, opens = 0.0, [0.0 if (listed.get(cid) or {}).get("open") else NEVER
                               for cid in tables.course_ids]
        courses, credited = {}, 0
        for slot, cid in enumerate(tables.course_ids):
            course = listed.get(cid)
            if course is None:
                opens[slot] = NEVER
                continue
            state = _course_state(slot, cid, course)
            courses[slot] = state
            if campaign.course_credit(cid, CourseProgress(state.studied_s, state.passed)) > 0:
                credited |= 1 << slot
        return cls(opens, now, credited, courses)

    def credit(self, tables, slot: int) -> None:
        """Set the slot's credited bit when the rules credit its state."""
        course = self.courses[slot]
        progress = CourseProgress(course.studied_s, course.passed)
        if tables.campaign.course_credit(course.cid, progress) > 0:
            self.credited |= 1 << slot


def _course_state(slot: int, cid: int, course: dict) -> CourseState:
    resources = [r for r in course.get("resources") or () if float(r.get("duration_s", 0)) > 0]
    touched = [i for i, r in enumerate(resources) if float(r.get("watched_s", 0.0)) > 0]
    test = course.get("test") or {}
    return CourseState(slot, cid, float(course.get("studied_s", 0.0)), bool(test.get("passed")),
                       int(test.get("attempts", 0)), resources, touched[-1] + 1 if touched else 0)


def _instant(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class InFlight:
    """The step a session the model has running at the stretch's start is in, as seeded into
    its account (``accounts.csv``'s ``resume``, ``reference.seeding.in_session``): a play of the
    course's ``index``-th resource of its playlist (wrapping) with ``left_s`` model seconds to play,
    or attempt ``index`` of its test with ``left_s`` until it is submitted; then the session's
    study budget ``budget_s`` and ``plays`` left."""

    kind: str  # PLAY or TEST
    course_id: int
    index: int
    left_s: float
    budget_s: float
    plays: int

    @classmethod
    def parse(cls, text: str) -> InFlight | None:
        """``kind:course:index:left_s:budget_s:plays``; None when empty or not of that form."""
        parts = text.split(":") if text else []
        if len(parts) != 6 or parts[0] not in (PLAY, TEST):
            return None
        try:
            return cls(parts[0], int(parts[1]), int(parts[2]), float(parts[3]), float(parts[4]),
                       int(parts[5]))
        except ValueError:
            return None


PLAY, TEST = "play", "test"
Watch = Callable[[CourseState, dict, float], float]  # (course, resource, seconds) -> studied_s
TakeTest = Callable[[CourseState], bool]  # attempts until full marks; True once passed


def study(tables, state: PageState, budget_s: float, plays: int, watch: Watch,
          take_test: TakeTest | None, in_flight: InFlight | None = None) -> None:
    """The model's study loop on ``state``; ``take_test`` None when tests are left out. A
    resumed session first finishes its step ``in_flight`` (the rest of a play; a test attempt's
    submission is the caller's ``take_test``), then goes on as the model's session does after
    that step, with the budget and plays it has left."""
    pending = in_flight
    while (budget_s > 0 and plays > 0) or pending is not None:
        slot = decisions.pick_course(state.opens_s, state.credited, state.now)
        if slot == decisions.NO_COURSE:
            return
        course = state.courses[slot]
        if pending is not None:
            _finish_play(course, pending, watch, state)
            pending = None
        need = tables.target_s[slot] - course.studied_s
        if need > 0 and course.resources and budget_s > 0 and plays > 0:
            budget_s, plays = _play(course, need, budget_s, plays, watch, state)
        if course.passed:
            state.credit(tables, slot)
            if not state.credited >> slot & 1:
                return  # passed, but the session ran out before the credit minimum
            continue
        unlocked = tables.campaign.test_unlocked(course.cid, course.studied_s)
        if not decisions.ready_for_test(unlocked, course.studied_s, tables.min_study_s[slot]):
            return  # out of time or resources before the test unlocks
        if take_test is None or not take_test(course):
            return
        state.now += tables.attempt_s[slot]
        course.passed = True
        state.credit(tables, slot)
        if not state.credited >> slot & 1:
            return


def _finish_play(course: CourseState, flight: InFlight, watch: Watch, state: PageState) -> None:
    """The rest of the play a resumed session is in (nothing for a test in flight, or when the
    course the model would pick now is not the one seeded in flight)."""
    if flight.kind != PLAY or flight.course_id != course.cid or not course.resources or flight.left_s <= 0:
        return
    resource = course.resources[flight.index % len(course.resources)]
    course.studied_s = watch(course, resource, flight.left_s)
    course.next_resource = flight.index + 1
    state.now += flight.left_s


def _play(course: CourseState, need: float, budget_s: float, plays: int, watch: Watch,
          state: PageState) -> tuple[float, int]:
    """The model's playlist, played resource by resource; the last play is cut to the
    seconds the model watches (the session's budget)."""
    durations = [float(r["duration_s"]) for r in course.resources]
    watched, end, plays = decisions.playlist(durations, course.next_resource, need, budget_s, plays)
    left = watched
    for k in range(course.next_resource, end):
        seconds = min(durations[k % len(durations)], left)
        if seconds <= 0:
            break
        course.studied_s = watch(course, course.resources[k % len(durations)], seconds)
        left -= seconds
    course.next_resource = end
    state.now += watched
    return budget_s - watched, plays
