"""The spoofing cases of issue 14, tried over HTTP as a client would, on the winter-2023
campaign (its 1:59 video 1.3.4), on SQLite and PostgreSQL: nothing extra is credited."""

from __future__ import annotations

import pytest

from tests.conftest import WINTER
from tests.reference.conftest import SECRET

HEARTBEAT = "/api/v1/progress/heartbeat"


@pytest.fixture
def settings(database_url):
    from reference.settings import Settings

    return Settings(
        database_url=database_url, scenario=WINTER, secret=SECRET, argon2_time_cost=1, argon2_memory_kib=1024
    )


def _teacher(platform) -> dict:
    teacher = platform.register(platform.school())
    answer = platform.client.post("/api/v1/campaigns/winter-2023/enrol", headers=teacher["headers"])
    assert answer.status_code == 201, answer.text
    return teacher


def _beat(platform, teacher, resource_id, position_s, elapsed_s, seq) -> dict:
    body = {"resource_id": resource_id, "position_s": position_s, "elapsed_s": elapsed_s, "seq": seq}
    answer = platform.client.post(HEARTBEAT, headers=teacher["headers"], json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_1800_s_beat_on_a_1_59_video_credits_at_most_its_length(platform, clock):
    teacher = _teacher(platform)
    _beat(platform, teacher, "1.3.4", 0, 0, 1)
    clock.advance(40 * 60)  # 40 campaign minutes later
    spoof = _beat(platform, teacher, "1.3.4", 119, 1800, 2)
    assert spoof["recorded_s"] == 119 and spoof["limited_by"] == "position"
    assert spoof["resource_watched_s"] <= 119
    # Again at once, from the start to the end: a seek, nothing; the same position: paused.
    assert _beat(platform, teacher, "1.3.4", 0, 1800, 3)["recorded_s"] == 0
    assert _beat(platform, teacher, "1.3.4", 119, 1800, 4)["limited_by"] == "seek"
    clock.advance(3600)
    assert _beat(platform, teacher, "1.3.4", 119, 1800, 5)["limited_by"] == "paused"
    # Honest re-watches earn up to the stated multiple of the length, never more.
    multiple = platform.state.catalogue.rules.playback.max_credit_multiple
    for seq in range(6, 30, 2):
        _beat(platform, teacher, "1.3.4", 0, 0, seq)
        clock.advance(119)
        last = _beat(platform, teacher, "1.3.4", 119, 119, seq + 1)
    assert last["resource_watched_s"] == pytest.approx(multiple * 119)
    assert last["limited_by"] == "resource_length"


def test_four_videos_at_once_earn_the_real_time_once(platform, clock):
    teacher = _teacher(platform)
    videos = ["1.1", "1.2", "1.3.5", "3"]
    for video in videos:
        _beat(platform, teacher, video, 0, 0, 1)
    for tick in range(1, 28):  # nine minutes, each player beating every 20 s at 1x
        clock.advance(20)
        studied = [_beat(platform, teacher, v, 20 * tick, 20, tick + 1) for v in videos]
    assert studied[-1]["course_studied_s"] == pytest.approx(540)  # not 2,160
    page = platform.client.get("/api/v1/campaign", headers=teacher["headers"]).json()
    assert page["courses"][0]["studied_s"] == pytest.approx(540)


def test_retry_after_is_in_real_seconds_on_an_accelerated_clock(platform, clock):
    clock.rate = 144.0  # a load test's compressed replay: a campaign minute in 0.42 real s
    first = platform.client.post("/api/v1/sms/send", json={"mobile": "13700000009", "purpose": "register"})
    assert first.json()["retry_after_s"] == 1
    again = platform.client.post("/api/v1/sms/send", json={"mobile": "13700000009", "purpose": "register"})
    assert again.status_code == 429 and again.headers["Retry-After"] == "1"
    assert again.json()["retry_after_s"] == 1
