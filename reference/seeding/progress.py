"""Study progress for seeded teachers: the state the model predicts at an instant.

A replay of a late stretch (the deadline's peak day) needs teachers who have studied, or its
sessions would all start from nothing and few would reach a test. ``yanxiu seed
--progress-at INSTANT`` gives each seeded teacher a *stage*: how many courses he has
credited, plus part of the next course studied.

Shares of the stages, in this order of preference:

- the model's results (``outcomes_daily.csv`` and ``summary.json`` of ``yanxiu run``), read
  at the instant (linear between day ends): ``studied`` is the share who started, and the
  k-th largest ``completed.<course>`` the share with at least k credited courses (courses
  are credited one after another, so the stages nest);
- without results, a documented stand-in: half the teachers started, and those spread
  evenly over 0 .. (open courses) credited courses.

Every state is built by the rules, never by hand: the courses credited are the ones the
model's course choice (``domain.decisions.pick_course``) takes in turn at the instant; study is
the model's playlist (``domain.decisions.playlist``) until the test unlocks and the credit
minimum is reached, capped by what ``Campaign.recordable_seconds`` allows since the course
opened (a course that opened too recently cannot be credited yet); test attempts are drawn
with ``Campaign.full_marks_probability`` and marked by ``Campaign.passes``; the result is
checked with ``Campaign.course_credit``. The part-studied next course gets a uniform share of
its study target, so some teachers are one resource short of a test. At or after the
certificate date the completers also hold their certificates (``yanxiu seed`` runs the batch,
``reference.certificates``, which asks the rules who completed).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from domain import decisions
from domain.campaign import CourseProgress
from reference.seeding.career import session_start, since_opening

MAX_ATTEMPTS = 50
# a seeded teacher's state for the load test's roster (``accounts.csv``'s ``progress`` column):
# not enrolled (his next session is his first in the campaign: it enrols, ``domain.decisions.enrols``),
# enrolled with something left to study, or done (the rules' completion: he starts no more
# sessions, as the model's completers do not)
NOT_ENROLLED, STUDYING, COMPLETE = "none", "studying", "complete"
FALLBACK_STARTED = 0.5  # documented stand-in when no model results are given


class ProgressError(ValueError):
    """Progress cannot be derived as asked; str() names the option or file."""


@dataclass(frozen=True)
class StageShares:
    started: float  # share of teachers who studied at all
    at_least: list[float]  # at_least[k-1]: share with k or more credited courses
    source: str


@dataclass
class CourseState:
    cid: int
    studied_s: float
    watched: list[tuple[str, float]]  # (resource id, seconds), in play order
    attempts: int = 0
    passed: bool = False
    at: dt.datetime | None = None  # last study (and the pass, if passed)
    plays: int = 0  # plays of the course's playlist so far: the next resource is this one (wrapping)


@dataclass
class TeacherState:
    enrolled_at: dt.datetime
    courses: list[CourseState] = field(default_factory=list)


def shares_from_results(folder: Path, campaign, instant: dt.datetime) -> StageShares:
    """Stage shares at ``instant`` from a model results folder."""
    outcomes, summary = folder / "outcomes_daily.csv", folder / "summary.json"
    try:
        participants = float(json.loads(summary.read_text())["outcomes"]["participants"])
        lines = [line for line in outcomes.read_text().splitlines() if line and not line.startswith("#")]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ProgressError(f"--model-results: {folder}: no usable outcomes ({exc})") from None
    rows = list(csv.DictReader(lines))
    try:
        ends = [campaign.at(dt.datetime.fromisoformat(r["day"]) + dt.timedelta(days=1)) for r in rows]
        columns = ["studied", *(f"completed.{cid}" for cid in campaign.course_ids())]
        values = np.array([[float(r[c]) for c in columns] for r in rows])
    except (KeyError, ValueError) as exc:
        raise ProgressError(f"--model-results: {outcomes}: {exc}") from None
    if not rows or participants <= 0:
        raise ProgressError(f"--model-results: {outcomes}: no days or no participants")
    stamps = np.array([e.timestamp() for e in ends])
    at = np.array([np.interp(campaign.at(instant).timestamp(), np.concatenate([[stamps[0] - 86400], stamps]),
                             np.concatenate([[0.0], values[:, j]])) for j in range(values.shape[1])])
    shares = np.clip(at / participants, 0.0, 1.0)
    started, passed = float(shares[0]), np.sort(shares[1:])[::-1]
    at_least = np.minimum.accumulate(np.minimum(passed, started))
    return StageShares(started, [float(s) for s in at_least], str(folder))


@dataclass(frozen=True)
class Openings:
    """Courses that opened after teachers had finished the course before them
    (``career.since_opening``): the model's sessions per teacher since each opened, by slot, and
    the share of the teachers at each stage who were waiting for it, by (slot, stage)."""

    per_teacher: dict[int, float]
    waiting: dict[tuple[int, int], float]


def openings_from_results(folder: Path, tables, instant: dt.datetime, shares: StageShares) -> Openings:
    """From a model results folder: for every course but the first that opened before
    ``instant``, the model's session arrivals since (``timeseries.csv``) over its teachers who
    started (participants times the ``started`` share), and of the teachers with ``k`` credited
    courses at the instant the share who had them when it opened (the stage shares then). None of
    either without a usable time series."""
    campaign = tables.campaign
    now = campaign.offset(instant)
    try:
        with (folder / "timeseries.csv").open(newline="", encoding="utf-8") as handle:
            rows = [(float(r["offset_min"]) * 60.0, float(r["arrivals.sessions"]))
                    for r in csv.DictReader(line for line in handle if not line.startswith("#"))]
        participants = float(json.loads((folder / "summary.json").read_text())["outcomes"]["participants"])
    except (OSError, KeyError, TypeError, ValueError):
        return Openings({}, {})  # no time series: the career alone (``career.session_start``)
    per_teacher, waiting = {}, {}
    for slot, opened in enumerate(tables.opens_s):
        if slot == 0 or not 0 < opened < now or participants * shares.started <= 0:
            continue
        sessions = sum(n for at, n in rows if opened <= at < now)
        per_teacher[slot] = sessions / (participants * shares.started)
        then = shares_from_results(folder, campaign, campaign.at_offset(opened))
        for k, share in enumerate(shares.at_least, start=1):
            if share > 0 and k <= len(then.at_least):
                waiting[(slot, k)] = min(1.0, then.at_least[k - 1] / share)
    return Openings(per_teacher, waiting)


def fallback_shares(tables, instant: dt.datetime) -> StageShares:
    """The stand-in without model results (see the module's docstring)."""
    now = tables.campaign.offset(instant)
    opened = sum(1 for o in tables.opens_s if o <= now)
    at_least = [FALLBACK_STARTED * (opened + 1 - k) / (opened + 1) for k in range(1, opened + 1)]
    return StageShares(FALLBACK_STARTED, at_least, "stand-in (no model results)")


def progress_status(tables, state: TeacherState | None) -> str:
    """``NOT_ENROLLED``, ``STUDYING`` or ``COMPLETE`` for a seeded teacher's state."""
    if state is None:
        return NOT_ENROLLED
    return COMPLETE if bool(tables.complete[_credited(tables, state)]) else STUDYING


def progress_stage(tables, state: TeacherState | None) -> int | None:
    """A seeded teacher's credited courses (``accounts.csv``'s ``stage`` column: the load test's
    roster gives a sign-in an account at the stage the model's session had); None if not started."""
    return None if state is None else _credited(tables, state).bit_count()


def _credited(tables, state: TeacherState) -> int:
    """The bit pattern of the courses the rules credit a seeded teacher with."""
    return sum(1 << tables.course_ids.index(c.cid) for c in state.courses
               if c.passed and c.studied_s >= tables.min_study_s[tables.course_ids.index(c.cid)])


def draw_stages(shares: StageShares, n: int, rng: np.random.Generator) -> np.ndarray:
    """Each teacher's stage: -1 not started, else the number of credited courses."""
    u = rng.random(n)
    stage = np.full(n, -1)
    stage[u < shares.started] = 0
    for k, share in enumerate(shares.at_least, start=1):
        stage[u < share] = k
    return stage


@dataclass(frozen=True)
class Course:
    """What the drawing needs of a course slot besides the rule tables."""

    resource_ids: list[str]
    questions: int


def teacher_state(tables, courses: list[Course], instant: dt.datetime, stage: int,
                  rng: np.random.Generator, sessions=None,
                  openings: Openings | None = None) -> TeacherState | None:
    """One teacher's progress at ``instant`` for his stage, through the rules; None if he
    has not started. ``sessions`` (the scenario's ``behaviour.sessions``): the part-studied course
    is where one of his sessions in it starts (``career.session_start``); without it, a uniform
    part of its study target. ``openings``: in a course that opened after he had finished the one
    before (the share ``Openings.waiting`` of his stage), the study of the sessions he has had in
    it since (``career.since_opening``)."""
    if stage < 0:
        return None
    campaign = tables.campaign
    now = campaign.offset(instant)
    # enrolled in the first half of the time so far, so that early courses had room
    state = TeacherState(campaign.at_offset(float(rng.uniform(0, 0.5 * max(0.0, now)))))
    credited = 0
    for k in range(stage + 1):
        slot = decisions.pick_course(tables.opens_s, credited, now)
        if slot == decisions.NO_COURSE:
            break
        full = k < stage
        waited = (openings is not None and not full and sessions is not None
                  and rng.random() < openings.waiting.get((slot, stage), 0.0))
        per_teacher = openings.per_teacher[slot] if openings is not None and waited else None
        course = _course(tables, courses[slot], slot, state.enrolled_at, instant, full, rng, sessions,
                         per_teacher)
        if course.studied_s <= 0:
            break
        state.courses.append(course)
        if not (full and course.passed):
            break  # the part-studied course, or one that opened too recently to be credited
        credited |= 1 << slot
    return state


def _course(tables, spec: Course, slot: int, enrolled_at: dt.datetime, instant: dt.datetime,
            full: bool, rng: np.random.Generator, sessions=None,
            per_teacher: float | None = None) -> CourseState:
    """The model's playlist from the course's first resource: to the study target (``full``)
    or to where one of the teacher's sessions in it starts (a uniform part of the target without
    ``sessions``), within the time the rules allow since the course opened."""
    campaign, cid = tables.campaign, tables.course_ids[slot]
    since = max(campaign.at(enrolled_at), campaign.rule(cid).opens_at)
    room = campaign.recordable_seconds(cid, since, instant)
    if full:
        target = tables.target_s[slot]
    elif sessions is not None and per_teacher is not None:
        target = since_opening(tables.durations[slot], tables.target_s[slot], sessions, per_teacher, rng)[0]
    elif sessions is not None:
        target = session_start(tables.durations, tables.target_s, slot, sessions, rng)[0]
    else:
        target = float(rng.uniform(0, tables.target_s[slot]))
    watched_s, end, _ = decisions.playlist(tables.durations[slot], 0, target, min(target, room), 1 << 30)
    course = CourseState(cid, watched_s, _plays(tables.durations[slot], spec.resource_ids, end, watched_s),
                         plays=end)
    course.at = since + (campaign.at(instant) - since) * float(rng.uniform(0.5, 1.0))
    if full and watched_s >= target:
        _take_test(campaign, cid, spec.questions, course, rng)
    if course.passed and campaign.course_credit(cid, CourseProgress(course.studied_s, True)) <= 0:
        raise ProgressError(f"course {cid}: drew a pass the rules do not credit")
    return course


def _plays(durations: list[float], names: list[str], end: int, watched_s: float) -> list[tuple[str, float]]:
    """Seconds per resource of a playlist of ``end`` plays adding up to ``watched_s``."""
    seconds: dict[str, float] = {}
    left = watched_s
    for k in range(end):
        play = min(durations[k % len(durations)], left)
        name = names[k % len(durations)]
        # a resource watched twice over still counts its length once per play
        seconds[name] = seconds.get(name, 0.0) + play
        left -= play
    return [(name, s) for name, s in seconds.items() if s > 0]


def _take_test(campaign, cid: int, questions: int, course: CourseState, rng: np.random.Generator) -> None:
    """Attempts until full marks (bounded), only once the rules unlock the test."""
    if not campaign.test_unlocked(cid, course.studied_s):
        return
    for attempt in range(1, MAX_ATTEMPTS + 1):
        full = rng.random() < campaign.full_marks_probability(cid, attempt)
        correct = questions if full else questions - 1
        course.attempts = attempt
        if campaign.passes(correct, questions):
            course.passed = True
            return


# --- loading ---------------------------------------------------------------------------------

COLUMNS = {
    "enrolments": ("teacher_id", "campaign", "enrolled_at"),
    "course_progress": ("teacher_id", "campaign", "course_id", "studied_s", "attempts", "test_passed",
                        "passed_at"),
    "resource_progress": ("teacher_id", "campaign", "resource_id", "course_id", "watched_s", "position_s",
                          "last_seq", "last_beat_at"),
    "test_attempts": ("teacher_id", "campaign", "course_id", "attempt", "correct", "questions", "passed",
                      "submitted_at"),
}
