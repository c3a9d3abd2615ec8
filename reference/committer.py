"""Group commit: many concurrent writes, one durable commit.

With ``synchronous=FULL`` every SQLite commit waits for an fsync (about 0.5-3 ms here), and
SQLite has a single writer, so one transaction per heartbeat caps a server at a few hundred
heartbeats a second however many cores it has. Instead request handlers hand a job (a function
of a Session) to the worker's committer and await a future; the committer takes all jobs
waiting, runs them in one transaction, commits once, and only then resolves the futures. An
answered request is therefore still a committed one (durability is unchanged); the fsync is
shared by the batch. A job whose class has ``run_all(session, jobs)`` (a ``BatchJob``, e.g. the
heartbeat's) runs together with the other jobs of its class: one call, a few statements for
all of them, one outcome (result or ``ApiError``) each.

A job that raises ``ApiError`` has refused before writing anything, so only its own future
fails. Any other error (or a ``run_all`` that raises) aborts the batch, which is then replayed
one job per transaction so that one bad job cannot fail its neighbours.

Two drivers share that writer (``make_committer``):

- ``LoopCommitter`` (SQLite files): the event loop runs the batch itself at the end of the turn
  in which its first job came, holding the database's write lock only for the statements and
  the commit. Measured
  here, a writer thread spent half its time winning the GIL back from the busy event loop
  after every SQLite call (each call releases it), and held the write lock all that while:
  the other worker waited for it and the loops ran out of work. The loop pauses for the
  commit's fsync (~0.5 ms here, once per batch).
- ``ThreadCommitter`` (PostgreSQL, and SQLite by setting): a writer thread per worker, so a
  slow database or a lock wait never pauses the event loop.

On SQLite the writers of all worker processes take turns on one file lock (``_FileLock``):
SQLite's own busy handler sleeps 1, 2, 5, 10... ms between retries, so two workers' writers
used to starve each other (p99 over 100 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import sys
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy.engine import make_url

from reference import metrics
from reference.batch_writer import BatchWriter, Item, Job, Outcome
from reference.db import Database

log = logging.getLogger("reference.committer")
SWITCH_INTERVAL_S = 0.0005
# How soon a loop tries the write lock again while another process has it. Whole milliseconds:
# uvloop (uvicorn's loop) rounds call_later's delay to them, so 0.2 ms ran as 0 and a blocked
# loop spun on the lock, measured at 12,000-13,000 failed tries a second at 60% of the SQLite knee
# (2026-11-30 23:28-23:59, yanxiu_commit_failed_tries), a core taken from the process holding it.
RETRY_S = 0.001


class _Committer:
    """What both drivers have: the batch limit, the linger, the writer and the file lock."""

    wait_for_lock = True

    def __init__(self, db: Database, max_batch: int, linger_s: float) -> None:
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._writer = BatchWriter(db, wait_for_lock=self.wait_for_lock)
        self._lock = _writers_lock(db)

    @property
    def batches(self) -> int:
        return self._writer.batches


class LoopCommitter(_Committer):
    """Batches run by the event loop that submitted them (see the module's docstring)."""

    wait_for_lock = False

    def __init__(self, db: Database, max_batch: int = 128, linger_s: float = 0.0) -> None:
        super().__init__(db, max_batch, linger_s)
        self._in_use = threading.Lock()  # one connection, and loops may live in several threads
        self._pending: dict[asyncio.AbstractEventLoop, list[Item]] = {}
        self._armed: set[asyncio.AbstractEventLoop] = set()
        # instrumentation (metrics.COMMIT_WAIT): each pending job's hand-over time, and what held
        # the write lock at the loop's first failed try since its last batch ("none" if none failed)
        self._since: dict[asyncio.AbstractEventLoop, list[float]] = {}
        self._behind: dict[asyncio.AbstractEventLoop, str] = {}
        self._waits = {who: metrics.COMMIT_WAIT.labels(who) for who in ("none", "route", "committer")}
        self._failed: dict[asyncio.AbstractEventLoop, int] = {}  # failed tries since the last batch
        self._tries = {who: metrics.COMMIT_TRIES.labels(who) for who in ("none", "route", "committer")}
        # the last failed try's time and holder, for metrics.COMMIT_RETRY (the retry's real interval)
        self._failed_at: dict[asyncio.AbstractEventLoop, tuple[float, str]] = {}
        self._holder = "committer"
        self._retries = {who: metrics.COMMIT_RETRY.labels(who) for who in ("route", "committer")}

    def submit(self, job: Job) -> asyncio.Future:
        """Queue ``job``; await the returned future (from a coroutine) for its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append((job, loop, future))
        self._since.setdefault(loop, []).append(time.perf_counter())
        if loop not in self._armed:
            self._armed.add(loop)
            # By default no linger: the batch is what the loop took in during this turn (a
            # busy loop takes in many requests per turn), and whatever arrives while another
            # process holds the lock. Measured here against a 1 ms linger: 0.62 vs 0.51 of
            # hello-world at 16 connections, 0.64 vs 0.56 at 64, less CPU per heartbeat.
            loop.call_later(self.linger_s, self._flush, loop)
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._armed.discard(loop)
        pending = self._pending.get(loop)
        if not pending:
            return
        batch = pending[: self.max_batch]
        began = time.perf_counter()
        failed = self._failed_at.pop(loop, None)
        if failed is not None:
            self._retries[failed[1]].observe(began - failed[0])
        try:
            outcomes = self._try_commit(batch, loop)
        except Exception as exc:  # e.g. the lock file cannot be opened: answer, never hang
            log.exception("group commit failed before running its batch")
            outcomes = [(False, exc)] * len(batch)
        if not outcomes:
            self._failed[loop] = self._failed.get(loop, 0) + 1
            self._failed_at[loop] = (time.perf_counter(), self._holder)
        self._time_waits(loop, len(outcomes), began)
        del pending[: len(outcomes)]
        done = zip(batch[: len(outcomes)], outcomes, strict=True)
        _settle([(future, ok, value) for (_job, _loop, future), (ok, value) in done])
        if pending:  # the rest of a long queue, or the write lock was taken: again soon
            self._armed.add(loop)
            loop.call_later(0 if outcomes else RETRY_S, self._flush, loop)

    def _try_commit(self, batch: list[Item], loop: asyncio.AbstractEventLoop) -> list[Outcome]:
        self._holder = "committer"  # who held the lock at a failed try (the other worker's group commit)
        if not self._in_use.acquire(blocking=False):
            self._behind.setdefault(loop, "committer")
            return []
        try:
            if not self._lock.try_acquire():
                self._behind.setdefault(loop, "committer")  # the other worker's group commit
                return []
            try:
                outcomes = self._writer.commit(batch)
                if not outcomes:  # SQLite busy: a transaction outside the committers (a route's)
                    self._behind.setdefault(loop, "route")
                    self._holder = "route"
                return outcomes
            finally:
                self._lock.release()
        finally:
            self._in_use.release()

    def _time_waits(self, loop: asyncio.AbstractEventLoop, done: int, began: float) -> None:
        """Each of the ``done`` jobs' wait from its hand-over until its batch ``began``."""
        if not done:
            return
        since = self._since.get(loop, [])
        behind = self._behind.pop(loop, "none")
        timer = self._waits[behind]
        self._tries[behind].observe(self._failed.pop(loop, 0))
        for submitted in since[:done]:
            timer.observe(began - submitted)
        del since[:done]


class ThreadCommitter(_Committer):
    """A writer thread per worker; the event loops only queue jobs and await futures."""

    def __init__(self, db: Database, max_batch: int = 128, linger_s: float = 0.001) -> None:
        super().__init__(db, max_batch, linger_s)
        # each job with its hand-over time (perf_counter): the writer's timers (metrics.WRITER_*)
        self._queue: queue.SimpleQueue[tuple[Item, float]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, job: Job) -> asyncio.Future:
        """Queue ``job``; await the returned future (from a coroutine) for its result."""
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(((job, loop, future), time.perf_counter()))
        return future

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                # The writer drops the GIL in every SQLite call and must win it back from a
                # busy event loop, which by default keeps it up to 5 ms.
                sys.setswitchinterval(SWITCH_INTERVAL_S)
                self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            taken = time.perf_counter()
            batch, handed = [first[0]], [first[1]]
            # Linger a moment for the requests already on their way: measured here, 1 ms
            # doubled the batch at 16 concurrent players and halved the CPU per heartbeat.
            self._gather(batch, handed, self.linger_s)
            with self._lock:
                self._gather(batch, handed, 0.0)  # what queued while another process committed
                began = time.perf_counter()
                outcomes = self._writer.commit(batch)  # waits for the lock: never short
            _time_batch(taken, began, handed)
            # One wake-up per event loop and batch, not one per job.
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, bool, Any]]]
            by_loop = defaultdict(list)
            for (_job, loop, future), (ok, value) in zip(batch, outcomes, strict=True):
                by_loop[loop].append((future, ok, value))
            for loop, answers in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle_timed, answers, time.perf_counter())
                except RuntimeError:  # that loop has closed: nobody waits (the batch is committed)
                    log.debug("event loop closed before its batch was answered")

    def _gather(self, batch: list[Item], handed: list[float], linger_s: float) -> None:
        deadline = time.monotonic() + linger_s
        while len(batch) < self.max_batch:
            try:
                item, when = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            batch.append(item)
            handed.append(when)


