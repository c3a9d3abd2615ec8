"""``yanxiu seed``: counts, realistic and valid identities, determinism, usable accounts."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import SMOKE

TEACHERS = 600


def _seed(settings, out, teachers=TEACHERS, seed=11, url=None):
    from domain.scenario import load_scenario
    from reference.catalogue import Catalogue
    from reference.db import Database
    from reference.seeding.seed import seed_platform

    db = Database(url or settings.database_url)
    try:
        return seed_platform(db, Catalogue(load_scenario(SMOKE)), settings, teachers, seed, out)
    finally:
        db.dispose()


def _accounts(out) -> list[dict]:
    with (out / "accounts.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def seeded(settings, tmp_path):
    report = _seed(settings, tmp_path / "fixtures")
    return report, tmp_path / "fixtures"


def test_gb11643_check_character_known_examples():
    from faker import Faker

    from reference.seeding.identity import id_check_char, id_number_valid

    # The standard's own example, and a check sum of 10 (-> X) vs 0 (-> 1).
    assert id_check_char("11010519491231002") == "X"
    assert id_number_valid("11010519491231002X")
    assert not id_number_valid("110105194912310021")
    assert not id_number_valid("110105194902300021")  # 30 February
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    assert all(id_number_valid(fake.ssn()) for _ in range(300))  # an independent generator


def test_counts_roles_and_schools(seeded, settings):
    from reference.db import Database
    from reference.models import School, Teacher

    report, out = seeded
    db = Database(settings.database_url)
    with db.session(write=False) as session:
        roles = dict(session.execute(select(Teacher.role, func.count()).group_by(Teacher.role)).all())
        schools = session.execute(
            select(School.province, School.sub_platform).where(School.temporary.is_(False))
        ).all()
    db.dispose()
    assert roles["teacher"] == TEACHERS
    assert roles == report.accounts_by_role
    assert roles["province_admin"] == 2  # smoke has two provinces
    assert roles["county_admin"] == report.counties
    assert report.schools == len(schools)
    # Every province has schools of every sub-platform with teachers.
    assert {(p, s) for p, s in schools} == {
        (p, s) for p in ("Shanxi", "Hainan") for s in ("basic", "higher", "vocational")
    }
    rows = _accounts(out)
    assert len(rows) == sum(roles.values())
    assert Counter(r["role"] for r in rows) == Counter(roles)


def test_identities_look_real_and_are_valid(seeded, settings):
    from reference.db import Database
    from reference.models import Teacher
    from reference.seeding.identity import id_number_valid
    from reference.validation import check_id_number

    db = Database(settings.database_url)
    with db.session(write=False) as session:
        people = session.execute(select(Teacher.mobile, Teacher.id_number, Teacher.real_name)).all()
    db.dispose()
    mobiles = [p.mobile for p in people]
    assert len(set(mobiles)) == len(mobiles)
    assert all(re.fullmatch(r"1[3-9]\d{9}", m) for m in mobiles)
    assert all(id_number_valid(p.id_number) for p in people)
    assert all(check_id_number("resident_id", p.id_number) == p.id_number for p in people)
    # Chinese names of two to four characters; ID numbers from the teacher's own province
    # mostly (Shanxi 14, Hainan 46).
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", p.real_name) for p in people)
    home = sum(p.id_number[:2] in ("14", "46") for p in people) / len(people)
    assert home > 0.8


def test_unique_mobiles_at_scale():
    from reference.seeding.identity import draw_mobiles

    mobiles = draw_mobiles(np.random.default_rng(5), 300_000)
    assert len(set(mobiles)) == 300_000


def test_deterministic_by_seed(settings, tmp_path):
    first = tmp_path / "a"
    _seed(settings, first, seed=5)
    second = tmp_path / "b"
    _seed(settings, second, seed=5, url=f"sqlite:///{tmp_path / 'b.sqlite'}")
    third = tmp_path / "c"
    _seed(settings, third, seed=6, url=f"sqlite:///{tmp_path / 'c.sqlite'}")
    # the accounts are the seed's; their session tokens carry the time they were issued at
    # (an expiry), so they are left out of the comparison
    def accounts(folder):
        return [{k: v for k, v in row.items() if k != "token"} for row in _accounts(folder)]

    assert accounts(first) == accounts(second)
    assert accounts(first) != accounts(third)


def test_seeded_accounts_log_in(seeded, settings, clock):
    from fastapi.testclient import TestClient

    from reference.main import create_app

    _, out = seeded
    rows = _accounts(out)
    app = create_app(settings, clock)
    with TestClient(app) as client:
        for role in ("teacher", "school_admin", "province_admin"):
            row = next(r for r in rows if r["role"] == role)
            answer = client.post(
                "/api/v1/auth/login", json={"mobile": row["mobile"], "password": row["password"]}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["role"] == role
            assert answer.json()["teacher_id"] == int(row["teacher_id"])
        wrong = client.post(
            "/api/v1/auth/login", json={"mobile": rows[0]["mobile"], "password": "not the one"}
        )
        assert wrong.status_code == 401
        # A seeded teacher enrols like a registered one.
        first = {"mobile": rows[0]["mobile"], "password": rows[0]["password"]}
        token = client.post("/api/v1/auth/login", json=first).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/campaigns/smoke/enrol", headers=headers).status_code == 201
    app.state.yanxiu.db.dispose()


def test_answers_match_the_question_bank(seeded, settings, clock):
    from reference.db import Database
    from reference.models import Question

    _, out = seeded
    answers = json.loads((out / "answers.json").read_text())
    db = Database(settings.database_url)
    with db.session(write=False) as session:
        bank = dict(session.execute(select(Question.id, Question.answer)).all())
    db.dispose()
    assert {int(k): v for k, v in answers.items()} == bank
    assert len(bank) == 20  # smoke: two courses of ten questions


def test_refuses_a_seeded_database(seeded, settings, tmp_path):
    from reference.seeding.seed import SeedError

    with pytest.raises(SeedError, match="already holds"):
        _seed(settings, tmp_path / "again")


def test_command_line(tmp_path, capsys):
    from yanxiu.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    args = ["seed", "--database-url", url, "--scenario", str(SMOKE), "--out", str(tmp_path)]
    assert main([*args, "--teachers", "50"]) == 0
    assert "teachers/s" in capsys.readouterr().out
    assert len(_accounts(tmp_path)) > 50
    assert main([*args, "--teachers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("yanxiu seed: error: --teachers") and "\n" not in err
    assert main([*args, "--teachers", "5"]) == 2
    assert "already holds" in capsys.readouterr().err


def test_population_follows_the_scenario(winter):
    """Teachers per province and sub-platform follow the scenario's weights and shares; the
    school count follows its teachers-per-school ratio."""
    from reference.catalogue import Catalogue
    from reference.seeding.seed import _streams, plan_accounts

    catalogue = Catalogue(winter)
    teachers = 50_000
    plan, accounts = plan_accounts(catalogue, teachers, _streams(1), 1.5)
    staff = [i for i, r in enumerate(accounts.role) if r == "teacher"]
    assert len(staff) == teachers
    provinces = Counter(accounts.province[i] for i in staff)
    total_weight = sum(p.weight for p in winter.population.provinces)
    for p in winter.population.provinces:
        expected = teachers * p.weight / total_weight
        assert abs(provinces[p.name] - expected) < 5 * expected**0.5 + 5, p.name
    subs = Counter(accounts.sub_platform[i] for i in staff)
    for sub, share in winter.population.sub_platforms.items():
        assert subs[sub] / teachers == pytest.approx(share, abs=0.01)
    ratio = winter.population.schools / winter.population.teachers
    assert len(plan.names) == pytest.approx(teachers * ratio, rel=0.1)
    admins = sum(r == "school_admin" for r in accounts.role)
    assert admins / len(plan.names) == pytest.approx(1.5, abs=0.05)


# --- yanxiu seed --progress-at: the model's study progress at an instant --------------------

def _model_results(folder, participants=1000.0):
    """A results folder: 80% started and 60% credited course 1 by the end of 01-04; course 2
    credited by 30% at the end of 01-06 and 50% at the end of 01-07."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [("2023-01-03", 500, 300, 0), ("2023-01-04", 800, 600, 0), ("2023-01-05", 850, 700, 100),
            ("2023-01-06", 900, 800, 300), ("2023-01-07", 950, 850, 500)]
    lines = ["# cumulative", "day,registered,studied,completed.1,completed.2"]
    lines += [f"{d},{participants},{s},{c1},{c2}" for d, s, c1, c2 in rows]
    (folder / "outcomes_daily.csv").write_text("\n".join(lines) + "\n")
    (folder / "summary.json").write_text(json.dumps({"outcomes": {"participants": participants}}))
    return folder


