"""reference.services.heartbeat at the boundaries the batch tests do not reach, through the
service's own entry (record_heartbeat, the route's call), each rule stated again here:

- a beat after the window's end credits the study up to the end, however small (a credit of a
  second or less is still a credit, not a refusal); only a beat that credits nothing after the
  end is refused (403 window_closed);
- a beat for a resource the campaign does not have is 404.
"""

from __future__ import annotations

import datetime as dt

import pytest

from reference.errors import ApiError
from reference.schemas.progress import Heartbeat
from reference.services.heartbeat import apply_heartbeats, check_heartbeat
from tests.reference.conftest import START
from tests.reference.services.test_heartbeat_pinned import Player, stored


@pytest.fixture
def state(app):
    return app.state.yanxiu


@pytest.fixture
def player(state, platform) -> Player:
    return Player(state, platform.enrolled_teacher()["teacher_id"])


@pytest.mark.parametrize(("before_end", "played", "credited"), [
    (0.5, 1.0, 0.5),   # half a second before the end, a beat half a second after it
    (1.0, 1.0, 1.0),   # a beat of one second landing exactly on the end
    (0.25, 0.25, 0.25),
])
def test_a_credit_of_a_second_or_less_across_the_end_is_credited(state, player, before_end, played, credited):
    player.now = state.catalogue.rules.end_at - dt.timedelta(seconds=before_end)
    player.beat(0)
    result = player.beat(played)
    assert result.recorded_s == pytest.approx(credited)
    assert stored(state, player.teacher_id) == pytest.approx((credited, credited))
    with pytest.raises(ApiError) as refused:  # after that, nothing is left to credit
        player.beat(1.0)
    assert refused.value.status == 403 and refused.value.extra["reason"] == "window_closed"


def test_an_unknown_resource_is_not_found(state, player):
    body = Heartbeat(resource_id="no-such-video", position_s=0.0, elapsed_s=0, seq=1)
    with pytest.raises(ApiError) as refused:
        check_heartbeat(state.catalogue, body, player.now)
    assert refused.value.status == 404 and "no resource 'no-such-video'" in refused.value.detail


def test_one_study_clock_per_teacher(state, platform):
    """Two videos played at once by one teacher: the real time between two beats is credited
    once, to the first beat that claims it; the other play's claim of the same minute gets
    nothing, and the course total is the minute, not two."""
    teacher = platform.enrolled_teacher()["teacher_id"]
    first, second = Player(state, teacher, "1.1"), Player(state, teacher, "1.2")
    first.beat(0)
    second.beat(0)  # both plays start at the same instant
    assert first.beat(60).recorded_s == 60
    both = second.beat(60)  # the same minute, claimed again by the other play
    assert both.recorded_s == 0 and both.course_studied_s == 60
    assert stored(state, teacher) == (60, 60)  # 1.1's total; the course's
    # the next minute is the second play's to claim (its beat comes first)
    assert second.beat(60).recorded_s == 60
    assert first.beat(60).recorded_s == 0


# --- races a serial test can only stage (the batch's read made to miss another's write) -----


def test_a_first_beat_that_lost_the_race_is_applied_to_the_winners_row(state, player, monkeypatch):
    """Two first beats of one resource at once (PostgreSQL): the loser's insert meets the
    unique row and its beat is then applied to the winner's row, as a next beat would be."""
    from reference.services import heartbeat

    player.beat(0)  # the winner: the row exists, started at START
    read = heartbeat._read
    calls = []

    def read_missing_the_row_once(sql, cursor, campaign, writes):
        rows, studied, clocks = read(sql, cursor, campaign, writes)
        calls.append(len(rows))
        return ({} if len(calls) == 1 else rows), studied, clocks

    monkeypatch.setattr(heartbeat, "_read", read_missing_the_row_once)
    with state.db.writer() as session:
        (outcome,) = apply_heartbeats(session, [player.write(30)])
        session.commit()
    assert calls == [1, 1]  # the batch's read, then the re-read of the winner's row
    assert outcome.recorded_s == 30 and outcome.resource_watched_s == 30
    assert stored(state, player.teacher_id) == (30, 30)


def test_a_lost_race_counts_only_the_rows_changed_after_the_read(state, platform, monkeypatch):
    from reference.services import heartbeat

    teacher = platform.enrolled_teacher()["teacher_id"]
    first, second = Player(state, teacher, "1.1"), Player(state, teacher, "1.2")
    first.beat(0)
    second.beat(0)
    read = heartbeat._read

    def read_then_move_one_row(sql, cursor, campaign, writes):
        found = read(sql, cursor, campaign, writes)
        cursor.execute("UPDATE resource_progress SET last_seq = last_seq + 100 WHERE resource_id = '1.2'")
        return found

    monkeypatch.setattr(heartbeat, "_read", read_then_move_one_row)
    with state.db.writer() as session:
        with pytest.raises(heartbeat.LostRace) as lost:
            apply_heartbeats(session, [first.write(30), second.write(0)])
        session.rollback()
    assert "1 row(s) changed after they were read" in lost.value.detail  # of 2 written, 1 written over


def test_a_beat_write_is_a_frozen_slotted_record(state, player):
    import dataclasses

    write = player.write(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        write.now = START  # type: ignore[misc]
    assert not hasattr(write, "__dict__")
