"""The committers after a PostgreSQL restart: a connection cut while idle is reopened, a batch
cut after its COMMIT was sent fails rather than running twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from reference.committer import LoopCommitter, ThreadCommitter
from reference.db import Database
from reference.models import SmsMessage
from tests.reference.committer_jobs import add_message


@pytest.fixture(params=[LoopCommitter, ThreadCommitter])
def kind(request):
    return request.param


@pytest.fixture
def pg_db(postgres_url):
    from tests.reference.conftest import empty_postgres

    empty_postgres(postgres_url)
    db = Database(postgres_url)
    yield db
    db.dispose()


def _cut(db: Database, pid: int | None = None) -> int:
    """Terminate the database's server processes (one, or all but the caller's), as a
    PostgreSQL restart does; how many."""
    import psycopg

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = make_url(db.url).database
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid() "
                             "AND (%s::int IS NULL OR pid = %s::int)", (name, pid, pid)).fetchone()
    return found[0] if found else 0


@pytest.mark.postgres
def test_the_writer_and_the_pool_reconnect_when_the_database_cut_them_while_idle(pg_db, kind):
    """After a restart the first write is answered, not failed on the dead kept connection."""
    committer = kind(pg_db)

    async def write(n: int) -> int:
        return await committer.submit(add_message(n))

    assert asyncio.run(write(1)) == 1
    with pg_db.session(write=False) as session:  # the read pool holds a connection too
        session.scalar(select(func.count()).select_from(SmsMessage))
    assert _cut(pg_db) >= 2
    assert asyncio.run(write(2)) == 2  # a single job: no one-by-one replay would save it
    with pg_db.session(write=False) as session:
        assert sorted(session.scalars(select(SmsMessage.text)).all()) == ["m1", "m2"]


@pytest.mark.postgres
def test_a_batch_cut_after_its_commit_was_sent_is_not_run_again(pg_db, monkeypatch):
    """Whether that COMMIT happened is unknown: the job fails (503) rather than running twice."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    committer = ThreadCommitter(pg_db)
    runs: list[int] = []

    def job(session):
        runs.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return add_message(len(runs))(session)

    commit = Session.commit

    def cut_then_commit(session):
        _cut(pg_db, runs[-1])
        commit(session)

    async def write(what=job):
        return await committer.submit(what)

    assert asyncio.run(write(add_message(0))) == 0  # the writer keeps its connection from here
    monkeypatch.setattr(Session, "commit", cut_then_commit)
    with pytest.raises(OperationalError):
        asyncio.run(write())
    assert len(runs) == 1
    monkeypatch.setattr(Session, "commit", commit)
    assert asyncio.run(write()) == 2  # then a new connection