def _seed_progress(settings, tmp_path, instant, teachers=1000, results=True):
    import datetime as dt

    from domain.scenario import load_scenario
    from reference.catalogue import Catalogue
    from reference.db import Database
    from reference.seeding.seed import seed_platform

    catalogue = Catalogue(load_scenario(SMOKE))
    db = Database(settings.database_url)
    try:
        report = seed_platform(db, catalogue, settings, teachers, 5, None,
                               progress_at=catalogue.rules.at(dt.datetime.fromisoformat(instant)),
                               model_results=_model_results(tmp_path / "model") if results else None)
    finally:
        db.dispose()
    return report, catalogue


def _progress_rows(settings):
    from reference.db import Database
    from reference.models import Attempt, CourseProgress, Enrolment, ResourceProgress

    db = Database(settings.database_url)
    with db.session(write=False) as session:
        courses = session.scalars(select(CourseProgress)).all()
        resources = session.scalars(select(ResourceProgress)).all()
        attempts = session.scalars(select(Attempt)).all()
        enrolled = session.scalar(select(func.count()).select_from(Enrolment))
    db.dispose()
    return courses, resources, attempts, enrolled


def _assert_valid_by_the_rules(catalogue, instant, courses, resources, attempts):
    from domain.campaign import CourseProgress as Progress

    rules = catalogue.rules
    watched = Counter()
    for r in resources:
        watched[(r.teacher_id, r.course_id)] += r.watched_s
        assert r.last_beat_at <= instant and r.position_s <= catalogue.resources[r.resource_id].duration_s
    tries = Counter((a.teacher_id, a.course_id) for a in attempts)
    passes = Counter((a.teacher_id, a.course_id) for a in attempts if a.passed)
    for row in courses:
        key = (row.teacher_id, row.course_id)
        # study only while the course was open, and it is the resources' watched time
        assert row.studied_s <= rules.recordable_seconds(row.course_id, rules.start_at, instant) + 1e-6
        assert row.studied_s == pytest.approx(watched[key])
        assert row.attempts == tries[key] and passes[key] == int(row.test_passed)
        if row.test_passed:
            assert rules.test_unlocked(row.course_id, row.studied_s)
            assert rules.course_credit(row.course_id, Progress(row.studied_s, True)) > 0
            assert row.passed_at <= instant


