"""Shared credit between a teacher's campaigns (several campaigns on one platform).

A teacher in two campaigns of a platform run (``overlaps:`` of the platform scenario) is
simulated as two journeys, one per campaign, each with its own sessions and its own
progress, in the same process. His study of a course whose resources the other campaign
also has (``domain.campaign.SharedCredit.shared_courses``: the share of the course's resource
time on shared resources, the span the other campaign records) is added to his progress
there too: ``Partner`` is his other journeys, as his own journeys see them.
"""

from __future__ import annotations

from typing import Protocol


class Recording(Protocol):
    def add_study(self, tid: int, slot: int, seconds: float, shown: float) -> None: ...


class Clock(Protocol):
    done_s: float  # the end of the last minute run: no later step of the journeys precedes it


class Partner:
    """The same teachers' journeys in another campaign: ``tids`` maps a teacher's row here
    to his row there; ``shift_s`` turns this campaign's clock into that one's."""

    def __init__(self, journeys: Recording, clock: Clock, tids: dict[int, int], shift_s: float) -> None:
        self.journeys = journeys
        self.clock = clock
        self.tids = tids
        self.shift_s = shift_s

    def credit(self, tid: int, slot: int, seconds: float, shown: float) -> float:
        """Add ``seconds`` of shared study to teacher ``tid``'s course ``slot`` in the other
        campaign, showing at ``shown`` (this campaign's clock); the seconds credited (none
        when the teacher is not in that campaign).

        A whole session is planned at its start, so ``shown`` may lie ahead of the other
        journeys' clock; then it shows where their clock is (the end of the minute they last
        ran), which no later step of theirs precedes: a test they pass after it is credited
        at once, as it would be."""
        other = self.tids.get(tid)
        if other is None or seconds <= 0.0:
            return 0.0
        self.journeys.add_study(other, slot, seconds, min(shown + self.shift_s, self.clock.done_s))
        return seconds
