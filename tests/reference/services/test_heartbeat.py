"""A batch of heartbeats written together gives every beat the answer, and leaves the tables
in the state, that writing them one transaction at a time would; and both agree with the
rules stated independently here (reference.services.heartbeat)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select, update

from reference.errors import ApiError
from reference.models import CourseProgress, ResourceProgress, Teacher
from reference.schemas.progress import Heartbeat
from reference.services.heartbeat import BeatWrite, apply_heartbeats, check_heartbeat, record_heartbeat
from tests.reference.conftest import START

RESOURCES = ["1.1", "1.2", "2", "2.1", "2.2"]  # course 2 opens on 2023-01-05, mid-run
PLAYERS = 6  # 0-3 study; 4's tokens were revoked (401); 5 never enrolled (403)
WEIGHTS = [6, 6, 6, 6, 1, 1]


def _beats(seed: int, players: int, count: int, durations: dict) -> list[tuple[int, Heartbeat, dt.datetime]]:
    """Plausible and hostile beats alike: replays, old sequence numbers, claims of more time
    than passed, positions that advance honestly, too fast (seeks), not at all (paused) or
    backwards, several beats of one resource close together, a course before it opens,
    beats after the window."""
    rng = random.Random(seed)
    seqs: dict[tuple[int, str], int] = {}
    positions: dict[tuple[int, str], float] = {}
    played_at: dict[tuple[int, str], dt.datetime] = {}
    now, beats = START, []
    for _ in range(count):
        step = rng.choice([0, 1, 20, 30, 60, 300, 3600, 20_000])
        now += dt.timedelta(seconds=step)
        if not beats or rng.random() < 0.6:  # else the same play beats again, soon
            player, resource = rng.choices(range(players), WEIGHTS)[0], rng.choice(RESOURCES)
        last = seqs.get((player, resource), 0)
        seq = rng.choice([last + 1, last + 1, last + 2, last, max(0, last - 1)])
        seqs[(player, resource)] = max(last, seq)
        was, since = positions.get((player, resource), 0.0), played_at.get((player, resource), now)
        span = (now - since).total_seconds()  # the play's own time since its last beat
        played_at[(player, resource)] = now
        moved = rng.choice([span, span, min(span, 60), 2 * span + 50, 0, -30, -was, rng.uniform(-500, 500)])
        position = min(max(was + moved, 0.0), durations[resource])
        positions[(player, resource)] = position
        body = Heartbeat(
            resource_id=resource,
            position_s=position,
            elapsed_s=rng.choice([0, 15, 60, 600, 86_400]),
            seq=seq,
        )
        beats.append((player, body, now))
    return beats


def _rules(catalogue, beats) -> list[tuple]:
    """The heartbeat's rules, stated without the database or domain.campaign's code: what
    each beat should get."""
    rules = catalogue.rules
    rate, multiple = rules.playback.max_rate, rules.playback.max_credit_multiple
    last: dict[tuple[int, str], list] = {}  # (player, resource) -> [seq, beat_at, watched, position]
    clocks: dict[int, dt.datetime] = {}  # player -> instant up to which he was credited
    studied: dict[tuple[int, int], float] = {}
    outcomes = []
    for player, body, now in beats:
        resource = catalogue.resources[body.resource_id]
        course = resource.course_id
        state = last.get((player, body.resource_id))
        if now < rules.rule(course).opens_at or now < rules.start_at:
            outcomes.append(("refused", 403))  # course_not_open, before any database work
        elif player >= 4:
            outcomes.append(("refused", 401 if player == 4 else 403))
        elif state is None and now >= rules.end_at:
            outcomes.append(("refused", 403))  # window_closed
        elif state is None:  # the first beat starts the clock
            last[(player, body.resource_id)] = [body.seq, now, 0.0, body.position_s]
            outcomes.append((0.0, 0.0, studied.get((player, course), 0.0), False))
        elif body.seq <= state[0]:  # a replay changes nothing
            outcomes.append((0.0, state[2], studied.get((player, course), 0.0), True))
        else:
            advanced, span = body.position_s - state[3], (now - state[1]).total_seconds()
            credit = 0.0
            if body.elapsed_s > 0 and 0 < advanced <= rate * span + 1.0:
                since = max(state[1], clocks.get(player, state[1]))
                lo, hi = max(since, rules.rule(course).opens_at, rules.start_at), min(now, rules.end_at)
                wall = max(0.0, (hi - lo).total_seconds())
                left = multiple * resource.duration_s - state[2]
                credit = max(0.0, min(body.elapsed_s, wall, advanced, left))
            if credit <= 0 and now >= rules.end_at:
                outcomes.append(("refused", 403))  # window_closed
                continue
            state[:] = [body.seq, now, state[2] + credit, body.position_s]
            if credit > 0:
                clocks[player] = now
            studied[(player, course)] = studied.get((player, course), 0.0) + credit
            outcomes.append((credit, state[2], studied[(player, course)], False))
    return outcomes


def _outcome(result) -> tuple:
    if isinstance(result, ApiError):
        return ("refused", result.status)
    return (result.recorded_s, result.resource_watched_s, result.course_studied_s, result.replay) + (
        result.limited_by,
    )


def _checked(state, player_id: int, body: Heartbeat, now):
    """The committer job, or the refusal the route gives before any database work."""
    try:
        resource = check_heartbeat(state.catalogue, body, now)
        return BeatWrite(state.catalogue, resource, player_id, body, now, 0)
    except ApiError as refusal:
        return refusal


def _players(platform, n: int) -> list[int]:
    school = platform.school()
    ids = [platform.enrolled_teacher(school)["teacher_id"] for _ in range(n - 1)]
    ids.append(platform.register(school)["teacher_id"])  # the last one never enrolled: 403
    _revoke(platform.state, ids[4])
    return ids


def _revoke(state, teacher_id: int) -> None:
    with state.db.session() as session:
        session.execute(update(Teacher).where(Teacher.id == teacher_id).values(token_version=1))


def _tables(state, teacher_ids: list[int]) -> list:
    with state.db.session(write=False) as session:
        rows = session.execute(
            select(ResourceProgress.resource_id, ResourceProgress.watched_s)
            .add_columns(ResourceProgress.position_s, ResourceProgress.last_seq)
            .add_columns(ResourceProgress.last_beat_at, ResourceProgress.teacher_id)
        ).all()
        courses = session.execute(
            select(CourseProgress.teacher_id, CourseProgress.course_id, CourseProgress.studied_s)
        ).all()
        clocks = session.execute(select(Teacher.id, Teacher.study_clock_at)).all()
    rank = {t: i for i, t in enumerate(teacher_ids)}
    return (
        sorted((rank[r[-1]], *r[:-1]) for r in rows if r[-1] in rank)
        + sorted((rank[t], c, pytest.approx(s, rel=1e-12)) for t, c, s in courses if t in rank)
        + sorted((rank[t], at) for t, at in clocks if t in rank)
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_answers_and_writes_as_beats_one_by_one(app, platform, seed):
    state = app.state.yanxiu
    one_by_one, batched = _players(platform, PLAYERS), _players(platform, PLAYERS)
    durations = {r: state.catalogue.resources[r].duration_s for r in RESOURCES}
    beats = _beats(seed, PLAYERS, 200, durations)

    expected = []
    for player, body, now in beats:
        with state.db.writer() as session:
            try:
                expected.append(
                    _outcome(record_heartbeat(session, state.catalogue, one_by_one[player], body, now, 0))
                )
            except ApiError as refusal:
                expected.append(_outcome(refusal))

    got, rng, start = [], random.Random(seed), 0
    while start < len(beats):
        chunk = beats[start : start + rng.randint(1, 24)]
        start += len(chunk)
        with state.db.writer() as session:
            jobs = [_checked(state, batched[p], b, now) for p, b, now in chunk]
            writes = [j for j in jobs if isinstance(j, BeatWrite)]
            written = iter(apply_heartbeats(session, writes) if writes else [])
            got += [_outcome(j if isinstance(j, ApiError) else next(written)) for j in jobs]
            session.commit()

    assert [o[:4] for o in expected] == _rules(state.catalogue, beats)
    assert got == expected
    replays = sum(1 for o in got if o[0] != "refused" and o[3])
    credited = sum(1 for o in got if o[0] != "refused" and o[0] > 0)
    limits = {o[4] for o in got if o[0] != "refused"}
    assert replays > 10 and credited > 20 and {o[1] for o in got if o[0] == "refused"} == {401, 403}
    assert {"wall_time", "position", "seek", "paused"} <= limits, sorted(map(str, limits))
    assert _tables(state, batched) == _tables(state, one_by_one)