def test_progress_at_follows_the_models_shares(settings, tmp_path):
    import datetime as dt

    report, catalogue = _seed_progress(settings, tmp_path, "2023-01-05T00:00")
    courses, resources, attempts, enrolled = _progress_rows(settings)
    instant = catalogue.rules.at(dt.datetime(2023, 1, 5))
    _assert_valid_by_the_rules(catalogue, instant, courses, resources, attempts)
    passed = Counter(r.course_id for r in courses if r.test_passed)
    studied = {r.teacher_id for r in courses if r.studied_s > 0}
    # 80% started and 60% credited course 1; course 2 opens at this very instant: nothing yet
    assert enrolled == len(studied) and 0.75 < enrolled / 1000 < 0.85
    assert 0.55 < passed[1] / 1000 < 0.65 and passed[2] == 0
    assert all(r.studied_s == 0 for r in courses if r.course_id == 2)
    # some teachers stand part-way through course 1 (they reach the test in a session)
    partial = [r for r in courses if r.course_id == 1 and not r.test_passed and r.studied_s > 0]
    assert len(partial) > 100
    assert report.progress["1 credited"] == passed[1] and "shares from" in report.summary()


def test_progress_later_in_the_window_has_both_courses(settings, tmp_path):
    import datetime as dt

    _, catalogue = _seed_progress(settings, tmp_path, "2023-01-07T12:00")
    courses, resources, attempts, _ = _progress_rows(settings)
    _assert_valid_by_the_rules(catalogue, catalogue.rules.at(dt.datetime(2023, 1, 7, 12)), courses,
                               resources, attempts)
    passed = Counter(r.course_id for r in courses if r.test_passed)
    # halfway between the ends of 01-06 and 01-07: 82.5% and 40% (course 2 needs course 1 first)
    assert 0.77 < passed[1] / 1000 < 0.88 and 0.35 < passed[2] / 1000 < 0.45
    both = Counter(r.teacher_id for r in courses if r.test_passed)
    assert sum(1 for n in both.values() if n == 2) == passed[2]


