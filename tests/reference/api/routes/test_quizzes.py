from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.reference.api.routes.test_campaign import study
from tests.reference.conftest import ZONE


def answers(app, course_id):
    from reference.models import Question

    with app.state.yanxiu.db.session(write=False) as session:
        rows = session.execute(
            select(Question.id, Question.answer).where(Question.course_id == course_id)
        ).all()
    return {str(qid): answer for qid, answer in rows}


def test_locked_until_minimum_study_then_full_marks_pass(app, client, platform, clock):
    teacher = platform.enrolled_teacher()
    h = teacher["headers"]
    study(platform, clock, teacher, "1.1", 2400)
    assert client.get("/api/v1/tests/1", headers=h).status_code == 403
    study(platform, clock, teacher, "1.2", 300)  # 45 min in all
    paper = client.get("/api/v1/tests/1", headers=h)
    assert paper.status_code == 200
    questions = paper.json()["questions"]
    assert len(questions) == 10 and set(questions[0]) == {"id", "text", "choices"}
    right = answers(app, 1)
    wrong = {**right, next(iter(right)): (right[next(iter(right))] + 1) % 4}
    first = client.post("/api/v1/tests/1/attempts", headers=h, json={"answers": wrong}).json()
    assert first == {
        "attempt": 1,
        "correct": 9,
        "questions": 10,
        "passed": False,
        "credited_hours": 0.0,
    }
    second = client.post("/api/v1/tests/1/attempts", headers=h, json={"answers": right}).json()
    assert second["passed"] and second["attempt"] == 2 and second["credited_hours"] == 1.0
    page = client.get("/api/v1/campaign", headers=h).json()
    assert page["credited_hours"] == 1.0
    assert page["courses"][0]["test"] == {"unlocked": True, "passed": True, "attempts": 2}


def test_bad_submissions(app, client, platform, clock):
    teacher = platform.enrolled_teacher()
    h = teacher["headers"]
    study(platform, clock, teacher, "1.1", 2700)
    right = answers(app, 1)
    other_course = next(iter(answers(app, 2)))
    assert (
        client.post(
            "/api/v1/tests/1/attempts", headers=h, json={"answers": {other_course: 0}}
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/tests/1/attempts", headers=h, json={"answers": {next(iter(right)): 7}}
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/tests/1/attempts", headers=h, json={"answers": {"abc": 0}}).status_code
        == 422
    )
    assert (
        client.post("/api/v1/tests/99/attempts", headers=h, json={"answers": right}).status_code
        == 404
    )
    assert client.get("/api/v1/tests/0", headers=h).status_code == 422
    assert client.get(f"/api/v1/tests/{10**20}", headers=h).status_code == 422
    clock.set(dt.datetime(2023, 1, 13, 0, 1, tzinfo=ZONE))  # window over
    closed = client.post("/api/v1/tests/1/attempts", headers=h, json={"answers": right})
    assert closed.status_code == 403


def test_unenrolled_teacher_cannot_fetch(client, platform):
    teacher = platform.register(platform.school())
    assert client.get("/api/v1/tests/1", headers=teacher["headers"]).status_code == 403