def _time_batch(taken: float, began: float, handed: list[float]) -> None:
    """The writer thread's timers (issue 12, the PostgreSQL heartbeat): each job's wait from its
    hand-over until its batch's statements began (behind the previous batch, then the linger),
    and the batch's linger as it really lasted (the timed wait, then winning the GIL back)."""
    metrics.WRITER_LINGER.observe(began - taken)
    for when in handed:
        metrics.WRITER_WAIT.observe(began - when)


def _settle_timed(outcomes: list[tuple[asyncio.Future, bool, Any]], answered: float) -> None:
    """``_settle`` on the loop, timing how long the loop took to run it after the writer asked."""
    metrics.WRITER_ANSWER.observe(time.perf_counter() - answered)
    _settle(outcomes)


GroupCommitter = LoopCommitter | ThreadCommitter


def make_committer(db: Database, mode: str = "auto") -> GroupCommitter:
    """``auto``: the loop runs the batches on a SQLite file, a writer thread otherwise (a
    PostgreSQL round trip or row-lock wait must not pause the loop)."""
    on_loop = mode == "loop" or (mode == "auto" and isinstance(_writers_lock(db), _FileLock))
    return LoopCommitter(db) if on_loop else ThreadCommitter(db)


class _FileLock:
    """An exclusive ``flock`` shared by the writers of all worker processes. A blocked
    ``flock`` wakes the moment the other process commits, and its queue has grown meanwhile."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def __enter__(self) -> None:
        fcntl.flock(self._open(), fcntl.LOCK_EX)  # releases the GIL while it waits

    def __exit__(self, *_exc) -> None:
        self.release()

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._open(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._open(), fcntl.LOCK_UN)


class _NoLock(contextlib.nullcontext):
    """PostgreSQL has row locks, not one writer; an in-memory SQLite database has one process."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def _writers_lock(db: Database) -> _FileLock | _NoLock:
    path = make_url(db.url).database if db.sqlite else None
    if not path or path == ":memory:":
        return _NoLock()
    return _FileLock(path + "-commit.lock")


def _settle(outcomes: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():  # the client went away
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
