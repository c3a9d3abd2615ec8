"""Several campaigns on one server (a platform scenario): each its own campaign page, progress
and certificate; one heartbeat on a shared resource credits every campaign whose rules
record it, and only those. The rule is stated again here, from the dates of the scenario
files (tests/reference/two_campaigns.py), not through domain.campaign.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.reference.conftest import SECRET, ZONE
from tests.reference.two_campaigns import SHARED, platform_files

SMOKE_COURSE_2_OPENS = dt.datetime(2023, 1, 5, tzinfo=ZONE)
SMOKE_ENDS = dt.datetime(2023, 1, 13, tzinfo=ZONE)
EXTRA_OPENS = dt.datetime(2023, 1, 3, tzinfo=ZONE)
EXTRA_ENDS = dt.datetime(2023, 1, 20, tzinfo=ZONE)


def expected_share(credit: float, since: dt.datetime, until: dt.datetime, opens: dt.datetime,
                   ends: dt.datetime) -> float:
    """What the other campaign records of ``credit`` seconds played between two instants: no
    more than the credit, no more than the part of the span its course was open."""
    open_s = (min(until, ends) - max(since, opens)).total_seconds()
    return max(0.0, min(credit, open_s))


@pytest.fixture
def settings(database_url, tmp_path):
    from reference.settings import Settings

    return Settings(database_url=database_url, scenario=platform_files(tmp_path), secret=SECRET,
                    argon2_time_cost=1, argon2_memory_kib=1024)


class Player:
    """One teacher's honest plays over HTTP (1x), each in the campaign it names."""

    def __init__(self, client, clock, teacher: dict) -> None:
        self.client, self.clock, self.headers = client, clock, teacher["headers"]
        self.seq = 0
        self.positions: dict[tuple[str, str], float] = {}

    def beat(self, campaign: str, resource: str, elapsed: float):
        self.seq += 1
        key = (campaign, resource)
        self.positions[key] = self.positions.get(key, 0.0) + elapsed
        return self.client.post("/api/v1/progress/heartbeat", headers=self.headers, json={
            "resource_id": resource, "position_s": self.positions[key], "elapsed_s": elapsed,
            "seq": self.seq, "campaign": campaign})

    def play(self, campaign: str, resource: str, seconds: float) -> dict:
        """A beat that (re)starts the play's clock, ``seconds`` of play, the beat that reports it."""
        assert self.beat(campaign, resource, 0).status_code == 200
        self.clock.advance(seconds)
        answer = self.beat(campaign, resource, seconds)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def studied(self, campaign: str) -> dict[int, float]:
        page = self.client.get("/api/v1/campaign", params={"campaign": campaign}, headers=self.headers)
        assert page.status_code == 200, page.text
        return {c["id"]: c["studied_s"] for c in page.json()["courses"]}


def _teacher(client, platform, *campaigns: str) -> dict:
    teacher = platform.register(platform.school())
    for name in campaigns:
        answer = client.post(f"/api/v1/campaigns/{name}/enrol", headers=teacher["headers"])
        assert answer.status_code == 201, answer.text
    return teacher


def test_one_beat_credits_both_campaigns_only_where_their_rules_record_it(client, clock, platform):
    player = Player(client, clock, _teacher(client, platform, "smoke", "extra"))
    # 2023-01-04: smoke's course 2 is not open yet; extra's course 11 is
    answer = player.play("extra", SHARED, 600)
    assert answer["recorded_s"] == 600
    assert player.studied("extra")[11] == 600 and player.studied("smoke")[2] == 0
    # a play across smoke's opening at midnight: extra records all of it, smoke the part after
    clock.set(dt.datetime(2023, 1, 4, 23, 55, tzinfo=ZONE))
    since = clock.now()
    answer = player.play("extra", SHARED, 600)
    share = expected_share(600, since, clock.now(), SMOKE_COURSE_2_OPENS, SMOKE_ENDS)
    assert share == 300
    assert player.studied("extra")[11] == 1200 and player.studied("smoke")[2] == share
    # 2023-01-06, both open: a play in smoke counts in extra too, in full
    clock.set(dt.datetime(2023, 1, 6, 10, tzinfo=ZONE))
    since = clock.now()
    answer = player.play("smoke", SHARED, 900)
    assert answer["recorded_s"] == 900 and answer["course_studied_s"] == 300 + 900
    assert expected_share(900, since, clock.now(), EXTRA_OPENS, EXTRA_ENDS) == 900
    assert player.studied("extra")[11] == 1200 + 900
    # a resource only extra has: nothing in smoke
    player.play("extra", "x.1", 300)
    assert player.studied("extra")[11] == 1200 + 900 + 300 and player.studied("smoke")[2] == 1200
    # 2023-01-15, smoke's window is closed: study in extra counts in extra only
    clock.set(dt.datetime(2023, 1, 15, 10, tzinfo=ZONE))
    since = clock.now()
    assert player.play("extra", SHARED, 400)["recorded_s"] == 400
    assert expected_share(400, since, clock.now(), SMOKE_COURSE_2_OPENS, SMOKE_ENDS) == 0
    assert player.studied("extra")[11] == 2800 and player.studied("smoke")[2] == 1200


