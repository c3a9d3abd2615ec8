"""Where a seeded teacher is in the course he studies: the start of one of his sessions in it."""

from __future__ import annotations

import numpy as np

from domain.distributions import Deterministic
from reference.seeding.career import session_start


class _Sessions:
    """A scenario's ``behaviour.sessions``, with fixed draws."""

    def __init__(self, minutes: float, plays: float) -> None:
        self.length_minutes = Deterministic(kind="deterministic", value=minutes)
        self.resources_per_session = Deterministic(kind="deterministic", value=plays)


def test_each_session_in_the_course_starts_where_the_ones_before_left_it_each_as_often():
    # course 0: 3 resources of 10 min, target 30 min; sessions of 10 min and 1 play: three
    # sessions in the course, starting at 0, 10 and 20 min, the first of which is the teacher's
    # first (a seeded teacher has studied: not that one); course 1 the same after it
    durations, targets = [[600.0] * 3, [600.0] * 3], [1800.0, 1800.0]
    rng = np.random.default_rng(1)
    assert {session_start(durations, targets, 0, _Sessions(10, 1), rng)[0] for _ in range(100)} == {600.0, 1200.0}
    drawn = [session_start(durations, targets, 1, _Sessions(10, 1), rng) for _ in range(3000)]
    positions, counts = np.unique([p for p, _ in drawn], return_counts=True)
    assert positions.tolist() == [0.0, 600.0, 1200.0]
    assert np.all(np.abs(counts / 3000 - 1 / 3) < 0.04)  # each start as likely (not by time)
    assert {(p, k) for p, k in drawn} == {(0.0, 0), (600.0, 1), (1200.0, 2)}  # the next resource too


def test_what_a_session_carries_over_starts_the_next_course_part_way():
    # a 25-min session: course 0 (20 min) takes it to 20 min, its test, then 5 min of course 1
    durations, targets = [[1200.0], [300.0] * 4], [1200.0, 1200.0]
    rng = np.random.default_rng(2)
    starts = {session_start(durations, targets, 1, _Sessions(25, 3), rng)[0] for _ in range(200)}
    assert min(starts) == 300.0  # never at nothing: the first session in it came with 5 min of it


def test_smoke_s_second_course_is_seeded_less_far_in_than_a_uniform_share(smoke):
    """The model's peak-hour sessions in smoke's course 2 started at a third of its target on
    average (0.41 over the campaign); a uniform share gives a half, which made the replay's
    sessions reach tests 1.2-1.5x as often as the model's."""
    from domain.campaign import Campaign
    from domain.rules import RuleTables

    tables = RuleTables(Campaign(smoke), smoke)
    rng = np.random.default_rng(3)
    share = np.array([session_start(tables.durations, tables.target_s, 1, smoke.behaviour.sessions, rng)[0]
                      for _ in range(2000)]) / tables.target_s[1]
    assert 0.38 < share.mean() < 0.47
    assert (share == 0).mean() > 0.1  # a first session with nothing carried over
