"""Teachers the model has *in a session* at an instant: their study progress and the step in flight.

A load test that resumes the sessions the model has running at the stretch's first minute
(``yanxiu loadtest --resume-sessions``) needs accounts in the state of those sessions, not of
teachers at large: a session running at an instant is part-way through one of its steps (a
resource's play, or a test attempt between the paper's fetch and its submission), and that
step decides how soon it fetches or submits a test. Seeded with the teachers' shares alone
(``reference.seeding.progress``: part of the next course studied, never past its study
target, never in a test) no resumed session reaches a test within minutes; the model's do.

So each such account is a draw from the model's sessions at the instant, by renewal theory's
equilibrium: sessions are simulated whole from the state their teacher starts them in (the
teachers' stage shares, ``progress.teacher_state``) with the model's own decisions and draws
(``domain.decisions.session_budget``, ``pick_course``, ``playlist``, ``ready_for_test``;
attempts until full marks with ``Campaign.full_marks_probability``; each attempt lasts the
course's ``attempt_minutes``), as ``sim.sessions.study`` runs them; one running at the instant
is drawn with probability proportional to its length, and the instant falls uniformly within
it. The steps before the instant are seeded as done (a play part-way is credited up to the
instant, as the player's heartbeats credit it); the step in flight and what the session has
left (``InFlight``) go to ``accounts.csv``'s ``resume`` column for the load test to finish.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domain import decisions
from reference.seeding.progress import (
    Course,
    CourseState,
    ProgressError,
    StageShares,
    TeacherState,
    draw_stages,
    teacher_state,
)

PLAY, TEST = "play", "test"
CROSSING = "crossing"  # a play whose end reaches the course's test (its phase; its step is a PLAY)
POOL_FACTOR = 8  # candidate sessions per account drawn, before the length-biased choice
MAX_ROUNDS = 50  # draws of ``count`` sessions before giving up on an instant that allows none


@dataclass(frozen=True)
class Step:
    kind: str  # PLAY or TEST
    slot: int
    index: int  # the play's position in the course's playlist (wrapping), or the attempt number
    seconds: float
    budget_after: float  # the session's study budget and plays left once the step is over
    plays_after: int
    passes: bool = False  # an attempt with full marks


@dataclass(frozen=True)
class InFlight:
    """The step a resumed session is in at the instant and what its session has left after it:
    a play of the course's ``index``-th resource with ``left_s`` to play, or attempt ``index``
    of its test with ``left_s`` until it is submitted (the paper was fetched before)."""

    kind: str
    course_id: int
    index: int
    left_s: float
    budget_s: float
    plays: int

    def text(self) -> str:
        return f"{self.kind}:{self.course_id}:{self.index}:{self.left_s:.1f}:{self.budget_s:.1f}:{self.plays}"


@dataclass
class _Slots:
    """A teacher's progress by course slot, as the model's ledger keeps it."""

    studied: list[float]
    watched: list[dict[str, float]]
    next_resource: list[int]
    attempts: list[int]
    passed: list[bool]
    credited: int

    @classmethod
    def of(cls, tables, state: TeacherState | None) -> _Slots:
        n = len(tables.course_ids)
        slots = cls([0.0] * n, [{} for _ in range(n)], [0] * n, [0] * n, [False] * n, 0)
        for course in state.courses if state is not None else ():
            slot = tables.course_ids.index(course.cid)
            slots.studied[slot], slots.attempts[slot] = course.studied_s, course.attempts
            slots.watched[slot] = dict(course.watched)
            slots.next_resource[slot], slots.passed[slot] = course.plays, course.passed
            if course.passed and course.studied_s >= tables.min_study_s[slot]:
                slots.credited |= 1 << slot
        return slots

    def copy(self) -> _Slots:
        return dataclasses.replace(self, studied=list(self.studied), watched=[dict(w) for w in self.watched],
                                   next_resource=list(self.next_resource), attempts=list(self.attempts),
                                   passed=list(self.passed))


def session_steps(tables, start: _Slots, now: float, budget_s: float, plays: int,
                  rng: np.random.Generator) -> list[Step]:
    """One session's plays and attempts from ``start``, as ``sim.sessions.study.Study._study``
    takes them: the course ``pick_course`` picks, its ``playlist``, its test once ready, until
    full marks, the next course while the budget and plays last."""
    state, steps = start.copy(), []
    while budget_s > 0 and plays > 0:
        slot = decisions.pick_course(tables.opens_s, state.credited, now)
        if slot == decisions.NO_COURSE:
            break
        need = tables.target_s[slot] - state.studied[slot]
        if need > 0:
            durations = tables.durations[slot]
            first = state.next_resource[slot]
            watched, end, plays_left = decisions.playlist(durations, first, need, budget_s, plays)
            left = watched
            for k in range(first, end):
                seconds = min(durations[k % len(durations)], left)
                if seconds <= 0:
                    break
                left -= seconds
                spent = watched - left  # of the budget, this play included
                steps.append(Step(PLAY, slot, k, seconds, budget_s - spent, plays - (k - first + 1)))
            state.studied[slot] += watched
            state.next_resource[slot], budget_s, plays = end, budget_s - watched, plays_left
        if state.passed[slot]:
            if state.studied[slot] >= tables.min_study_s[slot]:
                state.credited |= 1 << slot
            continue
        unlocked = tables.campaign.test_unlocked(tables.course_ids[slot], state.studied[slot])
        if not decisions.ready_for_test(unlocked, state.studied[slot], tables.min_study_s[slot]):
            break
        attempt = state.attempts[slot]
        while not state.passed[slot]:
            attempt += 1
            state.passed[slot] = bool(rng.random() < tables.full_marks_probability(slot, attempt))
            passes = state.passed[slot]
            steps.append(Step(TEST, slot, attempt, tables.attempt_s[slot], budget_s, plays, passes))
        state.attempts[slot] = attempt
        state.credited |= 1 << slot
    return steps


def at_instant(tables, courses: list[Course], start: _Slots, steps: list[Step],
               x: float) -> tuple[_Slots, InFlight]:
    """The progress ``x`` seconds into the session and its step in flight."""
    state, clock = start.copy(), 0.0
    for step in steps:
        slot, names = step.slot, courses[step.slot].resource_ids
        done = min(step.seconds, max(0.0, x - clock))
        if step.kind == PLAY and done > 0:
            name = names[step.index % len(names)]
            state.studied[slot] += done
            state.watched[slot][name] = state.watched[slot].get(name, 0.0) + done
        if clock + step.seconds > x:  # the step in flight
            cid = tables.course_ids[slot]
            if step.kind == TEST:
                state.attempts[slot] = step.index - 1
            else:
                state.next_resource[slot] = step.index
            return state, InFlight(step.kind, cid, step.index, step.seconds - done, step.budget_after,
                                   step.plays_after)
        if step.kind == PLAY:
            state.next_resource[slot] = step.index + 1
        else:
            state.attempts[slot], state.passed[slot] = step.index, step.passes
        clock += step.seconds
    raise ValueError("the instant is beyond the session's steps")


def in_session(tables, courses: list[Course], instant: dt.datetime, shares: StageShares, count: int,
               session, rng: np.random.Generator,
               fetch_rate: float | None = None, openings=None) -> list[tuple[TeacherState, InFlight]]:
    """``count`` teachers in a session at ``instant``: each the state at a uniform instant of a
    session drawn with probability proportional to its length (``session``: the scenario's
    ``behaviour.sessions``, whose length and plays the model draws). With ``fetch_rate``, the
    model's test papers fetched a second per running session just before the instant, the
    sessions in each phase are as many as the model has (``phase_counts``)."""
    if count <= 0:
        return []
    campaign = tables.campaign
    now = campaign.offset(instant)
    candidates: list[tuple[TeacherState, _Slots, list[Step]]] = []
    for stage in draw_stages(shares, POOL_FACTOR * count + 50, rng).tolist():
        state = teacher_state(tables, courses, instant, stage, rng, session, openings)
        if state is None:  # a first session: enrolled now, nothing studied
            state = TeacherState(instant)
        slots = _Slots.of(tables, state)
        budget, plays = decisions.session_budget(float(session.length_minutes.sample(rng)),
                                                 float(session.resources_per_session.sample(rng)))
        steps = session_steps(tables, slots, now, budget, plays, rng)
        if steps:
            candidates.append((state, slots, steps))
    if not candidates:
        return []
    # every step of every candidate, by phase: (candidate, its start in the session, the step)
    phases: dict[str, list[tuple[int, float, Step]]] = {TEST: [], CROSSING: [], PLAY: []}
    for i, (_, _, steps) in enumerate(candidates):
        clock = 0.0
        for j, step in enumerate(steps):
            phases[_phase(steps, j)].append((i, clock, step))
            clock += step.seconds
    wanted = phase_counts(phases, count, fetch_rate)
    # what the rules let a course record by the instant: a session that would have studied a
    # course before it opened did not start when this draw says (drawn again)
    rooms = [campaign.recordable_seconds(cid, campaign.rule(cid).opens_at, instant)
             for cid in tables.course_ids]
    out: list[tuple[TeacherState, InFlight]] = []
    for phase, n in wanted.items():
        pool = phases[phase]
        weights = np.array([step.seconds for _, _, step in pool])
        got = 0
        for _ in range(MAX_ROUNDS):
            if got >= n or not pool:
                break
            for k in rng.choice(len(pool), size=n, p=weights / weights.sum()).tolist():
                i, begins, step = pool[k]
                state, slots, steps = candidates[i]
                x = begins + float(rng.uniform(0.0, step.seconds))  # uniform within the step
                at, flight = at_instant(tables, courses, slots, steps, x)
                allowed = all(s <= room + 1e-6 for s, room in zip(at.studied, rooms, strict=True))
                if got < n and allowed:
                    out.append((_teacher(tables, state, at, instant), flight))
                    got += 1
        if got < n:
            raise ProgressError(f"--resumed: no session the rules allow runs at {instant:%Y-%m-%d %H:%M}")
    order = rng.permutation(len(out))  # phases mixed, so that no sub-platform or id range gets one
    return [out[k] for k in order.tolist()]


def _phase(steps: list[Step], j: int) -> str:
    """A test attempt; the play that reaches a test (the next step is its attempt); another play."""
    step = steps[j]
    if step.kind == TEST:
        return TEST
    after = steps[j + 1] if j + 1 < len(steps) else None
    return CROSSING if after is not None and after.kind == TEST and after.slot == step.slot else PLAY


def phase_counts(phases: dict[str, list[tuple[int, float, Step]]], count: int,
                 fetch_rate: float | None) -> dict[str, int]:
    """How many of ``count`` running sessions are in a test attempt, in the play that reaches a
    test, and in another play.

    Without the model's rate, as the candidates spend their time (renewal theory). With it, by
    Little's law on the model's own sessions: those in an attempt are the papers fetched in the
    attempt's time before the instant, ``fetch_rate × mean attempt``; those in a play that
    reaches a test are the first attempts' rate (``fetch_rate / mean attempts``, every sequence
    of attempts ends with full marks) times the mean such play; the rest play on. So the
    replay's first minutes fetch and submit tests at the model's rate at the instant, whatever
    the teachers' stage shares (which know completions, not where in a course a teacher is)."""
    seconds = {phase: sum(step.seconds for _, _, step in pool) for phase, pool in phases.items()}
    total = sum(seconds.values())
    if fetch_rate is None or not phases[TEST] or not phases[CROSSING]:
        share = {phase: seconds[phase] / total for phase in phases}
    else:
        tests = [step for _, _, step in phases[TEST]]
        mean_attempts = len(tests) / max(1, sum(step.passes for step in tests))
        share = {TEST: fetch_rate * seconds[TEST] / len(tests),
                 CROSSING: fetch_rate / mean_attempts * seconds[CROSSING] / len(phases[CROSSING])}
        scale = min(1.0, 1.0 / (share[TEST] + share[CROSSING]))
        share = {TEST: share[TEST] * scale, CROSSING: share[CROSSING] * scale}
        share[PLAY] = 1.0 - share[TEST] - share[CROSSING]
    counts = {phase: int(round(share[phase] * count)) for phase in (TEST, CROSSING)}
    counts[PLAY] = count - counts[TEST] - counts[CROSSING]
    return {phase: n for phase, n in counts.items() if n > 0}


