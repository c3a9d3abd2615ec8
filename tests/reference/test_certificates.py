"""The certificate batch: only after its date, only completers (by the rules module), once."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import insert, select

from tests.conftest import SMOKE
from tests.reference.conftest import ZONE

BATCH = dt.datetime(2023, 1, 14, 9, 0, tzinfo=ZONE)  # smoke's rules.certificates_issued


def _study(platform, clock, teacher, resource_id, seconds):
    """Play the resource's course honestly (its resources in order, 1x) for ``seconds`` of
    campaign time; all of it is credited."""
    course = platform.state.catalogue.resources[resource_id].course_id
    assert platform.study(clock, teacher, course, seconds, step=seconds) == pytest.approx(seconds)


def _pass_test(platform, teacher, course_id):
    from reference.models import Question

    paper = platform.client.get(f"/api/v1/tests/{course_id}", headers=teacher["headers"])
    assert paper.status_code == 200, paper.text
    with platform.state.db.session(write=False) as session:
        key = dict(session.execute(select(Question.id, Question.answer)).all())
    answers = {str(q["id"]): key[q["id"]] for q in paper.json()["questions"]}
    marked = platform.client.post(
        f"/api/v1/tests/{course_id}/attempts", headers=teacher["headers"], json={"answers": answers}
    )
    assert marked.status_code == 200 and marked.json()["passed"], marked.text


def _batch(platform, now):
    from reference.certificates import issue_certificates

    return issue_certificates(platform.state.db, platform.state.catalogue, now)


def test_batch_issues_to_completers_only(platform, clock):
    from reference.certificates import CertificateError

    school = platform.school()
    done, partial, idle = (platform.enrolled_teacher(school) for _ in range(3))
    platform.register(school)  # never enrols
    for teacher in (done, partial):
        _study(platform, clock, teacher, "1.1", 2800)  # course 1 needs 45 min
        _pass_test(platform, teacher, 1)
    clock.set(dt.datetime(2023, 1, 5, 10, 0, tzinfo=ZONE))  # course 2 opens 2023-01-05
    _study(platform, clock, done, "2.1", 5500)  # course 2 needs 90 min
    _pass_test(platform, done, 2)

    with pytest.raises(CertificateError, match="issued from 2023-01-14T09:00"):
        _batch(platform, BATCH - dt.timedelta(minutes=1))
    before = platform.client.get("/api/v1/certificate", headers=done["headers"])
    assert before.status_code == 404

    report = _batch(platform, BATCH)
    assert (report.enrolled, report.completers, report.issued, report.already) == (3, 1, 1, 0)
    cert = platform.client.get("/api/v1/certificate", headers=done["headers"])
    assert cert.status_code == 200, cert.text
    assert cert.json()["credited_hours"] == 3
    assert cert.json()["teacher_id"] == done["teacher_id"]
    for other in (partial, idle):
        answer = platform.client.get("/api/v1/certificate", headers=other["headers"])
        assert answer.status_code == 404

    again = _batch(platform, BATCH + dt.timedelta(days=1))
    assert (again.issued, again.already) == (0, 1)


def test_batch_agrees_with_the_rules_module_at_scale(platform, monkeypatch):
    """Many teachers with random progress, streamed in small chunks: the batch certifies
    exactly those the rules module calls complete, with its credit hours."""
    from domain.campaign import CourseProgress as Progress
    from reference import certificates
    from reference.models import Certificate, CourseProgress, Enrolment, Teacher

    monkeypatch.setattr(certificates, "STREAM_ROWS", 7)
    state = platform.state
    rules, campaign = state.catalogue.rules, state.catalogue.name
    rng = np.random.default_rng(4)
    teachers = 120
    with state.db.session() as session:
        session.execute(
            insert(Teacher),
            [
                {
                    "mobile": f"1390000{i:04d}",
                    "password_hash": "x",
                    "real_name": "张伟",
                    "id_type": "resident_id",
                    "id_number": "11010519491231002X",
                    "sub_platform": "basic",
                    "school_id": None,
                    "province": "Shanxi",
                    "county": "c",
                    "role": "teacher",
                    "verified": False,
                    "created_at": BATCH,
                }
                for i in range(teachers)
            ],
        )
        ids = list(session.scalars(select(Teacher.id).order_by(Teacher.id)))
        session.execute(
            insert(Enrolment), [{"teacher_id": t, "campaign": campaign, "enrolled_at": BATCH} for t in ids]
        )
        rows, expected = [], {}
        for t in ids:
            progress = {}
            for course_id, rule in rules.courses.items():
                studied = float(rng.uniform(0.5, 1.5) * rule.min_study_s)
                passed = bool(rng.random() < 0.8)
                progress[course_id] = Progress(studied, passed)
                rows.append(
                    {
                        "teacher_id": t,
                        "campaign": campaign,
                        "course_id": course_id,
                        "studied_s": studied,
                        "attempts": 1,
                        "test_passed": passed,
                    }
                )
            if rules.is_complete(progress):
                expected[t] = rules.credited_hours(progress)
        session.execute(insert(CourseProgress), rows)
    report = _batch(platform, BATCH)
    assert 0 < report.issued == len(expected) < teachers
    with state.db.session(write=False) as session:
        got = dict(session.execute(select(Certificate.teacher_id, Certificate.credited_hours)).all())
        serials = list(session.scalars(select(Certificate.serial)))
    assert got == expected
    assert len(set(serials)) == len(serials)


def test_command_line(tmp_path, capsys):
    from yanxiu.cli import main

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    base = ["certificates", "--database-url", url, "--scenario", str(SMOKE)]
    assert main([*base, "--now", "2023-01-13T23:00"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("yanxiu certificates: error: --now: certificates of smoke")
    assert "\n" not in err
    assert main([*base, "--now", "yesterday"]) == 2
    assert "not an ISO 8601 instant" in capsys.readouterr().err
    assert main([*base, "--now", "2023-01-14T09:00"]) == 0
    assert "issued 0 certificates" in capsys.readouterr().out
    assert main(base) == 0  # real time is long past the smoke campaign's batch date
