"""Where a seeded teacher is in the course he studies: the start of one of his sessions in it."""

from __future__ import annotations

import numpy as np
import pytest

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
    first = {session_start(durations, targets, 0, _Sessions(10, 1), rng)[0] for _ in range(100)}
    assert first == {600.0, 1200.0}
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


def test_a_teacher_waiting_for_a_course_has_had_a_poisson_count_of_sessions_in_it_since():
    # sessions of 10 min and 1 play of a 10-min resource; target 60 min: m sessions, 10 m min
    from reference.seeding.career import since_opening

    rng = np.random.default_rng(4)
    drawn = np.array([since_opening([600.0] * 6, 3600.0, _Sessions(10, 1), 1.36, rng)[0]
                      for _ in range(4000)])
    assert abs((drawn == 0).mean() - np.exp(-1.36)) < 0.03  # smoke's peak hour: 26% at nothing
    assert abs(drawn.mean() / 600.0 - 1.36) < 0.1 and drawn.max() < 3600.0  # never the whole course


def test_openings_come_from_the_model_s_sessions_since_and_its_stage_shares_then(tmp_path):
    import datetime as dt

    from domain.campaign import Campaign
    from domain.rules import RuleTables
    from domain.scenario import load_scenario
    from reference.seeding.progress import openings_from_results, shares_from_results
    from tests.conftest import SMOKE
    from tests.reference.test_seed import _model_results

    smoke = load_scenario(SMOKE)
    campaign = Campaign(smoke)
    tables = RuleTables(campaign, smoke)
    folder = _model_results(tmp_path / "model")
    instant = campaign.at(dt.datetime(2023, 1, 6, 12, 0))
    shares = shares_from_results(folder, campaign, instant)
    assert openings_from_results(folder, tables, instant, shares).per_teacher == {}  # no time series
    opened = int(tables.opens_s[1] // 60)
    lines = ["minute,offset_min,arrivals.sessions"]
    lines += [f"{(campaign.start_at + dt.timedelta(minutes=m)).isoformat()},{m},{2 if m >= opened else 9}"
              for m in range(int(campaign.offset(instant) // 60) + 60)]
    (folder / "timeseries.csv").write_text("\n".join(lines) + "\n")
    openings = openings_from_results(folder, tables, instant, shares)
    since = int(campaign.offset(instant) // 60) - opened
    assert openings.per_teacher[1] == pytest.approx(2 * since / (1000 * shares.started))
    then = shares_from_results(folder, campaign, campaign.at_offset(tables.opens_s[1]))
    assert openings.waiting[(1, 1)] == pytest.approx(then.at_least[0] / shares.at_least[0])
    assert 0 < openings.waiting[(1, 1)] < 1
