from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from reference.committer import RETRY_S, LoopCommitter, ThreadCommitter, make_committer
from reference.db import Database
from reference.errors import ApiError
from reference.models import SmsMessage


@pytest.fixture
def db(database_url):
    db = Database(database_url)
    db.create_all()
    yield db
    db.dispose()


@pytest.fixture(params=[LoopCommitter, ThreadCommitter])
def kind(request):
    return request.param


def _add(n: int):
    def job(session):
        import datetime as dt

        session.add(SmsMessage(mobile="13800138000", text=f"m{n}", sent_at=dt.datetime.now(dt.UTC)))
        session.flush()
        return n

    return job


def test_jobs_share_commits_and_each_gets_its_answer(db, kind):
    committer = kind(db)

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


def test_a_refusal_or_a_failure_touches_only_its_own_job(db, kind):
    committer = kind(db)

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
            _add(job.n)(session)
            outcomes.append(job.n)
        return outcomes


def test_batched_jobs_run_together_and_a_failure_is_replayed_one_by_one(db, kind):
    committer = kind(db)
    _Message.calls = []

    async def scenario(numbers):
        gate = threading.Event()
        committer.submit(lambda session: gate.wait(5))  # holds the writer: one batch follows
        futures = [committer.submit(_Message(n)) for n in numbers] + [committer.submit(_add(99))]
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


def test_the_writer_thread_times_a_job_s_wait_its_linger_and_its_answer(db):
    """yanxiu_writer_{wait,linger,answer}_seconds (issue 12, the PostgreSQL heartbeat): a lone
    job waits at least the linger before its batch begins, and each batch's answer is timed
    once on its loop."""
    from prometheus_client import REGISTRY

    def sample(name: str, part: str) -> float:
        return REGISTRY.get_sample_value(f"yanxiu_writer_{name}_seconds_{part}") or 0.0

    committer = ThreadCommitter(db, linger_s=0.005)
    before = {(n, p): sample(n, p) for n in ("wait", "linger", "answer") for p in ("sum", "count")}

    async def scenario():
        for n in range(3):  # three lone jobs: three batches
            await committer.submit(_add(n))

    asyncio.run(scenario())
    moved = {key: sample(*key) - value for key, value in before.items()}
    assert moved["wait", "count"] == moved["linger", "count"] == moved["answer", "count"] == 3
    assert moved["linger", "sum"] >= 3 * 0.005 and moved["wait", "sum"] >= moved["linger", "sum"]
    assert 0 < moved["answer", "sum"] < 3 * 0.5


def test_two_committers_on_one_file_take_turns(db, database_url, kind):
    """Two writers (as in two worker processes) on one database: every job of both commits;
    on SQLite they queue on the shared file lock rather than on SQLite's busy handler."""
    other_db = Database(database_url)
    first, second = kind(db), kind(other_db)

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


def test_the_loop_never_waits_for_a_writer_outside_the_committer(tmp_path):
    """A route writing in its own transaction holds SQLite's write lock: the loop's batch
    does not block the loop (busy timeout 0), it waits queued and commits after."""
    db = Database(f"sqlite:///{tmp_path / 'busy.sqlite'}")
    db.create_all()
    committer = LoopCommitter(db)
    other = db.engine.connect()
    other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is taken

    async def scenario():
        futures = [committer.submit(_add(n)) for n in range(3)]
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
        return await asyncio.wait_for(asyncio.gather(committer.submit(_add(1)), return_exceptions=True), 5)

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
        assert await committer.submit(_add(0)) == 0  # the committer's connection is open
        before = len(opened)
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock is taken
        future = committer.submit(_add(1))
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
        return await committer.submit(_add(n))

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
        return _add(len(runs))(session)

    commit = Session.commit

    def cut_then_commit(session):
        _cut(pg_db, runs[-1])
        commit(session)

    async def write(what=job):
        return await committer.submit(what)

    assert asyncio.run(write(_add(0))) == 0  # the writer keeps its connection from here
    monkeypatch.setattr(Session, "commit", cut_then_commit)
    with pytest.raises(OperationalError):
        asyncio.run(write())
    assert len(runs) == 1
    monkeypatch.setattr(Session, "commit", commit)
    assert asyncio.run(write()) == 2  # then a new connection


