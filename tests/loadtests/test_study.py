"""The Locust teacher studies as the model's teacher does: same course, same resources, same
test decision for the same state (``loadtests.study`` on ``domain.decisions``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import domain.decisions
from domain import decisions
from domain.campaign import Campaign
from domain.rules import RuleTables
from domain.scenario import load_scenario
from loadtests.study import PageState, study
from tests.loadtests.conftest import SMOKE

ZONE = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def tables() -> RuleTables:
    scenario = load_scenario(SMOKE)
    return RuleTables(Campaign(scenario), scenario)


def page(tables, now: dt.datetime, studied, passed, next_resource, watched_last=1.0) -> dict:
    """The reference's campaign page for a model state: per slot the study time, the test,
    and resources before ``next_resource`` touched (the one before it partly, as a play the
    session's budget cut short)."""
    courses = []
    for slot, cid in enumerate(tables.course_ids):
        durations = tables.durations[slot]
        resources = []
        for i, d in enumerate(durations):
            last = next_resource[slot] - 1
            seen = d if i < last else watched_last * d if i == last else 0.0
            resources.append({"id": f"{cid}.{i}", "duration_s": d, "watched_s": seen,
                              "percent": 100.0 * seen / d})
        courses.append({"id": cid, "open": tables.campaign.is_open(cid, now), "studied_s": studied[slot],
                        "resources": resources,
                        "test": {"passed": passed[slot], "attempts": int(passed[slot])}})
    return {"now": now.isoformat(), "courses": courses}


class Recorder:
    """The journey's requests, without a network: heartbeats add the seconds played."""

    def __init__(self, pass_tests: bool = True) -> None:
        self.plays: list[tuple[int, str, float]] = []
        self.tests: list[int] = []
        self.pass_tests = pass_tests

    def watch(self, course, resource, seconds):
        self.plays.append((course.cid, resource["id"], seconds))
        return course.studied_s + seconds

    def take_test(self, course) -> bool:
        self.tests.append(course.cid)
        return self.pass_tests


def models_first_steps(tables, now_s, studied, passed, next_resource, budget, plays):
    """What the model does first in ``sim.sessions.behaviour``'s study loop for this state: the
    course slot it picks and the resource indices of its playlist (the calls it makes)."""
    credited = 0
    for slot in range(len(studied)):
        if passed[slot] and studied[slot] >= tables.min_study_s[slot]:
            credited |= 1 << slot
    slot = decisions.pick_course(tables.opens_s, credited, now_s)
    if slot < 0:
        return slot, [], 0.0
    need = tables.target_s[slot] - studied[slot]
    if need <= 0:
        return slot, [], 0.0
    watched, end, _ = decisions.playlist(tables.durations[slot], next_resource[slot], need, budget, plays)
    count = len(tables.durations[slot])
    return slot, [k % count for k in range(next_resource[slot], end)], watched


def test_random_states_give_the_models_course_and_playlist(tables):
    rng = np.random.default_rng(5)
    campaign, n = tables.campaign, len(tables.course_ids)
    seen_slots = set()
    for _ in range(400):
        now = campaign.start_at + dt.timedelta(seconds=float(rng.uniform(0, 9 * 86400)))
        studied = [float(rng.choice([0.0, rng.uniform(0, 1.5 * t)])) for t in tables.target_s]
        passed = [bool(rng.random() < 0.4 and s >= tables.target_s[i]) for i, s in enumerate(studied)]
        nxt = [int(rng.integers(0, len(d) + 1)) for d in tables.durations]
        budget, plays = decisions.session_budget(float(rng.uniform(1, 90)), float(rng.uniform(1, 3)))
        slot, indices, watched = models_first_steps(tables, campaign.offset(now), studied, passed, nxt,
                                                    budget, plays)
        seen_slots.add(slot)
        io = Recorder()
        shown = page(tables, now, studied, passed, nxt, watched_last=float(rng.choice([1.0, 0.4])))
        study(tables, PageState.from_page(tables, shown), budget, plays, io.watch, io.take_test)
        first = [p for p in io.plays if slot >= 0 and p[0] == tables.course_ids[slot]]
        if slot < 0:
            assert io.plays == [] and io.tests == []
            continue
        assert [p[1] for p in first[:len(indices)]] == [f"{tables.course_ids[slot]}.{k}" for k in indices]
        assert sum(p[2] for p in first[:len(indices)]) == pytest.approx(watched)
        if indices:
            assert io.plays[0][0] == tables.course_ids[slot]
        else:  # studied enough already: the model goes straight to the test
            assert io.tests[:1] == [tables.course_ids[slot]]
    assert seen_slots >= {-1, 0, 1} and n == 2


def test_credited_course_is_skipped_and_the_next_open_one_studied(tables):
    campaign = tables.campaign
    course2_open = campaign.rule(2).opens_at + dt.timedelta(hours=20)
    io = Recorder()
    state = PageState.from_page(tables, page(tables, course2_open, [2700.0, 0.0], [True, False], [3, 0]))
    study(tables, state, 3000.0, 2, io.watch, io.take_test)
    assert {cid for cid, _, _ in io.plays} == {2}
    assert [r for _, r, _ in io.plays] == ["2.0", "2.1"]
    # the same teacher before course 2 opens has nothing to study
    io = Recorder()
    before = campaign.rule(2).opens_at - dt.timedelta(hours=1)
    study(tables, PageState.from_page(tables, page(tables, before, [2700.0, 0.0], [True, False], [3, 0])),
          3000.0, 2, io.watch, io.take_test)
    assert io.plays == [] and io.tests == []


def test_playlist_resumes_after_the_last_touched_resource(tables):
    """The model moves on after a play its budget cut short; so does the Locust teacher (a
    "first resource not fully watched" rule would replay resource 1.1)."""
    now = tables.campaign.start_at + dt.timedelta(hours=10)
    io = Recorder()
    state = PageState.from_page(tables, page(tables, now, [900.0, 0.0], [False, False], [2, 0],
                                             watched_last=0.3))
    study(tables, state, 20 * 60.0, 3, io.watch, io.take_test)
    # resource 1.2 (11:15) whole, then 1.3 until the 20 minutes are spent
    assert [(r, round(s)) for _, r, s in io.plays] == [("1.2", 675), ("1.3", 525)]


def test_test_taken_once_ready_then_next_course(tables):
    now = tables.campaign.rule(2).opens_at + dt.timedelta(hours=12)
    io = Recorder()
    state = PageState.from_page(tables, page(tables, now, [2600.0, 0.0], [False, False], [4, 0]))
    study(tables, state, 3 * 3600.0, 3, io.watch, io.take_test)
    assert io.tests == [1]
    assert io.plays[0][:2] == (1, "1.0") and io.plays[0][2] == pytest.approx(910.0)
    assert [cid for cid, _, _ in io.plays[1:]] == [2, 2]  # the plays left, in course 2
    io = Recorder(pass_tests=False)
    study(tables, PageState.from_page(tables, page(tables, now, [2600.0, 0.0], [False, False], [4, 0])),
          3 * 3600.0, 3, io.watch, io.take_test)
    assert io.tests == [1] and len(io.plays) == 1  # no full marks: the session ends there


def test_the_journey_defers_to_the_shared_functions(tables, monkeypatch):
    """Change the model's rule and the Locust teacher changes with it: course choice and
    playlist come from domain.decisions, not from a copy."""
    now = tables.campaign.rule(2).opens_at + dt.timedelta(hours=12)
    state = page(tables, now, [0.0, 0.0], [False, False], [0, 0])
    monkeypatch.setattr(domain.decisions, "pick_course", lambda opens, credited, now, preferred=(): 1)
    monkeypatch.setattr(domain.decisions, "playlist",
                        lambda durations, k, need, budget, plays: (100.0, k + 1, 0))
    io = Recorder()
    study(tables, PageState.from_page(tables, state), 3600.0, 2, io.watch, io.take_test)
    assert io.plays == [(2, "2.0", 100.0)]  # course 1 was the natural choice, and 2.0 whole


# --- a resumed session finishes the step the model's session is in (``InFlight``) -----------

def test_a_resumed_session_finishes_its_play_then_takes_the_test(tables):
    """Seeded 100 s into course 1's fourth resource (2,283 s studied): it plays the 1,447 s left of
    that resource (not a whole next one), which reaches the test, and takes it with no budget or
    plays left, as the model's session takes a test after the play that reaches it."""
    from loadtests.study import PLAY, InFlight

    now = tables.campaign.rule(2).opens_at + dt.timedelta(hours=20)
    state = PageState.from_page(tables, page(tables, now, [2283.0, 0.0], [False, False], [4, 0],
                                             watched_last=100.0 / 1547.0))
    io = Recorder()
    study(tables, state, 0.0, 0, io.watch, io.take_test, InFlight(PLAY, 1, 3, 1447.0, 0.0, 0))
    assert io.plays == [(1, "1.3", 1447.0)] and io.tests == [1]
    assert state.courses[0].next_resource == 4 and state.credited & 1


def test_a_resumed_session_in_a_test_attempt_submits_before_anything_else(tables):
    from loadtests.study import TEST, InFlight

    now = tables.campaign.rule(2).opens_at + dt.timedelta(hours=20)
    state = PageState.from_page(tables, page(tables, now, [3730.0, 0.0], [False, False], [4, 0]))
    io = Recorder()
    study(tables, state, 600.0, 1, io.watch, io.take_test, InFlight(TEST, 1, 2, 200.0, 600.0, 1))
    assert io.tests == [1] and [cid for cid, _, _ in io.plays] == [2]  # then course 2 with what is left


def test_in_flight_steps_round_trip_through_the_accounts_column():
    from loadtests.study import PLAY, TEST, InFlight

    assert InFlight.parse("play:1:3:1447.0:600.0:1") == InFlight(PLAY, 1, 3, 1447.0, 600.0, 1)
    assert InFlight.parse("test:2:2:10.5:0.0:0") == InFlight(TEST, 2, 2, 10.5, 0.0, 0)
    assert InFlight.parse("") is None and InFlight.parse("walk:1:2:3:4:5") is None
    assert InFlight.parse("play:x:3:1:1:1") is None
