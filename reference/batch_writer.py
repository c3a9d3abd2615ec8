"""A group commit's batch run in one transaction (``BatchWriter``), for the committers'
drivers (``reference.committer``): the jobs' types, the refusal to wait for SQLite's write lock
(``Busy``), one call per batched kind of job, and the replay of a failed batch one job per
transaction. Split from reference.committer, unchanged, when it grew past 400 lines."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from reference import metrics
from reference.db import Database
from reference.errors import ApiError

log = logging.getLogger("reference.committer")


class BatchJob(Protocol):
    @staticmethod
    def run_all(session: Session, jobs: list[Any]) -> list[Any]: ...


Job = Callable[[Session], Any] | BatchJob
# Where an outcome goes: a Future of the event loop that awaits it.
Item = tuple[Job, asyncio.AbstractEventLoop, asyncio.Future]
Outcome = tuple[bool, Any]  # (succeeded, result or exception)


class Busy(Exception):
    """Another connection holds SQLite's write lock (a route writing outside the committer)."""


class BatchWriter:
    """Runs batches on one long-lived connection: a pool checkout, its reset and a new Session
    per batch cost about 0.2 ms of CPU each time (measured), as much as SQLite's commit."""

    def __init__(self, db: Database, wait_for_lock: bool) -> None:
        self.db = db
        self.wait_for_lock = wait_for_lock
        self._connection: Connection | None = None
        self._committing = False  # the batch's COMMIT was sent (its outcome then unknown on a failure)
        self.batches = 0
        # the histogram's children once (labels() validates and locks on every call)
        self._by_size = {size: (metrics.COMMIT_SECONDS_BY_SIZE.labels(size),
                                metrics.COMMIT_JOBS_BY_SIZE.labels(size)) for size in metrics.COMMIT_SIZES}

    def commit(self, batch: list[Item]) -> list[Outcome]:
        """Run and commit ``batch``; on a failure, each job alone. The outcomes follow the
        batch's order; they stop short where ``Busy`` stopped the writer (the database's
        write lock taken by another connection, and this writer may not wait): the jobs
        after that did not run and are to be submitted again."""
        try:
            return self._commit_fresh(batch)
        except Busy:
            return []
        except Exception as exc:
            if len(batch) == 1:
                return [(False, exc)]
            log.warning("batch of %d failed; replaying jobs one by one", len(batch), exc_info=True)
        done: list[Outcome] = []
        for item in batch:
            outcome = self.commit([item])
            if not outcome:
                break
            done += outcome
        return done

    def _commit_fresh(self, batch: list[Item]) -> list[Outcome]:
        """``_commit``, and once more on a new connection if the kept one had died while idle
        (the database restarted, or cut it) and failed before the COMMIT was sent: then
        nothing of the batch was committed. Else the first batch after a restart failed
        although the database was back (a 503 for a single job)."""
        kept = self._connection is not None
        self._committing = False
        try:
            return self._commit(batch)
        except DBAPIError as exc:
            if not (kept and exc.connection_invalidated and not self._committing):
                raise
            log.info("database connection lost while idle (%s); reconnecting", exc.orig)
        return self._commit(batch)

    def _commit(self, batch: list[Item]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            with Session(bind=self._connect(), expire_on_commit=False) as session:
                self._begin(session)
                for indices, results in _run(session, [job for job, _loop, _future in batch]):
                    for index, result in zip(indices, results, strict=True):
                        outcomes[index] = (not isinstance(result, ApiError), result)
                session.flush()  # a dead connection fails here, before the COMMIT
                self._committing = True
                session.commit()
        except Busy:
            # Nothing began (another connection holds SQLite's write lock): the connection is
            # sound and kept. Dropping it here reconnected (open + 4 PRAGMAs) on every retry,
            # every 0.2 ms for as long as the lock was held (seen in the fault campaign).
            raise
        except Exception:
            self._disconnect()
            raise
        held = time.perf_counter() - started
        metrics.COMMIT_CPU.inc(time.thread_time() - cpu_started)
        metrics.COMMIT_SECONDS.observe(held)
        metrics.COMMIT_JOBS.observe(len(batch))
        timer, jobs = self._by_size[metrics.commit_size(len(batch))]
        timer.observe(held)
        jobs.inc(len(batch))
        self.batches += 1
        return [outcomes[i] for i in range(len(batch))]

    def _begin(self, session: Session) -> None:
        try:
            session.connection()  # BEGIN (IMMEDIATE on SQLite) now, before any job runs
        except OperationalError as exc:
            if not self.wait_for_lock and "locked" in str(exc.orig):
                raise Busy from exc
            raise

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self.db.engine.connect()
            if self.db.sqlite and not self.wait_for_lock:  # never sleep in the event loop
                raw = self._connection.connection.dbapi_connection
                assert raw is not None  # a fresh connection always has its driver connection
                raw.cursor().execute("PRAGMA busy_timeout=0")
        return self._connection

    def _disconnect(self) -> None:
        """After any failure: drop the connection (and its transaction); reconnect next time."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # already broken: nothing more to release
                log.debug("closing a failed connection", exc_info=True)
            self._connection = None


def _run(session: Session, jobs: list[Job]) -> Iterator[tuple[list[int], list[Any]]]:
    """(jobs' indices, their results) per call: one call per batched kind, one per other job."""
    kinds: dict[Any, list[int]] = defaultdict(list)  # job class -> indices; its run_all takes them
    for index, job in enumerate(jobs):
        if getattr(type(job), "run_all", None) is None:
            assert callable(job)  # a Job without run_all is a plain callable
            yield [index], [_outcome(job, session)]
        else:
            kinds[type(job)].append(index)
    for kind, indices in kinds.items():
        yield indices, kind.run_all(session, [jobs[i] for i in indices])


def _outcome(job: Callable[[Session], Any], session: Session) -> Any:
    try:
        return job(session)
    except ApiError as refusal:
        return refusal