def test_progress_without_model_results_uses_the_stand_in(settings, tmp_path):
    import datetime as dt

    report, catalogue = _seed_progress(settings, tmp_path, "2023-01-07T12:00", results=False)
    courses, resources, attempts, enrolled = _progress_rows(settings)
    _assert_valid_by_the_rules(catalogue, catalogue.rules.at(dt.datetime(2023, 1, 7, 12)), courses,
                               resources, attempts)
    assert "stand-in" in report.progress_source
    assert 0.45 < enrolled / 1000 < 0.55  # half started, spread over 0, 1, 2 credited courses
    assert set(report.progress) == {"not started", "0 credited", "1 credited", "2 credited"}


def test_progress_options_on_the_command_line(tmp_path, capsys):
    from yanxiu.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    args = ["seed", "--database-url", url, "--scenario", str(SMOKE), "--teachers", "50"]
    assert main([*args, "--progress-at", "the fifth"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("yanxiu seed: error: --progress-at") and "\n" not in err
    assert main([*args, "--model-results", str(tmp_path)]) == 2
    assert "--model-results: only used with --progress-at" in capsys.readouterr().err
    assert main([*args, "--progress-at", "2023-01-06T20:00", "--model-results", str(tmp_path)]) == 2
    assert "no outcomes_daily.csv" in capsys.readouterr().err
    model = _model_results(tmp_path / "model")
    assert main([*args, "--progress-at", "2023-01-06T20:00", "--model-results", str(model)]) == 0
    assert "progress:" in capsys.readouterr().out


def test_progress_after_the_batch_date_comes_with_certificates(settings, tmp_path):
    import datetime as dt

    from fastapi.testclient import TestClient

    from reference.clock import FixedClock
    from reference.db import Database
    from reference.main import create_app
    from reference.models import Certificate, Teacher

    report, catalogue = _seed_progress(settings, tmp_path, "2023-01-14T12:00", teachers=300)
    courses, resources, attempts, _ = _progress_rows(settings)
    instant = catalogue.rules.at(dt.datetime(2023, 1, 14, 12))
    _assert_valid_by_the_rules(catalogue, instant, courses, resources, attempts)
    complete = {t for t, n in Counter(r.teacher_id for r in courses if r.test_passed).items() if n == 2}
    db = Database(settings.database_url)
    with db.session(write=False) as session:
        holders = set(session.scalars(select(Certificate.teacher_id)))
        mobile = session.scalar(select(Teacher.mobile).where(Teacher.id == min(complete)))
    db.dispose()
    assert holders == complete and report.progress["certified"] == len(complete) > 100
    app = create_app(settings, FixedClock(instant))
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login", json={"mobile": mobile, "password": "Yanxiu@2023"}).json()
        answer = client.get("/api/v1/certificate", headers={"Authorization": f"Bearer {token['token']}"})
        assert answer.status_code == 200, answer.text
    app.state.yanxiu.db.dispose()
