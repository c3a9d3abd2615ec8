from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from reference.committer import GroupCommitter
from reference.db import Database
from reference.errors import ApiError
from reference.models import SmsMessage


@pytest.fixture
def db(database_url):
    db = Database(database_url)
    db.create_all()
    yield db
    db.dispose()


def _add(n: int):
    def job(session):
        import datetime as dt

        session.add(SmsMessage(mobile="13800138000", text=f"m{n}", sent_at=dt.datetime.now(dt.UTC)))
        session.flush()
        return n

    return job


def test_jobs_share_commits_and_each_gets_its_answer(db):
    committer = GroupCommitter(db)
    gate = threading.Event()
    blocker = committer.submit(lambda session: gate.wait(5))  # holds the writer thread
    futures = [committer.submit(_add(n)) for n in range(50)]
    gate.set()
    assert blocker.result(5)
    assert [f.result(5) for f in futures] == list(range(50))
    assert committer.batches < 10  # the 50 waiting jobs went in one or a few commits
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 50


def test_a_refusal_or_a_failure_touches_only_its_own_job(db):
    committer = GroupCommitter(db)
    gate = threading.Event()
    committer.submit(lambda session: gate.wait(5))

    def refuse(session):
        raise ApiError(403, "no")

    def crash(session):
        raise RuntimeError("bug")

    futures = [
        committer.submit(_add(1)),
        committer.submit(refuse),
        committer.submit(crash),
        committer.submit(_add(2)),
    ]
    gate.set()
    assert futures[0].result(5) == 1 and futures[3].result(5) == 2
    with pytest.raises(ApiError):
        futures[1].result(5)
    with pytest.raises(RuntimeError):
        futures[2].result(5)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 2
