"""reference/services/heartbeat.py pinned where a wrong program would still pass the batch
tests: tokens revoked in the middle of study, refusals raised (never returned), a beat exactly
at a resource's end, credits of a second or less, and the stored totals checked against honest
1x play stated here (every second played is a second credited, once)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from reference.errors import ApiError
from reference.models import CourseProgress, ResourceProgress, Teacher
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.services.heartbeat import BeatWrite, apply_heartbeats, check_heartbeat, record_heartbeat
from tests.reference.conftest import START

RESOURCE = "1.1"  # course 1, open at START


class Player:
    """One teacher's honest player on one resource, writing straight to the service."""

    def __init__(self, state, teacher_id: int, resource_id: str = RESOURCE) -> None:
        self.state, self.teacher_id, self.resource_id = state, teacher_id, resource_id
        self.seq, self.position, self.now = 0, 0.0, START

    def next(self, seconds: float, position: float | None = None) -> tuple[Heartbeat, dt.datetime]:
        """The beat after ``seconds`` more of 1x play (wall time and position advance alike)."""
        self.seq += 1
        self.now += dt.timedelta(seconds=seconds)
        self.position = self.position + seconds if position is None else position
        return Heartbeat(resource_id=self.resource_id, position_s=self.position, elapsed_s=seconds,
                         seq=self.seq), self.now

    def beat(self, seconds: float, version: int = 0, position: float | None = None) -> HeartbeatResult:
        body, now = self.next(seconds, position)
        with self.state.db.writer() as session:
            return record_heartbeat(session, self.state.catalogue, self.teacher_id, body, now, version)

    def write(self, seconds: float, version: int = 0) -> BeatWrite:
        body, now = self.next(seconds)
        catalogue = self.state.catalogue
        resource = check_heartbeat(catalogue, body, now)
        return BeatWrite(catalogue, resource, self.teacher_id, body, now, version)


def stored(state, teacher_id: int) -> tuple[float, float]:
    """(resource watched_s, course 1 studied_s) as the tables have them."""
    with state.db.session(write=False) as session:
        watched = session.scalar(select(ResourceProgress.watched_s).where(
            ResourceProgress.teacher_id == teacher_id, ResourceProgress.resource_id == RESOURCE))
        studied = session.scalar(select(CourseProgress.studied_s).where(
            CourseProgress.teacher_id == teacher_id, CourseProgress.course_id == 1))
    return watched, studied


def revoke(state, teacher_id: int) -> None:
    with state.db.session() as session:
        session.execute(update(Teacher).where(Teacher.id == teacher_id).values(token_version=1))


@pytest.fixture
def state(app):
    return app.state.yanxiu


@pytest.fixture
def player(state, platform) -> Player:
    return Player(state, platform.enrolled_teacher()["teacher_id"])


def test_a_token_revoked_mid_study_stops_crediting_at_once(state, player):
    assert player.beat(0).recorded_s == 0  # the first beat starts the clock
    assert player.beat(60).recorded_s == 60
    revoke(state, player.teacher_id)
    with pytest.raises(ApiError) as refused:
        player.beat(60)
    assert refused.value.status == 401
    assert stored(state, player.teacher_id) == (60, 60)
    # a token issued after the revocation goes on crediting
    assert player.beat(30, version=1).recorded_s == 30
    assert stored(state, player.teacher_id) == (90, 90)


def test_a_batch_refuses_the_revoked_token_and_credits_the_new_one(state, player):
    player.beat(0)
    player.beat(60)
    revoke(state, player.teacher_id)
    old, new = player.write(30, version=0), player.write(30, version=1)
    with state.db.writer() as session:
        first, second = apply_heartbeats(session, [old, new])
        session.commit()
    assert isinstance(first, ApiError) and first.status == 401
    assert isinstance(second, HeartbeatResult) and second.recorded_s == 30
    assert stored(state, player.teacher_id) == (90, 90)


def test_a_revoked_token_cannot_start_a_resource(state, player):
    revoke(state, player.teacher_id)
    with pytest.raises(ApiError) as refused:
        player.beat(0)
    assert refused.value.status == 401
    assert stored(state, player.teacher_id) == (None, 0)


