"""How far into a course a seeded teacher is: the study he has in it when one of his sessions starts.

A replayed session that signs in takes a seeded account and goes on from its state, as the
model's session goes on from its teacher's. The model's teachers move through a course session
by session: each session plays the course's playlist (``domain.decisions.session_budget``,
``playlist``) until its budget or plays run out, or the course's study target is reached (then
its test, and on into the next course with what is left of the session). So a session starts at
one of the few positions its teacher's earlier sessions left him at: the first at what the
session that finished the previous course carried over (often nothing), the next after one
session's study, and so on. Each of a teacher's sessions in the course is one start, so a
session starting in the stretch is at each of them equally often (renewal theory: count the
sessions, not the time).

Drawn uniformly between nothing and the study target (the stand-in before, 2026-11-30), a
position is too far in: smoke's course 2 takes about three sessions (90 minutes, sessions of
about 30), whose starts lie at 0, 1/3 and 2/3 of it on average, mean a third, against the
uniform draw's half; the model's peak-hour sessions in course 2 started at a third of it on
average, and a replay whose accounts were drawn uniformly took 1.3-1.6 times the model's tests.

Opening dates are not followed: a course that opened after its teacher finished the one before
starts at nothing, where the career here may carry study over into it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from domain import decisions

MAX_SESSIONS = 10_000  # a safety bound: a session always plays at least one resource


def session_start(durations: Sequence[Sequence[float]], targets: Sequence[float], slot: int, sessions,
                  rng: np.random.Generator) -> tuple[float, int]:
    """(study in course ``slot``, its next resource) at the start of one of the sessions a teacher
    spends in it, each equally likely: a career simulated from the first course's first resource,
    course after course in slot order (tests take no study time), with the session lengths and
    plays of ``sessions`` (a scenario's ``behaviour.sessions``). A seeded teacher has studied, so
    the career's first session (nothing studied at all) is not one of them."""
    starts: list[tuple[float, int]] = []
    course, studied, next_resource = 0, 0.0, 0
    for done in range(MAX_SESSIONS):
        if course > slot:
            break
        if course == slot and done > 0:  # before the first session a teacher has not started
            starts.append((studied, next_resource))
        budget, plays = decisions.session_budget(float(sessions.length_minutes.sample(rng)),
                                                 float(sessions.resources_per_session.sample(rng)))
        while budget > 0 and plays > 0 and course <= slot:
            watched, next_resource, plays = decisions.playlist(
                durations[course], next_resource, targets[course] - studied, budget, plays)
            studied, budget = studied + watched, budget - watched
            if studied >= targets[course]:  # the test, then the next course with what is left
                course, studied, next_resource = course + 1, 0.0, 0
    if not starts:  # a session went through the whole course: it was never started in
        return 0.0, 0
    return starts[int(rng.integers(len(starts)))]


MAX_DRAWS = 1_000  # draws of a waiting teacher's sessions before giving up (a course that long)


def since_opening(durations: Sequence[float], target: float, sessions, per_teacher: float,
                  rng: np.random.Generator) -> tuple[float, int]:
    """(study, next resource) in a course that opened recently, of a teacher who had finished the
    course before when it opened: the model plans his next session a gap after the opening and
    the next ones a gap apart, so a session of his that starts now is preceded in the course by as
    many as a Poisson count of mean ``per_teacher`` (the model's sessions per teacher since the
    opening), each from where the last left him; drawn again while they finish the course (he
    would be in the next one). Smoke's peak hour: course 2 opened 20 hours before, 1.36 sessions
    a teacher since, so 26% of its sessions at nothing, as the model's (26%)."""
    for _ in range(MAX_DRAWS):
        studied, next_resource = 0.0, 0
        for _ in range(int(rng.poisson(per_teacher))):
            budget, plays = decisions.session_budget(float(sessions.length_minutes.sample(rng)),
                                                     float(sessions.resources_per_session.sample(rng)))
            watched, next_resource, _ = decisions.playlist(durations, next_resource, target - studied,
                                                           budget, plays)
            studied += watched
        if studied < target:
            return studied, next_resource
    return 0.0, 0
