"""A teacher's shared study credited to his journeys in his other campaign."""

from __future__ import annotations

from types import SimpleNamespace

from sim.sessions.shared import Partner


class Journeys:
    def __init__(self) -> None:
        self.added: list[tuple[int, int, float, float]] = []

    def add_study(self, tid: int, slot: int, seconds: float, shown: float) -> None:
        self.added.append((tid, slot, seconds, shown))


def test_credit_goes_to_the_same_teacher_there_on_that_clock():
    there = Journeys()
    partner = Partner(there, SimpleNamespace(done_s=10_000.0), {3: 0}, shift_s=-2_000.0)
    assert partner.credit(3, 1, 600.0, 5_000.0) == 600.0
    assert there.added == [(0, 1, 600.0, 3_000.0)]  # row 3 here is row 0 there; 5,000 s here is 3,000 there


def test_a_teacher_not_in_the_other_campaign_gets_nothing_there():
    there = Journeys()
    partner = Partner(there, SimpleNamespace(done_s=10_000.0), {3: 0}, shift_s=0.0)
    assert partner.credit(4, 1, 600.0, 5_000.0) == 0.0
    assert partner.credit(3, 1, 0.0, 5_000.0) == 0.0
    assert there.added == []


def test_credit_ahead_of_the_other_clock_shows_where_that_clock_is():
    there = Journeys()
    partner = Partner(there, SimpleNamespace(done_s=3_600.0), {0: 0}, shift_s=0.0)
    partner.credit(0, 0, 300.0, 3_900.0)  # a session planned at its start ends after their minute
    assert there.added == [(0, 0, 300.0, 3_600.0)]