def test_refusals_are_raised_not_returned(state, platform):
    stranger = Player(state, platform.register(platform.school())["teacher_id"])  # never enrolled
    with pytest.raises(ApiError) as refused:
        stranger.beat(0)
    assert refused.value.status == 403
    enrolled = Player(state, platform.enrolled_teacher()["teacher_id"])
    assert isinstance(enrolled.beat(0), HeartbeatResult)


def test_a_beat_exactly_at_the_end_counts_and_past_it_is_refused(state, player):
    duration = state.catalogue.resources[RESOURCE].duration_s
    player.beat(0, position=duration - 20)
    result = player.beat(20, position=duration)
    assert result.recorded_s == 20 and result.resource_watched_s == 20
    body = Heartbeat(resource_id=RESOURCE, position_s=duration + 0.001, elapsed_s=1, seq=99)
    with pytest.raises(ApiError) as refused:
        check_heartbeat(state.catalogue, body, player.now)
    assert refused.value.status == 422
    assert check_heartbeat(state.catalogue, body.model_copy(update={"position_s": duration}),
                           player.now).duration_s == duration


@pytest.mark.parametrize("seconds", [1.0, 0.5, 0.001])
def test_a_credit_of_a_second_or_less_is_kept(state, player, seconds):
    player.beat(0)
    result = player.beat(seconds)
    assert result.recorded_s == pytest.approx(seconds) and result.course_studied_s == pytest.approx(seconds)
    assert stored(state, player.teacher_id) == pytest.approx((seconds, seconds))
    with state.db.session(write=False) as session:  # the teacher's study clock moved to the beat
        clock = session.scalar(select(Teacher.study_clock_at).where(Teacher.id == player.teacher_id))
    assert clock is not None


def test_honest_play_is_credited_second_for_second(state, platform):
    """Two resources of course 1 played one after the other at 1x, beats of varied length:
    the course total is every second played, the resource totals each its own."""
    teacher = platform.enrolled_teacher()["teacher_id"]
    first = Player(state, teacher, "1.1")
    plays = [0, 60, 0.5, 240, 1, 30]
    results = [first.beat(s) for s in plays]
    assert [r.recorded_s for r in results] == pytest.approx(plays)
    second = Player(state, teacher, "1.2")
    second.now = first.now
    for s in [0, 45, 15]:
        last = second.beat(s)
    assert last.resource_watched_s == 60
    assert last.course_studied_s == pytest.approx(sum(plays) + 60)
    with state.db.session(write=False) as session:
        watched = dict(session.execute(select(ResourceProgress.resource_id, ResourceProgress.watched_s)
                                       .where(ResourceProgress.teacher_id == teacher)).all())
        studied = session.scalar(select(CourseProgress.studied_s).where(
            CourseProgress.teacher_id == teacher, CourseProgress.course_id == 1))
    assert watched == pytest.approx({"1.1": sum(plays), "1.2": 60})
    assert studied == pytest.approx(sum(plays) + 60)


def test_a_replay_changes_nothing(state, player):
    player.beat(0)
    player.beat(60)
    player.seq -= 1  # the same sequence number again
    result = player.beat(60)
    assert result.replay and result.recorded_s == 0 and result.resource_watched_s == 60
    assert result.course_studied_s == 60
    assert stored(state, player.teacher_id) == (60, 60)


def test_several_beats_of_one_resource_in_one_batch_chain(state, player):
    player.beat(0)
    writes = [player.write(10), player.write(20), player.write(30)]
    with state.db.writer() as session:
        results = apply_heartbeats(session, writes)
        session.commit()
    assert [r.recorded_s for r in results] == [10, 20, 30]
    assert [r.resource_watched_s for r in results] == [10, 30, 60]
    assert [r.course_studied_s for r in results] == [10, 30, 60]
    assert stored(state, player.teacher_id) == (60, 60)


