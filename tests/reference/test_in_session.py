"""Teachers seeded *in a session* (``reference.seeding.in_session``): the state of the sessions the
model has running at an instant, for the load test's resumed sessions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from domain.campaign import Campaign, CourseProgress
from domain.rules import RuleTables
from reference.seeding.in_session import PLAY, TEST, _Slots, at_instant, in_session, session_steps
from reference.seeding.progress import Course, StageShares, teacher_state

INSTANT = dt.datetime(2023, 1, 5, 20, 0)


@pytest.fixture(scope="module")
def world(smoke):
    campaign = Campaign(smoke)
    tables = RuleTables(campaign, smoke)
    specs = [Course([r.id for r in smoke.course(c).resources], smoke.course(c).test.questions)
             for c in tables.course_ids]
    return smoke, tables, specs, campaign.at(INSTANT)


def _shares() -> StageShares:
    # smoke's 72,000-teacher model at 2023-01-05 20:00: 88% started, 75% credited course 1, 13% both
    return StageShares(0.88, [0.75, 0.13], "test")


def test_a_session_plays_to_the_test_then_attempts_until_full_marks(world):
    """From two resources played of course 1 (1,508 s): the third and fourth (to 3,730 s, past the
    45-minute minimum), then attempts of 8 minutes until one has full marks, as the model does."""
    _, tables, _, instant = world
    start = _Slots.of(tables, None)
    start.studied[0], start.next_resource[0] = 910.0 + 598.0, 2
    steps = session_steps(tables, start, tables.campaign.offset(instant), 3600.0, 3, np.random.default_rng(1))
    plays = [s for s in steps if s.kind == PLAY]
    tests = [s for s in steps if s.kind == TEST and s.slot == 0]
    assert [(s.index, s.seconds) for s in plays[:2]] == [(2, 675.0), (3, 1547.0)]
    assert plays[1].budget_after == pytest.approx(3600.0 - 675.0 - 1547.0) and plays[1].plays_after == 1
    assert tests and [s.index for s in tests] == list(range(1, len(tests) + 1))
    assert all(s.seconds == 480.0 for s in tests)
    assert steps.index(tests[0]) == steps.index(plays[1]) + 1  # the test right after the crossing play


def test_the_state_at_an_instant_has_the_steps_before_it_done(world):
    _, tables, specs, instant = world
    start = _Slots.of(tables, None)
    start.studied[0], start.next_resource[0] = 1508.0, 2
    steps = session_steps(tables, start, tables.campaign.offset(instant), 3600.0, 3, np.random.default_rng(1))
    # 100 s into the fourth resource's play: the third done, 100 s of the fourth credited
    state, flight = at_instant(tables, specs, start, steps, 675.0 + 100.0)
    assert state.studied[0] == pytest.approx(1508.0 + 675.0 + 100.0)
    assert state.watched[0][specs[0].resource_ids[3]] == pytest.approx(100.0)
    assert (flight.kind, flight.course_id, flight.index, flight.left_s) == (PLAY, 1, 3, pytest.approx(1447.0))
    # 60 s into the first attempt: the study done (past the test's unlock), no attempt yet
    state, flight = at_instant(tables, specs, start, steps, 675.0 + 1547.0 + 60.0)
    assert state.studied[0] == pytest.approx(3730.0) and state.attempts[0] == 0
    assert (flight.kind, flight.index, flight.left_s) == (TEST, 1, pytest.approx(420.0))
    assert tables.campaign.test_unlocked(1, state.studied[0])


def test_sessions_in_progress_are_drawn_by_their_length_and_a_uniform_instant(world):
    """Renewal theory: a running session is length-biased and the instant uniform in it, so the
    share of resumed sessions caught in a test attempt is the share of session time spent in tests,
    and the time left of an attempt in flight is uniform over its 8 or 10 minutes."""
    smoke, tables, specs, instant = world
    drawn = in_session(tables, specs, instant, _shares(), 3000, smoke.behaviour.sessions,
                       np.random.default_rng(5))
    assert len(drawn) == 3000
    tests = [f for _, f in drawn if f.kind == TEST]
    # the time share of tests in the same sessions, computed apart from the draw
    rng, time_in = np.random.default_rng(6), {PLAY: 0.0, TEST: 0.0}
    stages = sum((rng.random(4000) < share).astype(int) for share in (0.88, 0.75, 0.13)) - 1
    for stage in stages:
        state = teacher_state(tables, specs, instant, int(min(stage, 2)), rng, smoke.behaviour.sessions)
        budget = float(smoke.behaviour.sessions.length_minutes.sample(rng)) * 60.0
        plays = max(1, round(float(smoke.behaviour.sessions.resources_per_session.sample(rng))))
        for step in session_steps(tables, _Slots.of(tables, state), tables.campaign.offset(instant), budget,
                                  plays, rng):
            time_in[step.kind] += step.seconds
    share = time_in[TEST] / (time_in[TEST] + time_in[PLAY])
    assert len(tests) / len(drawn) == pytest.approx(share, abs=0.03)
    assert 0.05 < share < 0.4
    for cid, attempt_s in ((1, 480.0), (2, 600.0)):
        left = np.array([f.left_s for f in tests if f.course_id == cid])
        assert len(left) > 50 and left.max() <= attempt_s
        assert left.mean() == pytest.approx(attempt_s / 2, rel=0.15)  # uniform residual
    # some resumed sessions finish a play that reaches their test within the first minutes:
    # with the teachers' shares alone (study below the target, no test in flight) none did
    near = [f for state, f in drawn if f.kind == PLAY and f.left_s < 300 and _reaches_test(tables, state, f)]
    assert len(near) > 30


def _reaches_test(tables, state, flight) -> bool:
    course = next(c for c in state.courses if c.cid == flight.course_id)
    return not course.passed and course.studied_s + flight.left_s >= tables.target_s[
        tables.course_ids.index(flight.course_id)]


def test_in_session_draws_are_deterministic_by_seed(world):
    smoke, tables, specs, instant = world
    one, two = (in_session(tables, specs, instant, _shares(), 200, smoke.behaviour.sessions,
                           np.random.default_rng(9)) for _ in range(2))
    assert [f.text() for _, f in one] == [f.text() for _, f in two]


def test_an_instant_before_anything_opens_has_no_session_to_draw(world):
    from reference.seeding.progress import ProgressError

    smoke, tables, specs, _ = world
    start = tables.campaign.at(dt.datetime(2023, 1, 3, 0, 0))
    with pytest.raises(ProgressError, match="--resumed"):
        in_session(tables, specs, start, StageShares(1.0, [], "test"), 10, smoke.behaviour.sessions,
                   np.random.default_rng(1))


def test_with_the_models_fetch_rate_the_phases_follow_littles_law(world):
    """Given the model's papers fetched a second per running session, the sessions in an attempt are
    that rate times the mean attempt, and those in the play that reaches a test the first attempts'
    rate times the mean such play, whatever the stage shares make of the time split."""
    smoke, tables, specs, instant = world
    rate = 50.0 / 60.0 / 4000.0  # the 72,000-teacher model at 20:00: ~50 papers a minute, ~4,000 sessions
    drawn = in_session(tables, specs, instant, _shares(), 4000, smoke.behaviour.sessions,
                       np.random.default_rng(4), rate)
    tests = sum(f.kind == TEST for _, f in drawn)
    # attempts of 8 and 10 minutes: 400-500 sessions in one, not the ~15% of session time (600)
    assert 0.09 < tests / 4000 < 0.13
    # the plays that reach a test, ending in the next 5 minutes, start as many first attempts as
    # the model's rate over 5 minutes: rate / 1.61 attempts a sequence (full marks 0.5, 0.8, 0.9)
    near = [f for state, f in drawn if f.kind == PLAY and f.left_s < 300 and _reaches_test(tables, state, f)]
    assert len(near) == pytest.approx(4000 * rate / 1.61 * 300, rel=0.3)


def test_the_fetch_rate_is_read_from_the_minutes_before_the_instant(tmp_path, world):
    from reference.seeding.in_session import fetch_rate

    _, tables, _, instant = world
    lines = ["minute,rps.test_fetch,sessions,arrivals.sessions"]
    for k in range(-12, 3):
        minute = instant + dt.timedelta(minutes=k)
        fetch = 1.0 if k < 0 else 99.0  # the stretch's own minutes must not count
        lines.append(f"{minute.isoformat(timespec='minutes')},{fetch},{2100 if k == 0 else 1},{100}")
    (tmp_path / "timeseries.csv").write_text("\n".join(lines) + "\n")
    assert fetch_rate(tmp_path, tables, instant) == pytest.approx(1.0 / 2000.0)
    assert fetch_rate(tmp_path / "missing", tables, instant) is None


def test_seed_resumed_puts_the_last_teachers_in_a_session_valid_by_the_rules(settings, tmp_path):
    from domain.scenario import load_scenario
    from reference.catalogue import Catalogue
    from reference.db import Database
    from reference.seeding.seed import seed_platform
    from tests.conftest import SMOKE
    from tests.reference.test_seed import (
        _accounts,
        _assert_valid_by_the_rules,
        _model_results,
        _progress_rows,
    )

    catalogue = Catalogue(load_scenario(SMOKE))
    db = Database(settings.database_url)
    instant = catalogue.rules.at(dt.datetime(2023, 1, 6, 20, 0))
    try:
        report = seed_platform(db, catalogue, settings, 400, 5, tmp_path / "out", progress_at=instant,
                               model_results=_model_results(tmp_path / "model"), resumed=150)
    finally:
        db.dispose()
    rows = [r for r in _accounts(tmp_path / "out") if r["role"] == "teacher"]
    assert [bool(r["resume"]) for r in rows] == [False] * 250 + [True] * 150
    assert sum(n for k, n in report.progress.items() if k.startswith("in a session")) == 150
    courses, resources, attempts, _ = _progress_rows(settings)
    _assert_valid_by_the_rules(catalogue, instant, courses, resources, attempts)
    # the roster's ``progress`` column says who has joined (enrolment rows) and who is done
    enrolled = {c.teacher_id for c in courses}
    credited = {}
    for c in courses:
        if c.test_passed and c.studied_s >= catalogue.rules.rule(c.course_id).min_study_s:
            credited.setdefault(c.teacher_id, {})[c.course_id] = True
    for row in rows:
        tid = int(row["teacher_id"])
        assert (row["progress"] == "none") == (tid not in enrolled)
        done = catalogue.rules.is_complete({cid: CourseProgress(catalogue.rules.rule(cid).min_study_s, True)
                                            for cid in credited.get(tid, {})})
        assert (row["progress"] == "complete") == (tid in enrolled and done)
    assert {row["progress"] for row in rows[250:]} == {"studying"}
    # ``stage``: a started teacher's credited courses (the roster gives a sign-in one at its stage)
    for row in rows[:250]:
        tid = int(row["teacher_id"])
        assert row["stage"] == (str(len(credited.get(tid, {}))) if tid in enrolled else "")
    assert {row["stage"] for row in rows[:250]} >= {"0", "1"}
    assert {row["progress"] for row in rows[:250]} == {"none", "studying", "complete"}
    # an attempt in flight: its course's study reaches the test, which is not passed yet
    by_key = {(c.teacher_id, c.course_id): c for c in courses}
    for row in rows[250:]:
        kind, cid = row["resume"].split(":")[:2]
        if kind == TEST:
            course = by_key[(int(row["teacher_id"]), int(cid))]
            assert not course.test_passed and catalogue.rules.test_unlocked(int(cid), course.studied_s)


def test_resumed_on_the_command_line(tmp_path, capsys):
    from tests.conftest import SMOKE
    from tests.reference.test_seed import _model_results
    from yanxiu.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    args = ["seed", "--database-url", url, "--scenario", str(SMOKE), "--teachers", "50",
            "--out", str(tmp_path)]
    assert main([*args, "--resumed", "5"]) == 2  # no --progress-at: nothing to be in a session at
    assert "--resumed: 0 to --teachers teachers, and only with --progress-at" in capsys.readouterr().err
    progress = ["--progress-at", "2023-01-06T20:00", "--model-results", str(_model_results(tmp_path / "m"))]
    assert main([*args, *progress, "--resumed", "51"]) == 2
    assert main([*args, *progress, "--resumed", "5"]) == 0
    assert "in a session" in capsys.readouterr().out
    from tests.reference.test_seed import _accounts

    assert sum(bool(row["resume"]) for row in _accounts(tmp_path)) == 5
