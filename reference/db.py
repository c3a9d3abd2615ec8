"""Database set-up: one code path for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` so that a commit the server acknowledged
survives ``kill -9`` and power loss, and with a busy timeout so that several worker processes
queue for the single writer instead of failing. Writing transactions start with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes would fail at once
(SQLITE_BUSY_SNAPSHOT, no busy wait) whenever another process committed in between, so
writers take the write lock up front and readers use a separate engine with plain ``BEGIN``.
PostgreSQL (psycopg 3) needs none of this; both engines are then the same.

SQLite's lock is not first come, first served between the two kinds of writer: the workers'
group committers (reference.committer) never sleep (busy timeout 0) and retry from their loops
as it frees, while a route's own write transaction sleeps 1, 2, 5 ... 100 ms between tries in
SQLite's busy handler, so a waiting batch goes first. Kept so on purpose: queueing the routes
first (a shared flock with a turnstile, 2026-11-30 16:56-17:23, docs/calibration.md "The write
lock") cut a route's wait for the lock at 85% of the knee from 33 to 13 ms but at 110% the
heartbeats waited behind the routes' long holds (15 ms, the GIL) and the p95 rose from 130 to
570 ms. A route transaction's hold is timed (``_WriterConnection``) beside the commits'.
"""

from __future__ import annotations

import contextvars
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
# writer connection for good (reference.batch_writer.BatchWriter).
PER_REQUEST = 2
COMMITTER = 1
# The endpoint whose request runs on this thread (set by the session gate's dependency, copied
# into the pool thread by anyio): the label of a route transaction's lock hold.
WRITING_ENDPOINT: contextvars.ContextVar[str] = contextvars.ContextVar("yanxiu_writing_endpoint",
                                                                      default="other")


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


class _WriterConnection(sqlite3.Connection):
    """A write engine's SQLite connection that times how long its transaction held the write
    lock: from its BEGIN IMMEDIATE's return (``locked_at``) until COMMIT or ROLLBACK returned."""

    locked_at: float | None = None
    locked_by = "other"  # the endpoint (WRITING_ENDPOINT) whose transaction holds the lock

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

    def _let_go(self) -> None:
        if self.locked_at is not None:
            WRITE_LOCK_HELD.labels(self.locked_by).observe(time.perf_counter() - self.locked_at)
            self.locked_at = None


def _sqlite_engine(url: str, begin: str) -> Engine:
    writes = begin != "BEGIN"
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

    # the histogram's children once, not per write (labels() validates and locks on every call)
    lock_wait_loop, lock_wait_thread = WRITE_LOCK_WAIT.labels("loop"), WRITE_LOCK_WAIT.labels("thread")

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        if not writes:
            connection.exec_driver_sql(begin)
            return
        # BEGIN IMMEDIATE waits (SQLite's busy handler) for the one write lock: timed, by
        # whether the event loop's thread (the group committer) or a pool thread (a route)
        # waited (issue 12: writes held their session-gate slot ~4x as long as reads).
        started = time.perf_counter()
        connection.exec_driver_sql(begin)
        locked_at = time.perf_counter()
        on_loop = threading.current_thread() is threading.main_thread()
        (lock_wait_loop if on_loop else lock_wait_thread).observe(locked_at - started)
        if not on_loop:  # a route's own transaction (the group commits' hold: yanxiu_commit_seconds)
            raw = connection.connection.dbapi_connection
            raw.locked_at, raw.locked_by = locked_at, WRITING_ENDPOINT.get()

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
