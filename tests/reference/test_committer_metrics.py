"""The committers' metrics: a job's wait, linger and answer on the writer thread, a commit's
lock time by its size, a job's wait by what held SQLite's lock and the blocked loop's tries."""

from __future__ import annotations

import asyncio

import pytest

from reference.committer import RETRY_S, LoopCommitter, ThreadCommitter
from reference.db import Database
from tests.reference.committer_jobs import add_message


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
            await committer.submit(add_message(n))

    asyncio.run(scenario())
    moved = {key: sample(*key) - value for key, value in before.items()}
    assert moved["wait", "count"] == moved["linger", "count"] == moved["answer", "count"] == 3
    assert moved["linger", "sum"] >= 3 * 0.005 and moved["wait", "sum"] >= moved["linger", "sum"]
    assert 0 < moved["answer", "sum"] < 3 * 0.5


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
        await committer.submit(add_message(0))  # a batch of one
        await asyncio.gather(*(committer.submit(add_message(n)) for n in range(3)))  # one turn: a batch of 3

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
        await committer.submit(add_message(0))  # the lock free: "none"
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: a route holds the write lock
        first = committer.submit(add_message(1))
        await asyncio.sleep(0.05)
        second = committer.submit(add_message(2))  # joins the retrying batch
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


def _blocked_under_uvloop(path, metrics: tuple[str, ...]) -> list[tuple[float, float]]:
    """A batch blocked 0.1 s behind a route's transaction under uvloop: each of ``metrics``'
    (count, sum) under behind="route" over it."""
    uvloop = pytest.importorskip("uvloop")
    db = Database(f"sqlite:///{path}")
    db.create_all()
    committer = LoopCommitter(db)
    before = [_by_behind(metric)["route"] for metric in metrics]

    async def scenario():
        other = db.engine.connect()
        other.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: a route holds the write lock
        blocked = committer.submit(add_message(1))
        await asyncio.sleep(0.1)
        other.rollback()
        other.close()
        await asyncio.wait_for(blocked, 10)

    try:
        uvloop.run(scenario())
    finally:
        db.dispose()
    return [(now[0] - was[0], now[1] - was[1]) for now, was in
            zip((_by_behind(metric)["route"] for metric in metrics), before, strict=True)]


def test_a_blocked_loop_retries_the_lock_at_its_interval_under_uvloop(tmp_path):
    """Under uvloop (uvicorn's default loop), which rounds call_later's delay to whole ms, a batch
    blocked 0.1 s behind a route's transaction tries the lock about 0.1 / RETRY_S times, not
    thousands: with RETRY_S = 0.2 ms the loop spun (12,000 tries a second measured at 60% of the
    SQLite knee)."""
    [(count, total)] = _blocked_under_uvloop(tmp_path / "spin.sqlite", ("yanxiu_commit_failed_tries",))
    assert count == 1 and 10 <= total <= 0.1 / RETRY_S * 1.5 + 1


def test_each_retry_s_real_interval_is_timed_by_what_held_the_lock(tmp_path):
    """yanxiu_commit_retry_seconds{behind}: from a failed try until the loop's next try. A batch
    blocked 0.1 s behind a route's transaction under uvloop retries every RETRY_S or a little
    more on an idle loop: one interval per failed try, each at least RETRY_S (uvloop's whole
    ms), their sum the blocked time less the first try's turn."""
    (count, total), (_, failed) = _blocked_under_uvloop(
        tmp_path / "retry.sqlite", ("yanxiu_commit_retry_seconds", "yanxiu_commit_failed_tries"))
    assert count == failed >= 10
    assert RETRY_S * 0.9 <= total / count and 0.08 <= total <= 0.2