def test_a_commit_s_lock_time_is_also_counted_by_its_size(db):
    """yanxiu_commit_seconds_by_size: the batch's jobs in bands (1, 2, 3-4, 5-8, 9+), so that
    a commit's fixed cost and a write's can be told apart from batches of several sizes."""
    from prometheus_client import REGISTRY

    from reference.metrics import commit_size

    def counted(size: str) -> float:
        return REGISTRY.get_sample_value("yanxiu_commit_seconds_by_size_count", {"jobs": size}) or 0.0

    assert [commit_size(n) for n in (1, 2, 3, 4, 5, 8, 9, 128)] == ["1", "2", "3-4", "3-4", "5-8", "5-8",
                                                                 "9+", "9+"]
    committer = LoopCommitter(db)
    before = {size: counted(size) for size in ("1", "3-4")}

    async def scenario():
        await committer.submit(_add(0))  # a batch of one
        await asyncio.gather(*(committer.submit(_add(n)) for n in range(3)))  # one turn: a batch of 3

    asyncio.run(scenario())
    assert counted("1") - before["1"] == 1 and counted("3-4") - before["3-4"] == 1
    assert REGISTRY.get_sample_value("yanxiu_commit_jobs_by_size_total", {"jobs": "3-4"}) >= 3


def _by_behind(metric: str) -> dict[str, tuple[float, ...]]:
    """(count, sum) of ``metric``'s histogram for the lock free ("none") and behind a route."""
    from prometheus_client import REGISTRY

    return {who: tuple(REGISTRY.get_sample_value(f"{metric}_{name}", {"behind": who}) or 0.0
                       for name in ("count", "sum")) for who in ("none", "route")}


def test_a_job_s_wait_for_its_batch_is_timed_by_what_held_the_lock(tmp_path):
    """yanxiu_commit_wait_seconds{behind}: from a job's hand-over until its batch began; a job
    whose batch found a route's transaction holding SQLite's lock is counted under "route" with
    the hold's length, one that found the lock free under "none"; a job submitted while its
    loop's batch is already retrying counts as the same episode's. yanxiu_commit_failed_tries:
    0 for the batch that began at once; the blocked batch's tries every RETRY_S while its loop
    was idle (tens to hundreds), one observation for the batch."""
    db = Database(f"sqlite:///{tmp_path / 'wait.sqlite'}")
    db.create_all()
    committer = LoopCommitter(db)
    waits, tries = "yanxiu_commit_wait_seconds", "yanxiu_commit_failed_tries"
    before = {metric: _by_behind(metric) for metric in (waits, tries)}

    async def scenario():
        await committer.submit(_add(0))  # the lock free: "none"
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: a route holds the write lock
        first = committer.submit(_add(1))
        await asyncio.sleep(0.05)
        second = committer.submit(_add(2))  # joins the retrying batch
        await asyncio.sleep(0.05)
        other.rollback()
        other.close()
        await asyncio.wait_for(asyncio.gather(first, second), 10)

    try:
        asyncio.run(scenario())
    finally:
        db.dispose()
    delta = {metric: {who: tuple(now - was for now, was in zip(counts, before[metric][who], strict=True))
                      for who, counts in _by_behind(metric).items()} for metric in (waits, tries)}
    (none_n, none_s), (route_n, route_s) = delta[waits]["none"], delta[waits]["route"]
    assert none_n == 1 and none_s < 0.05
    assert route_n == 2 and 0.14 <= route_s < 1.0  # ~0.1 s and ~0.05 s
    assert delta[tries]["none"] == (1, 0)
    assert delta[tries]["route"][0] == 1 and 20 <= delta[tries]["route"][1] <= 0.1 / RETRY_S + 1


def test_a_blocked_loop_retries_the_lock_at_its_interval_under_uvloop(tmp_path):
    """Under uvloop (uvicorn's default loop), which rounds call_later's delay to whole ms, a batch
    blocked 0.1 s behind a route's transaction tries the lock about 0.1 / RETRY_S times, not
    thousands: with RETRY_S = 0.2 ms the loop spun (12,000 tries a second measured at 60% of the
    SQLite knee)."""
    uvloop = pytest.importorskip("uvloop")
    db = Database(f"sqlite:///{tmp_path / 'spin.sqlite'}")
    db.create_all()
    committer = LoopCommitter(db)
    tries = "yanxiu_commit_failed_tries"
    before = _by_behind(tries)["route"]

    async def scenario():
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: a route holds the write lock
        blocked = committer.submit(_add(1))
        await asyncio.sleep(0.1)
        other.rollback()
        other.close()
        await asyncio.wait_for(blocked, 10)

    try:
        uvloop.run(scenario())
    finally:
        db.dispose()
    count, total = (now - was for now, was in zip(_by_behind(tries)["route"], before, strict=True))
    assert count == 1 and 10 <= total <= 0.1 / RETRY_S * 1.5 + 1