def test_a_zero_credit_beat_does_not_move_the_study_clock(state, platform):
    """One study clock per teacher: only a credit moves it. A paused beat of another play in
    between must not eat into this play's wall time."""
    teacher = platform.enrolled_teacher()["teacher_id"]
    a, b = Player(state, teacher, "1.1"), Player(state, teacher, "1.2")
    a.beat(0)
    assert a.beat(60).recorded_s == 60  # the clock is at +60
    b.now = a.now
    b.beat(0)  # starts b's clock at +60
    paused = b.beat(30, position=0.0)  # +90, no advance: nothing
    assert paused.recorded_s == 0 and paused.limited_by == "paused"
    # at +120 a claims 60 s played: 60 s since its last beat and since the clock (b's paused
    # beat at +90 moved nothing)
    body = Heartbeat(resource_id="1.1", position_s=a.position + 60, elapsed_s=60, seq=a.seq + 1)
    with state.db.writer() as session:
        at_120 = b.now + dt.timedelta(seconds=30)
        result = record_heartbeat(session, state.catalogue, teacher, body, at_120, 0)
    assert result.recorded_s == 60


def test_the_window_end(state, player):
    rules = state.catalogue.rules
    player.now = rules.end_at - dt.timedelta(seconds=30)
    player.beat(0)
    # a beat after the end is still credited the study up to the end, once
    assert player.beat(40).recorded_s == 30
    with pytest.raises(ApiError) as refused:
        player.beat(10)
    assert refused.value.status == 403 and refused.value.extra["reason"] == "window_closed"


def test_a_first_beat_at_the_end_is_refused(state, player):
    player.now = state.catalogue.rules.end_at
    with pytest.raises(ApiError) as refused:
        player.beat(0)
    assert refused.value.status == 403 and refused.value.extra["reason"] == "window_closed"
    assert stored(state, player.teacher_id) == (None, 0)


def test_a_paused_beat_at_the_end_is_refused(state, player):
    player.now = state.catalogue.rules.end_at - dt.timedelta(seconds=30)
    player.beat(0)
    with pytest.raises(ApiError) as refused:
        player.beat(30, position=player.position)  # exactly at the end, no advance: nothing
    assert refused.value.status == 403


def test_a_course_not_open_yet_is_refused_with_its_opening(state):
    opens = state.catalogue.rules.rule(2).opens_at
    body = Heartbeat(resource_id="2.1", position_s=0.0, elapsed_s=0, seq=1)
    with pytest.raises(ApiError) as refused:
        check_heartbeat(state.catalogue, body, opens - dt.timedelta(seconds=1))
    assert refused.value.status == 403 and refused.value.extra["reason"] == "course_not_open"
    assert refused.value.extra["opens_at"] == opens.isoformat()
    assert check_heartbeat(state.catalogue, body, opens).course_id == 2


def test_before_the_window_is_refused_as_closed(state):
    start = state.catalogue.rules.start_at
    body = Heartbeat(resource_id=RESOURCE, position_s=0.0, elapsed_s=0, seq=1)
    with pytest.raises(ApiError) as refused:
        check_heartbeat(state.catalogue, body, start - dt.timedelta(seconds=1))
    assert refused.value.extra["reason"] == "window_closed"
    assert check_heartbeat(state.catalogue, body, start).id == RESOURCE


def test_in_lists_are_padded_to_the_next_power_of_two():
    from reference.services.heartbeat_sql import padded

    assert [padded(n) for n in range(1, 10)] == [1, 2, 4, 4, 8, 8, 8, 8, 16]


def test_a_row_changed_between_read_and_write_fails_the_batch(state, player, monkeypatch):
    """The update is compare-and-set on last_seq: a row another transaction moved after the
    batch read it fails the batch with 409 (the committer then replays its jobs)."""
    from reference.services import heartbeat

    player.beat(0)
    read = heartbeat._read

    def read_then_interfere(sql, cursor, campaign, writes):
        found = read(sql, cursor, campaign, writes)
        cursor.execute("UPDATE resource_progress SET last_seq = last_seq + 100")
        return found

    monkeypatch.setattr(heartbeat, "_read", read_then_interfere)
    with state.db.writer() as session:
        with pytest.raises(heartbeat.LostRace) as lost:
            apply_heartbeats(session, [player.write(30)])
        session.rollback()
    assert lost.value.status == 409 and lost.value.extra["retry_after_s"] == 1
    assert "1 row(s) changed after they were read" in lost.value.detail
