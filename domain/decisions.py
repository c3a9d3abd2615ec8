"""A teacher's decisions within a session, as plain functions of plain values.

The model (``sim.sessions.behaviour``) and the load tests (``loadtests.journeys``) both call these, so
a simulated teacher and a Locust teacher choose the same course, play the same resources and
sign in the same way given the same state and the same random numbers. State is passed in
(course slots ordered by course id, opening offsets in seconds from the window start, a bit
pattern of credited courses); nothing here keeps state or draws random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NO_COURSE = -1


def session_budget(length_minutes: float, resources: float) -> tuple[float, int]:
    """Seconds of study and number of resource plays a session allows (at least one play)."""
    return length_minutes * 60.0, max(1, round(resources))


def signs_in_with_password(u: float, password_share: float) -> bool:
    """A returning teacher logs in with a password with probability ``password_share``
    (``u`` uniform on [0, 1)), otherwise with an SMS code."""
    return u < password_share


ENROL = "enrol"  # the endpoint of joining a campaign (scenarios' platform, route maps, the reference)


def enrols(enrolled: bool) -> bool:
    """Whether a session enrols the teacher in the campaign: once, in the first session that gets
    past sign-in (after registering, or at the campaign page that shows him not enrolled), before
    any study; the platform credits no study of a teacher who has not joined. A teacher who signed
    up on the platform for an earlier campaign (a returning one) joins this one all the same."""
    return not enrolled


def school_searches(drawn: float) -> int:
    """Keyword searches before the school is found: the drawn count, at least one."""
    return max(1, round(drawn))


def pick_course(opens_s: Sequence[float], credited: int, now: float,
                preferred: Sequence[int] = ()) -> int:
    """The slot of the course to study: the first open, uncredited course among
    ``preferred`` (a mobilisation wave's courses), else the open, uncredited course with the
    lowest id; ``NO_COURSE`` when none is open and uncredited at offset ``now``."""
    for slot in preferred:
        if not credited >> slot & 1 and opens_s[slot] <= now:
            return slot
    for slot, opened in enumerate(opens_s):
        if not credited >> slot & 1 and opened <= now:
            return slot
    return NO_COURSE


def playlist(durations: Sequence[float], next_resource: int, need_s: float, budget_s: float,
             plays: int) -> tuple[float, int, int]:
    """Resources played in order from ``next_resource`` (wrapping round the course's list)
    until ``need_s`` more study is done, the budget is spent or the plays run out.
    Returns (seconds watched, clipped to the budget; the next resource; plays left)."""
    watched, k, count = 0.0, next_resource, len(durations)
    while watched < need_s and watched < budget_s and plays > 0:
        watched += durations[k % count]
        k += 1
        plays -= 1
    return min(watched, budget_s), k, plays


def ready_for_test(unlocked: bool, studied_s: float, min_study_s: float) -> bool:
    """The test is taken once the rules unlock it and the credit minimum is studied."""
    return unlocked and studied_s >= min_study_s


def beats_in_play(seconds: float, interval_s: float) -> tuple[int, float]:
    """The player's heartbeats for a play of ``seconds``: one as it starts (the server starts
    the resource's clock on it and credits nothing), one every ``interval_s`` of play, and one
    at the end for a last part interval. Returns the beats and how many of them a steady rate
    of one beat per ``interval_s`` of play does not count (the start beat and the missing part
    of the last interval), which the model adds at the play's start and end."""
    periodic = max(1, math.ceil(seconds / interval_s - 1e-9))
    return 1 + periodic, 1 + periodic - seconds / interval_s