def fetch_rate(folder: Path, tables, instant: dt.datetime) -> float | None:
    """The model's test papers fetched a second per session running at ``instant``: its
    ``rps.test_fetch`` over the minutes before it that the longest attempt spans, over its
    ``sessions`` at that minute less the minute's arrivals (the running ones, as the load test
    counts the sessions it resumes). None without a usable time series."""
    path = folder / "timeseries.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
        minutes = [dt.datetime.fromisoformat(r["minute"]) for r in rows]
        at = minutes.index(instant.replace(second=0, microsecond=0))
        span = max(1, math.ceil(max(tables.attempt_s) / 60.0))
        before = rows[max(0, at - span):at]
        running = float(rows[at]["sessions"]) - float(rows[at]["arrivals.sessions"])
        rate = sum(float(r["rps.test_fetch"]) for r in before) / len(before)
    except (OSError, KeyError, ValueError, ZeroDivisionError):
        return None
    return rate / running if running > 0 else None


def _teacher(tables, before: TeacherState, slots: _Slots, instant: dt.datetime) -> TeacherState:
    """The seeded rows' shape (``progress.TeacherState``) of the progress at the instant."""
    at = {c.cid: c.at for c in before.courses}
    state = TeacherState(before.enrolled_at)
    for slot, cid in enumerate(tables.course_ids):
        if slots.studied[slot] <= 0 and slots.attempts[slot] == 0:
            continue
        course = CourseState(cid, slots.studied[slot], list(slots.watched[slot].items()),
                             slots.attempts[slot], slots.passed[slot], at.get(cid) or instant,
                             slots.next_resource[slot])
        state.courses.append(course)
    return state