def test_not_enrolled_in_the_other_campaign_nothing_counts_there(client, clock, platform):
    teacher = _teacher(client, platform, "extra")
    player = Player(client, clock, teacher)
    clock.set(dt.datetime(2023, 1, 6, 10, tzinfo=ZONE))
    assert player.play("extra", SHARED, 600)["recorded_s"] == 600
    # enrolling in smoke afterwards starts from nothing: the shared seconds were not recorded
    assert client.post("/api/v1/campaigns/smoke/enrol", headers=teacher["headers"]).status_code == 201
    assert player.studied("smoke")[2] == 0 and player.studied("extra")[11] == 600
    # a play in a campaign the teacher is not enrolled in is refused, as on one campaign
    other = Player(client, clock, _teacher(client, platform, "extra"))
    assert other.beat("smoke", SHARED, 0).status_code == 403


def test_each_campaign_its_own_page_certificate_and_refusals(app, client, clock, platform):
    from reference.models import Certificate

    teacher = _teacher(client, platform, "smoke", "extra")
    h = teacher["headers"]
    default = client.get("/api/v1/campaign", headers=h).json()
    assert default["campaign"] == "smoke" and [c["id"] for c in default["courses"]] == [1, 2]
    extra = client.get("/api/v1/campaign", params={"campaign": "extra"}, headers=h).json()
    assert extra["campaign"] == "extra" and [c["id"] for c in extra["courses"]] == [11]
    assert extra["end"].startswith("2023-01-20")
    for refused in (client.get("/api/v1/campaign", params={"campaign": "nope"}, headers=h),
                    client.post("/api/v1/campaigns/nope/enrol", headers=h),
                    client.get("/api/v1/certificate", params={"campaign": "nope"}, headers=h),
                    Player(client, clock, teacher).beat("nope", SHARED, 0)):
        assert refused.status_code == 404 and "\n" not in refused.json()["detail"]
    assert client.get("/healthz").json()["campaigns"] == ["smoke", "extra"]
    # tests follow their course's campaign: course 11 is extra's
    assert client.get("/api/v1/tests/11", headers=h).status_code == 403  # locked: not studied yet
    with app.state.yanxiu.db.session() as session:
        session.add(Certificate(teacher_id=teacher["teacher_id"], campaign="extra", serial="EXTRA-1",
                                credited_hours=1.0, issued_at=dt.datetime(2023, 1, 21, 9, tzinfo=ZONE)))
    certificate = client.get("/api/v1/certificate", params={"campaign": "extra"}, headers=h)
    assert certificate.json()["serial"] == "EXTRA-1"
    assert client.get("/api/v1/certificate", headers=h).status_code == 404  # none in smoke


def test_a_beat_naming_no_campaign_plays_in_the_first_that_has_the_resource(client, clock, platform):
    player = Player(client, clock, _teacher(client, platform, "smoke", "extra"))
    clock.set(dt.datetime(2023, 1, 6, 10, tzinfo=ZONE))
    for elapsed in (0, 600):
        clock.advance(elapsed)
        player.seq += 1
        answer = client.post("/api/v1/progress/heartbeat", headers=player.headers, json={
            "resource_id": "x.1", "position_s": elapsed, "elapsed_s": elapsed, "seq": player.seq})
        assert answer.status_code == 200, answer.text
    assert player.studied("extra")[11] == 600  # x.1 is extra's only
    # the campaign in the query string (a load test's route map) does as in the body
    beat = "/api/v1/progress/heartbeat"
    for elapsed in (0, 300):
        clock.advance(elapsed)
        player.seq += 1
        answer = client.post(beat, params={"campaign": "smoke"}, headers=player.headers,
                             json={"resource_id": SHARED, "position_s": elapsed, "elapsed_s": elapsed,
                                   "seq": player.seq})
        assert answer.status_code == 200, answer.text
    assert player.studied("smoke")[2] == 300 and player.studied("extra")[11] == 900
    refused = client.post(beat, params={"campaign": "x" * 500}, headers=player.headers,
                          json={"resource_id": SHARED, "position_s": 0, "elapsed_s": 0, "seq": 99})
    assert refused.status_code == 404 and len(refused.json()["detail"]) < 200
