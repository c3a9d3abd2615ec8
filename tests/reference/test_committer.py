from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

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

    async def scenario():
        gate = threading.Event()
        blocker = committer.submit(lambda session: gate.wait(5))  # holds the writer thread
        futures = [committer.submit(_add(n)) for n in range(50)]
        gate.set()
        assert await blocker
        return await asyncio.gather(*futures)

    assert asyncio.run(scenario()) == list(range(50))
    assert committer.batches < 10  # the 50 waiting jobs went in one or a few commits
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 50


def test_a_refusal_or_a_failure_touches_only_its_own_job(db):
    committer = GroupCommitter(db)

    def refuse(session):
        raise ApiError(403, "no")

    def crash(session):
        raise RuntimeError("bug")

    async def scenario():
        gate = threading.Event()
        committer.submit(lambda session: gate.wait(5))  # holds the writer: one batch follows
        futures = [committer.submit(job) for job in (_add(1), refuse, crash, _add(2))]
        gate.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    added, refused, crashed, added_too = asyncio.run(scenario())
    assert (added, added_too) == (1, 2)
    assert isinstance(refused, ApiError) and isinstance(crashed, RuntimeError)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 2


def test_a_batch_whose_loop_closed_is_not_run_again(db):
    committer = GroupCommitter(db)
    gate = threading.Event()
    runs = []

    def job(session):
        runs.append(1)
        return _add(len(runs))(session)

    async def leave_early():  # the loop closes while its jobs still wait for the writer
        committer.submit(lambda session: gate.wait(5))
        committer.submit(job)

    async def later():  # queued behind that batch: answered once it is fully dealt with
        return await asyncio.wait_for(committer.submit(lambda session: "later"), 10)

    asyncio.run(leave_early())
    gate.set()
    assert asyncio.run(later()) == "later"
    assert runs == [1]
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_two_committers_on_one_file_take_turns(db, database_url):
    """Two writers (as in two worker processes) on one database: every job of both commits;
    on SQLite they queue on the shared file lock rather than on SQLite's busy handler."""
    other_db = Database(database_url)
    first, second = GroupCommitter(db), GroupCommitter(other_db)

    async def scenario():
        jobs = [c.submit(_add(n)) for n in range(40) for c in (first, second)]
        return await asyncio.wait_for(asyncio.gather(*jobs), 30)

    try:
        assert sorted(asyncio.run(scenario())) == sorted(list(range(40)) * 2)
        with db.session(write=False) as session:
            assert session.scalar(select(func.count()).select_from(SmsMessage)) == 80
        if db.sqlite:
            assert Path(make_url(db.url).database + "-commit.lock").exists()
    finally:
        other_db.dispose()
