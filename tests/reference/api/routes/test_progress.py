"""Heartbeat anti-spoofing: the server clock, not the client, decides what is credited."""

from __future__ import annotations

import datetime as dt
import threading

from tests.reference.conftest import ZONE


def test_credit_is_capped_by_real_elapsed_time(platform, clock):
    teacher = platform.enrolled_teacher()
    assert platform.beat(teacher, "1.1", 0, 0).json()["recorded_s"] == 0  # starts the clock
    clock.advance(20)
    claimed = platform.beat(teacher, "1.1", 1, 600, position_s=30).json()
    assert (claimed["recorded_s"], claimed["limited_by"]) == (20, "wall_time")
    clock.advance(300)
    honest = platform.beat(teacher, "1.1", 2, 250, position_s=330).json()
    assert honest["recorded_s"] == 250 and honest["limited_by"] is None  # less than elapsed: the claim
    assert honest["course_studied_s"] == 270 and honest["resource_watched_s"] == 270


def test_replayed_and_old_sequence_numbers_change_nothing(platform, clock):
    teacher = platform.enrolled_teacher()
    platform.beat(teacher, "1.1", 5, 0)
    clock.advance(60)
    first = platform.beat(teacher, "1.1", 6, 60).json()
    clock.advance(60)
    for seq in (6, 6, 3, 0):
        again = platform.beat(teacher, "1.1", seq, 60, position_s=120).json()
        assert again["recorded_s"] == 0 and again["replay"]
        assert again["course_studied_s"] == first["course_studied_s"] == 60
    # The replays did not move the clock either: the next real beat gets the whole 60 s.
    assert platform.beat(teacher, "1.1", 7, 600, position_s=120).json()["recorded_s"] == 60


def test_a_course_not_yet_open_refuses_with_its_reason(platform, clock):
    teacher = platform.enrolled_teacher()
    clock.set(dt.datetime(2023, 1, 4, 23, 50, tzinfo=ZONE))  # course 2 opens 2023-01-05
    early = platform.beat(teacher, "2.1", 0, 0)
    assert early.status_code == 403
    assert early.json()["reason"] == "course_not_open"
    assert early.json()["opens_at"].startswith("2023-01-05T00:00")
    clock.advance(600)  # 00:00 on the opening day: the play starts now
    assert platform.beat(teacher, "2.1", 1, 0).json()["recorded_s"] == 0
    clock.advance(300)
    assert platform.beat(teacher, "2.1", 2, 300).json()["recorded_s"] == 300


def test_after_the_window_the_last_stretch_counts_then_refusals_say_why(platform, clock):
    teacher = platform.enrolled_teacher()
    clock.set(dt.datetime(2023, 1, 12, 23, 58, tzinfo=ZONE))  # the window ends 2023-01-13 00:00
    platform.beat(teacher, "1.1", 0, 0)
    clock.advance(600)
    assert platform.beat(teacher, "1.1", 1, 600).json()["recorded_s"] == 120
    clock.advance(60)
    late = platform.beat(teacher, "1.1", 2, 60)
    assert late.status_code == 403 and late.json()["reason"] == "window_closed"
    assert late.json()["window_end"].startswith("2023-01-13T00:00")
    assert platform.beat(teacher, "1.2", 0, 0).json()["reason"] == "window_closed"  # a new play


def test_plays_open_at_once_share_one_study_clock(platform, clock):
    teacher = platform.enrolled_teacher()
    platform.beat(teacher, "1.1", 0, 0)
    clock.advance(100)
    platform.beat(teacher, "1.2", 0, 0)  # a second player starts: no credit for 1.1's time
    clock.advance(50)
    assert platform.beat(teacher, "1.2", 1, 50).json()["recorded_s"] == 50
    # 1.1 played 150 s, but the teacher's clock already stands at now: nothing more.
    both = platform.beat(teacher, "1.1", 1, 150).json()
    assert (both["recorded_s"], both["limited_by"]) == (0, "wall_time")
    assert both["course_studied_s"] == 50
    clock.advance(20)  # from here on 1.1 alone plays: it earns its time again
    assert platform.beat(teacher, "1.1", 2, 20).json()["recorded_s"] == 20


MALFORMED = [
    {"resource_id": "1.1", "position_s": 911, "elapsed_s": 10, "seq": 1},  # beyond 15:10
    {"resource_id": "1.1", "position_s": -1, "elapsed_s": 10, "seq": 1},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": -5, "seq": 1},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": 1e300, "seq": 1},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": 10, "seq": 2**40},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": 10, "seq": -1},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": 10},
    {"resource_id": "1.1", "position_s": "NaN", "elapsed_s": 10, "seq": 1},
    {"resource_id": "1.1", "position_s": 0, "elapsed_s": 10, "seq": 1, "extra": 1},
    {"resource_id": "../etc", "position_s": 0, "elapsed_s": 10, "seq": 1},
]


def test_malformed_heartbeats_are_refused(platform, client):
    teacher = platform.enrolled_teacher()
    for body in MALFORMED:
        answer = client.post("/api/v1/progress/heartbeat", headers=teacher["headers"], json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"]
    assert platform.beat(teacher, "1.1", 0, 0).json()["course_studied_s"] == 0  # nothing stuck


def test_a_refusal_names_the_field_as_fastapi_does(platform, client):
    teacher = platform.enrolled_teacher()
    body = {"resource_id": "1.1", "position_s": 0, "elapsed_s": -5, "seq": 1}
    answer = client.post("/api/v1/progress/heartbeat", headers=teacher["headers"], json=body)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "elapsed_s"]]
    answer = client.post("/api/v1/progress/heartbeat", headers=teacher["headers"], content=b"\xff{")
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "json_invalid"
    schema = client.get("/openapi.json").json()["paths"]["/api/v1/progress/heartbeat"]["post"]
    assert schema["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "resource_id", "position_s", "elapsed_s", "seq"
    ]


def test_nan_literal_is_refused(platform, client):
    teacher = platform.enrolled_teacher()
    raw = '{"resource_id": "1.1", "position_s": NaN, "elapsed_s": Infinity, "seq": 1}'
    answer = client.post(
        "/api/v1/progress/heartbeat",
        content=raw,
        headers={**teacher["headers"], "Content-Type": "application/json"},
    )
    assert answer.status_code == 422


def test_unknown_resource_and_not_enrolled(platform):
    teacher = platform.enrolled_teacher()
    assert platform.beat(teacher, "9.9", 0, 0).status_code == 404
    outsider = platform.register(platform.school())
    assert platform.beat(outsider, "1.1", 0, 0).status_code == 403


def test_concurrent_beats_credit_an_interval_once(app, platform, clock):
    """Many workers receiving beats of one player at once must not double-count."""
    from reference.schemas.progress import Heartbeat
    from reference.services.heartbeat import record_heartbeat

    teacher = platform.enrolled_teacher()
    platform.beat(teacher, "1.1", 0, 0)
    clock.advance(60)
    state = app.state.yanxiu
    results, barrier = [], threading.Barrier(6)

    def beat(seq: int) -> None:
        with state.db.writer() as session:
            barrier.wait()
            body = Heartbeat(resource_id="1.1", position_s=60, elapsed_s=600, seq=seq)
            results.append(
                record_heartbeat(
                    session, state.catalogue, teacher["teacher_id"], body, clock.now(), 0
                ).recorded_s
            )

    threads = [threading.Thread(target=beat, args=(1 + i % 3,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 60
    page = platform.client.get("/api/v1/campaign", headers=teacher["headers"]).json()
    assert page["courses"][0]["studied_s"] == 60
