"""reference.services.heartbeat with several campaigns (a platform scenario), through the
service's entry (apply_heartbeats, the committer's call), the rule stated again here:

- each beat of a batch mixing campaigns gets its own answer, in the batch's order, and the
  tables end as if each had been written alone (honest 1x play credited second for second in
  the campaign the beat names);
- a beat on a resource two campaigns share also counts in the other campaign, when its course
  there is open and the teacher is enrolled there; on a resource only one campaign has it
  counts there alone.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from reference.models import CourseProgress
from reference.schemas.progress import Heartbeat
from reference.services.heartbeat import BeatWrite, apply_heartbeats, check_heartbeat
from tests.reference.conftest import SECRET, ZONE
from tests.reference.two_campaigns import SHARED, platform_files

BOTH_OPEN = dt.datetime(2023, 1, 6, 10, tzinfo=ZONE)  # smoke's course 2 opened 01-05, extra's 11 on 01-03


@pytest.fixture
def settings(database_url, tmp_path):
    from reference.settings import Settings

    return Settings(database_url=database_url, scenario=platform_files(tmp_path), secret=SECRET,
                    argon2_time_cost=1, argon2_memory_kib=1024)


class Play:
    """One teacher's honest 1x play of one resource in one campaign."""

    def __init__(self, state, teacher_id: int, campaign: str, resource: str) -> None:
        self.catalogue = state.campaigns.get(campaign)
        self.teacher_id, self.resource = teacher_id, resource
        self.seq, self.position, self.now = 0, 0.0, BOTH_OPEN

    def write(self, seconds: float) -> BeatWrite:
        self.seq += 1
        self.now += dt.timedelta(seconds=seconds)
        self.position += seconds
        body = Heartbeat(resource_id=self.resource, position_s=self.position, elapsed_s=seconds, seq=self.seq)
        return BeatWrite(self.catalogue, check_heartbeat(self.catalogue, body, self.now), self.teacher_id,
                         body, self.now, 0)


def batch(state, writes: list[BeatWrite]) -> list:
    with state.db.writer() as session:
        outcomes = apply_heartbeats(session, writes)
        session.commit()
    return outcomes


def studied(state, teacher_id: int) -> dict[tuple[str, int], float]:
    with state.db.session(write=False) as session:
        rows = session.execute(
            select(CourseProgress.campaign, CourseProgress.course_id, CourseProgress.studied_s)
            .where(CourseProgress.teacher_id == teacher_id)).all()
    return {(campaign, course): s for campaign, course, s in rows}


def teacher(client, platform, *campaigns: str) -> int:
    made = platform.register(platform.school())
    for name in campaigns:
        assert client.post(f"/api/v1/campaigns/{name}/enrol", headers=made["headers"]).status_code == 201
    return made["teacher_id"]


def test_a_batch_mixing_campaigns_answers_each_beat_in_order(app, client, platform):
    state = app.state.yanxiu
    a = Play(state, teacher(client, platform, "smoke"), "smoke", "1.1")
    b = Play(state, teacher(client, platform, "extra"), "extra", "x.1")
    assert [o.recorded_s for o in batch(state, [a.write(0), b.write(0)])] == [0, 0]
    outcomes = batch(state, [a.write(60), b.write(45), a.write(30), b.write(15)])
    assert [(o.recorded_s, o.course_studied_s) for o in outcomes] == [(60, 60), (45, 45), (30, 90), (15, 60)]
    assert studied(state, a.teacher_id) == {("smoke", 1): 90, ("smoke", 2): 0}
    assert studied(state, b.teacher_id) == {("extra", 11): 60}


def test_a_shared_resource_counts_in_both_campaigns_within_a_mixed_batch(app, client, platform):
    state = app.state.yanxiu
    both = teacher(client, platform, "smoke", "extra")
    only_smoke = teacher(client, platform, "smoke")
    plays = [Play(state, both, "smoke", SHARED), Play(state, only_smoke, "smoke", SHARED),
             Play(state, teacher(client, platform, "extra"), "extra", "x.1")]
    batch(state, [p.write(0) for p in plays])
    outcomes = batch(state, [plays[2].write(20), plays[0].write(100), plays[1].write(50), plays[0].write(25)])
    assert [o.recorded_s for o in outcomes] == [20, 100, 50, 25]
    assert [o.course_studied_s for o in outcomes] == [20, 100, 50, 125]
    # the teacher enrolled in both: the same 125 s in smoke's course 2 and extra's course 11
    assert studied(state, both) == {("smoke", 1): 0, ("smoke", 2): 125, ("extra", 11): 125}
    # not enrolled in extra: nothing there, nothing anywhere else
    assert studied(state, only_smoke) == {("smoke", 1): 0, ("smoke", 2): 50}


def test_a_resource_only_one_campaign_has_counts_there_alone(app, client, platform):
    state = app.state.yanxiu
    both = teacher(client, platform, "smoke", "extra")
    play = Play(state, both, "smoke", "2.2")
    batch(state, [play.write(0)])
    (outcome,) = batch(state, [play.write(40)])
    assert outcome.recorded_s == 40
    assert studied(state, both) == {("smoke", 1): 0, ("smoke", 2): 40, ("extra", 11): 0}


def test_runs_of_one_campaign_in_a_mixed_batch_keep_their_order(app, client, platform):
    state = app.state.yanxiu
    a = Play(state, teacher(client, platform, "smoke"), "smoke", "1.1")
    b = Play(state, teacher(client, platform, "extra"), "extra", "x.1")
    batch(state, [a.write(0), b.write(0)])
    writes = [a.write(60), a.write(30), b.write(45), a.write(10), b.write(15), a.write(5)]
    outcomes = batch(state, writes)
    assert [(o.recorded_s, o.course_studied_s) for o in outcomes] == [
        (60, 60), (30, 90), (45, 45), (10, 100), (15, 60), (5, 105)]
    assert studied(state, a.teacher_id) == {("smoke", 1): 105, ("smoke", 2): 0}
    assert studied(state, b.teacher_id) == {("extra", 11): 60}
