"""Database set-up: one code path for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit the server acknowledged
survives ``kill -9`` and power loss, and with a busy timeout so that several worker processes
queue for the single writer instead of failing. Writing transactions start with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes would fail at once
(SQLITE_BUSY_SNAPSHOT, no busy wait) whenever another process committed in between, so
writers take the write lock up front and readers use a separate engine with plain ``BEGIN``.
PostgreSQL (psycopg 3) needs none of this; both engines are then the same.

Every writer of a SQLite file queues for SQLite's lock on one ``flock`` first (``WritersLock``,
the file ``<database>-commit.lock``): the workers' group committers (reference.committer) and
the routes' own write transactions alike. SQLite's busy handler sleeps 1, 2, 5 ... 100 ms
between tries while the committers, which never sleep on the event loop, retry as the lock
frees: measured at 85% of the knee (2026-11-30 14:39), a route's write waited 296 ms for the
lock and a group commit 0.4 ms (issue 12). A writer blocked in ``flock`` is woken by the
kernel the moment the holder lets go, so a route's write waits for the writes ahead of it,
not for a sleep; the lock is let go after SQLite's COMMIT or ROLLBACK has returned
(``_WriterConnection``), so the next writer never finds SQLite's own lock still taken.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from reference.metrics import WRITE_LOCK_HELD, WRITE_LOCK_WAIT
from reference.models import Base

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Connections per engine (pool_size, max_overflow); SQLite's are cheap file handles.
SQLITE_POOL = (8, 16)
POSTGRES_POOL = (10, 20)
# A request holds at most two connections at once (its session and a second one a route
# opens itself: login by SMS code, a certificate download); the worker's committer keeps one
# writer connection for good (reference.committer._Writer).
PER_REQUEST = 2
COMMITTER = 1


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3; SQLite file paths get their folder made."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class WritersLock:
    """An exclusive ``flock`` on ``path``, shared by every writer of one SQLite file in every
    process; each holder has its own open files (a lock is its open file's, so two connections
    of one process exclude each other too). A blocked ``acquire`` releases the GIL and wakes
    the moment the holder lets go.

    Linux hands a freed ``flock`` to whoever asks first, not to the longest waiter, so a
    group committer that commits and at once tries again (its loop has the next batch ready)
    took the lock back before the woken route could (measured: a route's write waited up to
    150 ms behind a committer alone). Hence a turnstile in front: a writer that blocks holds
    ``<path>.queue`` while it waits for the lock, and a try (``try_acquire``, the committers)
    needs the turnstile free: the one who waited goes next, and a committer batches
    meanwhile whatever came."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fds: tuple[int, int] | None = None
        self.held = False

    def _open(self) -> tuple[int, int]:
        if self._fds is None:
            self._fds = tuple(os.open(p, os.O_RDWR | os.O_CREAT, 0o600)  # type: ignore[assignment]
                              for p in (self.path + ".queue", self.path))
        assert self._fds is not None
        return self._fds

    def acquire(self) -> None:
        turnstile, lock = self._open()
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        self.held = True

    def try_acquire(self) -> bool:
        turnstile, lock = self._open()
        try:
            fcntl.flock(turnstile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a writer waits: its turn first
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        self.held = True
        return True

    def release(self) -> None:
        if self._fds is not None:
            self.held = False
            fcntl.flock(self._fds[1], fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fds is not None:
            fds, self._fds, self.held = self._fds, None, False
            for fd in fds:
                os.close(fd)  # (closing a file lets go of its lock)


def writers_lock_path(url: str) -> str | None:
    """The writers' lock file of a SQLite file database; None for memory or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database + "-commit.lock"


class _WriterConnection(sqlite3.Connection):
    """A write engine's SQLite connection: lets go of its writers' lock once SQLite's COMMIT
    or ROLLBACK returned (or the connection closed), so the lock is never free while SQLite's
    is still taken. ``takes_lock``: its BEGIN takes the lock first (``_sqlite_engine``); the
    group committer's connection does not (it takes its own, never blocking the loop)."""

    writers_lock: WritersLock | None = None
    takes_lock = True
    locked_at = 0.0  # perf_counter() when its BEGIN IMMEDIATE returned

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.writers_lock is not None:
                self.writers_lock.close()

    def _let_go(self) -> None:
        if self.writers_lock is not None and self.writers_lock.held:
            self.writers_lock.release()
            WRITE_LOCK_HELD.observe(time.perf_counter() - self.locked_at)


def _sqlite_engine(url: str, begin: str) -> Engine:
    writes = begin != "BEGIN"
    lock_path = writers_lock_path(url) if writes else None
    connect_args: dict = {"check_same_thread": False}
    if writes:
        connect_args["factory"] = _WriterConnection
    engine = create_engine(url, connect_args=connect_args, pool_size=SQLITE_POOL[0],
                           max_overflow=SQLITE_POOL[1])

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if lock_path is not None:
            dbapi_connection.writers_lock = WritersLock(lock_path)

    # the histogram's children once, not per write (labels() validates and locks on every call)
    lock_wait_loop, lock_wait_thread = WRITE_LOCK_WAIT.labels("loop"), WRITE_LOCK_WAIT.labels("thread")

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        if not writes:
            connection.exec_driver_sql(begin)
            return
        # The wait for the write lock (the writers' flock, then BEGIN IMMEDIATE), timed by
        # whether the event loop's thread (the group committer) or a pool thread (a route)
        # waited (issue 12: writes held their session-gate slot ~4x as long as reads).
        started = time.perf_counter()
        raw = connection.connection.dbapi_connection
        lock = raw.writers_lock if raw.takes_lock else None
        if lock is not None:
            lock.acquire()
        try:
            connection.exec_driver_sql(begin)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        raw.locked_at = time.perf_counter()
        on_loop = threading.current_thread() is threading.main_thread()
        (lock_wait_loop if on_loop else lock_wait_thread).observe(raw.locked_at - started)

    return engine


class Database:
    """The engines and session factories of one database URL."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.sqlite = is_sqlite(self.url)
        if self.sqlite:
            self.engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
        else:
            self.engine = create_engine(
                self.url, pool_size=POSTGRES_POOL[0], max_overflow=POSTGRES_POOL[1], pool_pre_ping=True
            )
            self.read_engine = self.engine
        pool = SQLITE_POOL if self.sqlite else POSTGRES_POOL
        # Requests that may hold connections at once so that a checkout never waits for the
        # pool (reference.session_gate): 14 on PostgreSQL, 11 on SQLite (per engine, the
        # writer's pool also holding the committer's connection).
        self.request_slots = (sum(pool) - COMMITTER) // PER_REQUEST
        self.writer = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = sessionmaker(self.read_engine, expire_on_commit=False)

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with (self.writer if write else self.reader)() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
