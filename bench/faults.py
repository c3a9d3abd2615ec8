"""The faults the fault campaign injects into a running reference server, each a pair of
``inject()`` and ``lift()`` (an instant fault lifts nothing). All act on this campaign's own
server, files and PostgreSQL database only: the shared PostgreSQL server is never restarted.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class Fault:
    name = ""
    instant = False  # over when injected (a kill); else lasts until lift()

    def inject(self) -> None:
        raise NotImplementedError

    def lift(self) -> None:
        pass


def worker_pids(server: subprocess.Popen) -> list[int]:
    """The uvicorn workers (spawned processes) under the server's parent."""
    import psutil

    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.Error:  # gone, or a zombie, since it was listed
            continue
    return sorted(found)


class KillWorker(Fault):
    """``kill -9`` of one worker, mid-load; uvicorn's parent starts another in its place."""

    name, instant = "kill -9 worker", True

    def __init__(self, server: subprocess.Popen) -> None:
        self.server = server

    def inject(self) -> None:
        os.kill(worker_pids(self.server)[0], signal.SIGKILL)


class _Repeating(Fault):
    """Does ``step()`` every ``every_s`` from inject() to lift(), in a thread."""

    every_s = 0.25

    def inject(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.every_s)

    def step(self) -> None:
        raise NotImplementedError

    def lift(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class PostgresRestart(_Repeating):
    """What a PostgreSQL restart does to the server, on its own database only: every backend
    of that database terminated (``pg_terminate_backend``), again and again for the fault's
    length, so that reconnections fail too. (Restarting the shared server would hit others.)"""

    name = "PostgreSQL restart (backends terminated)"

    def __init__(self, database: str) -> None:
        self.database = database
        self.terminated = 0

    def step(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,)).fetchone()
            self.terminated += found[0] if found else 0


class StalledPostgres(Fault):
    """A stalled connection: another transaction holds the heartbeat's table locked (ACCESS
    EXCLUSIVE) for the fault's length; the server's writes wait behind it."""

    name = "stalled database connection"

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")

    def inject(self) -> None:
        self._conn = psycopg.connect(self.url)
        self._conn.execute("LOCK TABLE resource_progress IN ACCESS EXCLUSIVE MODE")

    def lift(self) -> None:
        self._conn.rollback()
        self._conn.close()


class StalledSqlite(Fault):
    """A stalled connection: another connection holds SQLite's write lock (BEGIN IMMEDIATE)
    for the fault's length."""

    name = "stalled database connection"

    def __init__(self, path: Path) -> None:
        self.path = path

    def inject(self) -> None:
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._conn.execute("BEGIN IMMEDIATE")

    def lift(self) -> None:
        self._conn.execute("ROLLBACK")
        self._conn.close()


class DiskFull(Fault):
    """The SQLite file's disk full: a size-limited tmpfs holds the database; a filler file
    takes every free byte, then goes away."""

    name = "disk full (tmpfs)"

    def __init__(self, mount: Path) -> None:
        self.filler = mount / "filler"

    def inject(self) -> None:
        chunk = b"\0" * (1 << 20)
        with self.filler.open("wb", buffering=0) as out:
            for size in (1 << 20, 1 << 12, 1):  # MiB, then pages, then bytes: to the last one
                try:
                    while True:
                        out.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def lift(self) -> None:
        self.filler.unlink(missing_ok=True)


class SmsDown(Fault):
    """The SMS gateway failing: every worker's gateway raises while the flag file exists."""

    name = "SMS gateway failing"

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def inject(self) -> None:
        self.flag.touch()

    def lift(self) -> None:
        self.flag.unlink(missing_ok=True)


def mount_tmpfs(path: Path, size_mib: int) -> str | None:
    """A size-limited tmpfs at ``path``; None, or why it could not be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
                          capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else (done.stderr.strip() or f"mount exited {done.returncode}")


def unmount(path: Path) -> None:
    for _ in range(10):  # a server just stopped may still hold a file for a moment
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode == 0:
            return
        time.sleep(0.5)
