"""Fixtures for the reference platform's tests, on SQLite and (when reachable) PostgreSQL.

``database_url`` is parametrised over both back-ends: SQLite gets a fresh file per test;
PostgreSQL gets one database per test session (``yanxiu_test_<pid>``, dropped at the end)
whose tables are emptied before each test. Without a server at 127.0.0.1:5432 the
PostgreSQL variants are skipped. ``client`` is a TestClient over an app on the smoke scenario
with a ``FixedClock`` (``clock``) that tests move by hand; ``platform`` has helpers that
create schools, accounts and read the codes the recording SMS gateway "sent".
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import SMOKE

PG_HOST, PG_PORT = "127.0.0.1", 5432
ZONE = ZoneInfo("Asia/Shanghai")
# Inside the smoke campaign: course 1 is open (since 2023-01-03), course 2 opens 2023-01-05.
START = dt.datetime(2023, 1, 4, 10, 0, tzinfo=ZONE)
SECRET = "test-secret-" + "x" * 20
PASSWORD = "correct horse 1"


def _postgres_up() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url():
    if not _postgres_up():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    import psycopg

    name = f"yanxiu_test_{os.getpid()}"
    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reference.sqlite'}"
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
def db(database_url):
    """An opened ``Database`` on ``database_url`` with every table created."""
    from reference.db import Database

    db = Database(database_url)
    db.create_all()
    yield db
    db.dispose()


def empty_postgres(url: str) -> None:
    """The session's PostgreSQL database with every table created and emptied."""
    from reference.db import Database
    from reference.models import Base

    db = Database(url)
    Base.metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    db.dispose()


@pytest.fixture
def clock():
    from reference.clock import FixedClock

    return FixedClock(START)


@pytest.fixture
def settings(database_url):
    from reference.settings import Settings

    # Cheap hashes keep the suite fast; the real parameters are tested in test_security.
    return Settings(
        database_url=database_url,
        scenario=SMOKE,
        secret=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture
def app(settings, clock):
    from reference.main import create_app

    app = create_app(settings, clock)
    yield app
    app.state.yanxiu.db.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        yield client


class Platform:
    """Test helpers that act on the server's database directly."""

    def __init__(self, app, client) -> None:
        self.state = app.state.yanxiu
        self.client = client
        self._mobiles = iter(range(13900000000, 13999999999))
        self._positions: dict[tuple[int, str], float] = {}
        self._seqs: dict[tuple[int, str], int] = {}

    def school(
        self,
        name="Taiyuan No. 5 Middle School",
        province="Shanxi",
        county="Xiaodian",
        sub_platform="basic",
    ) -> int:
        from reference.models import School

        with self.state.db.session() as session:
            school = School(
                name=name,
                province=province,
                county=county,
                sub_platform=sub_platform,
                temporary=False,
            )
            session.add(school)
            session.flush()
            return school.id

    def last_code(self, mobile: str) -> str:
        from reference.models import SmsMessage

        with self.state.db.session(write=False) as session:
            text = session.scalars(
                select(SmsMessage.text)
                .where(SmsMessage.mobile == mobile)
                .order_by(SmsMessage.id.desc())
            ).first()
        assert text is not None, f"no SMS to {mobile}"
        return re.search(r"code (\d+)", text).group(1)

    def mobile(self) -> str:
        return str(next(self._mobiles))

    def register(self, school_id: int, mobile: str | None = None, **fields) -> dict:
        """Register over HTTP (SMS code included); returns the answer plus headers."""
        mobile = mobile or self.mobile()
        sent = self.client.post("/api/v1/sms/send", json={"mobile": mobile, "purpose": "register"})
        assert sent.status_code == 202, sent.text
        body = {
            "mobile": mobile,
            "code": self.last_code(mobile),
            "password": PASSWORD,
            "real_name": "王芳",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "school_id": school_id,
            "sub_platform": "basic",
            **fields,
        }
        answer = self.client.post("/api/v1/auth/register", json=body)
        assert answer.status_code == 201, answer.text
        data = answer.json()
        data["mobile"] = mobile
        data["headers"] = {"Authorization": f"Bearer {data['token']}"}
        return data

    def enrolled_teacher(self, school_id: int | None = None) -> dict:
        teacher = self.register(school_id or self.school())
        answer = self.client.post("/api/v1/campaigns/smoke/enrol", headers=teacher["headers"])
        assert answer.status_code == 201, answer.text
        return teacher

    def admin(
        self, role: str, school_id: int | None = None, province="Shanxi", county="Xiaodian"
    ) -> dict:
        """An administrator account made directly in the database; logged in over HTTP."""
        from reference.models import School, Teacher
        from reference.security import hash_password

        mobile = self.mobile()
        with self.state.db.session() as session:
            if school_id is not None:
                school = session.get(School, school_id)
                province, county = school.province, school.county
            session.add(
                Teacher(
                    mobile=mobile,
                    password_hash=hash_password(self.state.hasher, PASSWORD),
                    real_name="李校长",
                    id_type="resident_id",
                    id_number="11010519491231002X",
                    sub_platform="basic",
                    school_id=school_id,
                    province=province,
                    county=county,
                    role=role,
                    verified=True,
                    created_at=START,
                )
            )
        answer = self.client.post(
            "/api/v1/auth/login", json={"mobile": mobile, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()
        data["headers"] = {"Authorization": f"Bearer {data['token']}"}
        return data

    def beat(
        self, teacher: dict, resource_id: str, seq: int, elapsed_s: float, position_s: float | None = None
    ):
        """A heartbeat; without ``position_s`` an honest player's: the position it reached last
        time plus ``elapsed_s`` (played at 1x), at most the resource's end."""
        key = (teacher["teacher_id"], resource_id)
        if position_s is None:
            resource = self.state.catalogue.resources.get(resource_id)
            end = resource.duration_s if resource else 0.0
            position_s = min(end, self._positions.get(key, 0.0) + elapsed_s)
        answer = self.client.post(
            "/api/v1/progress/heartbeat",
            headers=teacher["headers"],
            json={
                "resource_id": resource_id,
                "position_s": position_s,
                "elapsed_s": elapsed_s,
                "seq": seq,
            },
        )
        if answer.status_code == 200:
            self._positions[key] = position_s
        return answer

    def study(self, clock, teacher: dict, course_id: int, seconds: float, step: float = 600.0) -> float:
        """Play the course's resources in order, honestly (1x, each to its end), until
        ``seconds`` of campaign time have passed; the course's study time as the server has it."""
        catalogue, studied = self.state.catalogue, 0.0
        resources = [r for r in catalogue.resources.values() if r.course_id == course_id]
        for resource in resources:
            key = (teacher["teacher_id"], resource.id)
            seq = self._seqs.get(key, 0) + 1
            self.beat(teacher, resource.id, seq, 0, position_s=self._positions.get(key, 0.0))
            while seconds > 0 and self._positions.get(key, 0.0) < resource.duration_s:
                play = min(step, seconds, resource.duration_s - self._positions.get(key, 0.0))
                clock.advance(play)
                seq += 1
                answer = self.beat(teacher, resource.id, seq, play)
                assert answer.status_code == 200, answer.text
                studied, seconds = answer.json()["course_studied_s"], seconds - play
            self._seqs[key] = seq
            if seconds <= 0:
                break
        return studied


@pytest.fixture
def platform(app, client):
    return Platform(app, client)
