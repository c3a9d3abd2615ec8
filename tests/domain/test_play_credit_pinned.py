"""Campaign.play_credit and closed_reason pinned one rule at a time, against the rules as
domain/campaign.py's docstring and docs/api.md state them (restated here):

a beat credits the smallest of the claim, the wall time since the play's last accepted beat
while the course was open (from the teacher's study clock when another play was credited
later), the position advance and what is left of ``max_credit_multiple`` × the resource's
length; nothing when nothing is claimed, when the position did not advance (paused) or when
it advanced faster than ``max_playback_rate`` × the wall time + 1 s (a seek). The rule that cut
the claim is named; none when the claim was granted whole.
"""

from __future__ import annotations

import datetime as dt

import pytest

from domain.campaign import COURSE_NOT_OPEN, WINDOW_CLOSED, Campaign, PlayState
from domain.scenario import parse_scenario

T0 = dt.datetime(2023, 1, 10, 9, 0)  # naive: the campaign's zone; every course open
LENGTH = 600.0  # the resource's length (s)


def later(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def credit(campaign: Campaign, after_s: float, position: float, claimed: float, *, start: float = 0.0,
           watched: float = 0.0, clock: dt.datetime | None = None, course: int = 1):
    play = PlayState(T0, start, watched, clock)
    return campaign.play_credit(course, play, later(after_s), position, claimed, LENGTH)


def test_playback_rules_of_the_scenario(campaign):
    assert (campaign.playback.max_rate, campaign.playback.max_credit_multiple) == (2.0, 2.0)
    assert campaign.playback.one_study_clock


def test_an_honest_beat_is_granted_whole(campaign):
    assert credit(campaign, 60, 60, 60) == (60, None)
    assert credit(campaign, 60.5, 60, 60) == (60, None)  # the claim is the smallest: granted


@pytest.mark.parametrize("claimed", [0.0, -5.0])
def test_nothing_claimed_nothing_credited(campaign, claimed):
    assert credit(campaign, 60, 60, claimed) == (0, None)
    # nothing claimed is not a pause or a seek, whatever the position did
    assert credit(campaign, 60, 0, claimed) == (0, None)
    assert credit(campaign, 60, 500, claimed) == (0, None)


@pytest.mark.parametrize("position", [100.0, 99.0])
def test_a_paused_or_rewound_player_earns_nothing(campaign, position):
    assert credit(campaign, 60, position, 60, start=100.0) == (0, "paused")


@pytest.mark.parametrize("seconds", [1.0, 0.5])
def test_an_advance_of_a_second_or_less_is_credited(campaign, seconds):
    assert credit(campaign, seconds, seconds, seconds) == (seconds, None)


def test_position_advance_limits_the_credit(campaign):
    assert credit(campaign, 60, 100 + 30, 60, start=100.0) == (30, "position")


def test_wall_time_limits_the_credit(campaign):
    assert credit(campaign, 20, 30, 60) == (20, "wall_time")


def test_the_seek_boundary_is_max_rate_times_wall_time_plus_a_second(campaign):
    # 60 s of wall time at 2x: up to 121 s of advance is play, beyond is a seek
    assert credit(campaign, 60, 121, 60) == (60, None)
    assert credit(campaign, 60, 121.01, 60) == (0, "seek")
    assert credit(campaign, 60, 200, 300) == (0, "seek")


def test_a_faster_allowed_rate_moves_the_seek_boundary(winter):
    data = winter.model_dump(by_alias=True)
    data["rules"]["max_playback_rate"] = 3.0
    campaign = Campaign(parse_scenario(data))
    assert credit(campaign, 60, 181, 60) == (60, None)
    assert credit(campaign, 60, 181.5, 60) == (0, "seek")


def test_credit_stops_at_the_multiple_of_the_resource_length(campaign):
    assert credit(campaign, 60, 60, 60, watched=2 * LENGTH - 25) == (25, "resource_length")
    assert credit(campaign, 60, 60, 60, watched=2 * LENGTH) == (0, "resource_length")
    assert credit(campaign, 60, 60, 60, watched=2 * LENGTH + 50) == (0, "resource_length")
    assert credit(campaign, 60, 60, 60, watched=2 * LENGTH - 60) == (60, None)


def test_another_play_credited_later_moves_the_start_of_the_wall_time(campaign):
    # the teacher's clock was moved 45 s after this play's last beat by another play
    assert credit(campaign, 60, 60, 60, clock=later(45)) == (15, "wall_time")
    # a clock before this play's last beat changes nothing
    assert credit(campaign, 60, 60, 60, clock=later(-30)) == (60, None)
    assert credit(campaign, 60, 60, 60, clock=T0) == (60, None)


def test_without_one_study_clock_plays_earn_side_by_side(winter):
    data = winter.model_dump(by_alias=True)
    data["rules"]["one_study_clock"] = False
    campaign = Campaign(parse_scenario(data))
    assert credit(campaign, 60, 60, 60, clock=later(45)) == (60, None)


def test_wall_time_counts_only_while_the_course_is_open(campaign):
    opens = campaign.rule(2).opens_at
    play = PlayState(opens - dt.timedelta(seconds=40), 0.0, 0.0)
    twenty_after = opens + dt.timedelta(seconds=20)
    assert campaign.play_credit(2, play, twenty_after, 60, 60, LENGTH) == (20, "wall_time")
    end = campaign.end_at
    play = PlayState(end - dt.timedelta(seconds=10), 0.0, 0.0)
    assert campaign.play_credit(1, play, end + dt.timedelta(seconds=50), 60, 60, LENGTH) == (10, "wall_time")


def test_closed_reason(campaign):
    assert campaign.closed_reason(1, campaign.start_at) is None
    assert campaign.closed_reason(1, campaign.start_at - dt.timedelta(microseconds=1)) == WINDOW_CLOSED
    assert campaign.closed_reason(1, campaign.end_at) == WINDOW_CLOSED
    opens = campaign.rule(2).opens_at
    assert campaign.closed_reason(2, opens - dt.timedelta(microseconds=1)) == COURSE_NOT_OPEN
    assert campaign.closed_reason(2, opens) is None


@pytest.mark.parametrize("seconds", [1.0, 0.25])
def test_shared_credit_routes_a_second_or_less(campaign, seconds):
    from domain.campaign import SharedCredit

    resource, (course, _length) = next(iter(campaign.resources.items()))
    routed = SharedCredit([campaign]).route(resource, seconds, T0, later(seconds))
    assert routed == {campaign.name: (course, seconds)}
