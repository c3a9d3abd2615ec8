"""The committers' batching: jobs share commits, each gets its own answer, a failure touches
only its job; the SQLite loop committer waits for a writer outside it without blocking the loop.
Their metrics: test_committer_metrics; PostgreSQL restarts: test_committer_postgres."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from reference.committer import LoopCommitter, ThreadCommitter, make_committer
from reference.db import Database
from reference.errors import ApiError
from reference.models import SmsMessage
from tests.reference.committer_jobs import add_message


@pytest.fixture(params=[LoopCommitter, ThreadCommitter])
def kind(request):
    return request.param


def test_jobs_share_commits_and_each_gets_its_answer(db, kind):
    committer = kind(db)

    async def scenario():
        gate = threading.Event()
        blocker = committer.submit(lambda session: gate.wait(5))  # holds the writer thread
        futures = [committer.submit(add_message(n)) for n in range(50)]
        gate.set()
        assert await blocker
        return await asyncio.gather(*futures)

    assert asyncio.run(scenario()) == list(range(50))
    assert committer.batches < 10  # the 50 waiting jobs went in one or a few commits
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 50


def test_a_refusal_or_a_failure_touches_only_its_own_job(db, kind):
    committer = kind(db)

    def refuse(session):
        raise ApiError(403, "no")

    def crash(session):
        raise RuntimeError("bug")

    async def scenario():
        gate = threading.Event()
        committer.submit(lambda session: gate.wait(5))  # holds the writer: one batch follows
        futures = [committer.submit(job) for job in (add_message(1), refuse, crash, add_message(2))]
        gate.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    added, refused, crashed, added_too = asyncio.run(scenario())
    assert (added, added_too) == (1, 2)
    assert isinstance(refused, ApiError) and isinstance(crashed, RuntimeError)
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SmsMessage)) == 2


class _Message:
    """A batched job: all of a batch's messages are written by one ``run_all`` call."""

    calls: list[int] = []

    def __init__(self, n: int) -> None:
        self.n = n

    @staticmethod
    def run_all(session, jobs):
        _Message.calls.append(len(jobs))
        if any(job.n < 0 for job in jobs):
            raise RuntimeError("a bad job in the batch")
        outcomes = []
        for job in jobs:
            if job.n == 13:
                outcomes.append(ApiError(409, "unlucky"))
                continue
            add_message(job.n)(session)
            outcomes.append(job.n)
        return outcomes


def test_batched_jobs_run_together_and_a_failure_is_replayed_one_by_one(db, kind):
    committer = kind(db)
    _Message.calls = []

    async def scenario(numbers):
        gate = threading.Event()
        committer.submit(lambda session: gate.wait(5))  # holds the writer: one batch follows
        futures = [committer.submit(_Message(n)) for n in numbers] + [committer.submit(add_message(99))]
        gate.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    *answers, plain = asyncio.run(scenario([1, 13, 2, 3]))
    assert (answers[0], answers[2:], plain) == (1, [2, 3], 99)
    assert isinstance(answers[1], ApiError) and answers[1].status == 409
    assert _Message.calls == [4]  # one call for the four, the plain job on its own
    _Message.calls = []
    answers = asyncio.run(scenario([4, -1, 5]))[:3]
    assert answers[0] == 4 and answers[2] == 5 and isinstance(answers[1], RuntimeError)
    assert _Message.calls == [3, 1, 1, 1]  # the batch failed, then each job alone
    with db.session(write=False) as session:
        texts = session.scalars(select(SmsMessage.text)).all()
    assert sorted(texts) == sorted(["m1", "m2", "m3", "m99", "m4", "m5", "m99"])


def test_a_batch_whose_loop_closed_is_not_run_again(db):
    committer = ThreadCommitter(db)
    gate = threading.Event()
    runs = []

    def job(session):
        runs.append(1)
        return add_message(len(runs))(session)

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


def test_two_committers_on_one_file_take_turns(db, database_url, kind):
    """Two writers (as in two worker processes) on one database: every job of both commits;
    on SQLite they queue on the shared file lock rather than on SQLite's busy handler."""
    other_db = Database(database_url)
    first, second = kind(db), kind(other_db)

    async def scenario():
        jobs = [c.submit(add_message(n)) for n in range(40) for c in (first, second)]
        return await asyncio.wait_for(asyncio.gather(*jobs), 30)

    try:
        assert sorted(asyncio.run(scenario())) == sorted(list(range(40)) * 2)
        with db.session(write=False) as session:
            assert session.scalar(select(func.count()).select_from(SmsMessage)) == 80
        if db.sqlite:
            assert Path(make_url(db.url).database + "-commit.lock").exists()
    finally:
        other_db.dispose()


def test_the_loop_never_waits_for_a_writer_outside_the_committer(tmp_path):
    """A route writing in its own transaction holds SQLite's write lock: the loop's batch
    does not block the loop (busy timeout 0), it waits queued and commits after."""
    db = Database(f"sqlite:///{tmp_path / 'busy.sqlite'}")
    db.create_all()
    committer = LoopCommitter(db)
    other = db.engine.connect()
    other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is taken

    async def scenario():
        futures = [committer.submit(add_message(n)) for n in range(3)]
        started, ticks = time.monotonic(), 0
        for _ in range(20):  # the loop keeps running while the jobs wait
            await asyncio.sleep(0.005)
            ticks += 1
        assert time.monotonic() - started < 2  # (SQLite's busy handler would sleep up to 10 s)
        assert not any(f.done() for f in futures)
        other.rollback()  # the other writer is done
        return ticks, await asyncio.wait_for(asyncio.gather(*futures), 10)

    try:
        ticks, answers = asyncio.run(scenario())
    finally:
        other.close()
        db.dispose()
    assert ticks == 20 and answers == [0, 1, 2]


def test_make_committer_runs_sqlite_files_on_the_loop(db):
    expected = LoopCommitter if db.sqlite else ThreadCommitter
    assert type(make_committer(db)) is expected
    assert type(make_committer(db, "thread")) is ThreadCommitter
    assert type(make_committer(db, "loop")) is LoopCommitter


def test_a_loop_commit_that_cannot_start_answers_its_jobs(db):
    committer = LoopCommitter(db)

    def broken() -> bool:
        raise PermissionError("lock file not writable")

    committer._lock.try_acquire = broken

    async def scenario():
        answers = asyncio.gather(committer.submit(add_message(1)), return_exceptions=True)
        return await asyncio.wait_for(answers, 5)

    (answer,) = asyncio.run(scenario())
    assert isinstance(answer, PermissionError)


def test_a_writer_outside_the_committer_costs_the_loop_no_reconnection(tmp_path):
    """While another connection holds the write lock the loop retries its batch; it keeps its
    connection (nothing began) instead of opening a new one at every retry."""
    from sqlalchemy import event

    db = Database(f"sqlite:///{tmp_path / 'busy.sqlite'}")
    db.create_all()
    committer = LoopCommitter(db)
    opened: list[int] = []
    event.listen(db.engine, "connect", lambda *_: opened.append(1))

    async def scenario():
        assert await committer.submit(add_message(0)) == 0  # the committer's connection is open
        before = len(opened)
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is taken
        future = committer.submit(add_message(1))
        await asyncio.sleep(0.1)  # hundreds of retries at RETRY_S
        other.rollback()
        other.close()
        assert await asyncio.wait_for(future, 10) == 1
        return len(opened) - before

    try:
        reopened = asyncio.run(scenario())
    finally:
        db.dispose()
    assert reopened <= 1  # the other connection's own, at most


