"""The faults the fault campaign injects into a running reference server, each a pair of
``inject()`` and ``lift()`` (an instant fault lifts nothing). All act on this campaign's own
server, files and PostgreSQL database only, except ``PostgresRestart``: it stops the whole
local PostgreSQL server (every database on it) for a few seconds and must end with the server
started again (``lift()`` runs from a ``finally``; ``ensure_running`` checks it at the end).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class Fault:
    name = ""
    instant = False  # over when injected (a kill); else lasts until lift()
    longest_s = math.inf  # the longest it may be held (the campaign's --fault-s is capped to it)
    over_at: float | None = None  # when it was over, if before lift() returned (monotonic)

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


class PostgresBackendsKilled(_Repeating):
    """The server's PostgreSQL connections cut, on its own database only: every backend of
    that database terminated (``pg_terminate_backend``), again and again for the fault's
    length, so that reconnections are cut too. Other databases on the server are untouched."""

    name = "PostgreSQL backends killed"

    def __init__(self, database: str) -> None:
        self.database = database
        self.terminated = 0

    def step(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,)).fetchone()
            self.terminated += found[0] if found else 0


Cluster = tuple[str, str]  # a Debian PostgreSQL cluster: (version, name), e.g. ("15", "main")


def local_cluster(port: int = 5432) -> Cluster | str:
    """The Debian cluster serving 127.0.0.1:``port``, which this process may stop and start;
    or why not (not root, no ``pg_ctlcluster``, no such cluster online)."""
    if os.geteuid() != 0:
        return "not root (pg_ctlcluster needs root or the cluster's owner)"
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        return "no pg_ctlcluster / pg_lsclusters (not a Debian PostgreSQL)"
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30)
    for line in listed.stdout.splitlines():  # version, name, port, status, owner, ...
        fields = line.split()
        if len(fields) >= 4 and fields[2] == str(port) and fields[3].startswith("online"):
            return fields[0], fields[1]
    return f"no online cluster on port {port} (pg_lsclusters)"


def pg_ctlcluster(cluster: Cluster, action: str) -> None:
    """``pg_ctlcluster VERSION NAME ACTION`` (stop: fast mode, the default). In a session of
    its own, so that the postmaster it starts outlives a kill of this process group; its
    output to a file, not a pipe the postmaster would hold open."""
    with tempfile.TemporaryFile() as output:
        done = subprocess.run(["pg_ctlcluster", *cluster, action], stdin=subprocess.DEVNULL, stdout=output,
                              stderr=output, timeout=90, start_new_session=True)
        if done.returncode:
            output.seek(0)
            said = output.read().decode(errors="replace").strip().replace("\n", " ")
            raise RuntimeError(f"pg_ctlcluster {' '.join(cluster)} {action} exited {done.returncode}: {said}")


def accepting() -> bool:
    """Whether PostgreSQL on 127.0.0.1:5432 takes a connection now."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def wait_accepting(limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while not accepting():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def ensure_running(cluster: Cluster) -> bool:
    """Start the cluster if it does not accept connections; whether it does now."""
    if accepting():
        return True
    pg_ctlcluster(cluster, "start")
    return wait_accepting(30)


class PostgresRestart(Fault):
    """A real restart of the PostgreSQL server: ``pg_ctlcluster stop`` (fast mode: sessions
    ended, open transactions rolled back, a checkpoint) at inject(), down for the fault's
    length (at most ``longest_s``: every database on the server is down with it), then
    ``start`` at lift(), which returns once the server accepts connections again."""

    name = "PostgreSQL restart (server stopped)"
    longest_s = 3.0  # with the stop (~1.5 s) and the start (~2.5 s): down about 7 s

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.stop_s = self.outage_s = 0.0  # how long the stop took; stop begun to accepting again
        self._began = 0.0

    def inject(self) -> None:
        self._began, self.over_at = time.monotonic(), None
        pg_ctlcluster(self.cluster, "stop")
        self.stop_s = time.monotonic() - self._began

    def lift(self) -> None:
        """Start it; ``over_at`` is the first moment a probe found it accepting connections
        (probes every 20 ms from the start on: ``pg_ctlcluster`` itself returns later)."""
        failed = threading.Event()
        probe = threading.Thread(target=self._probe, args=(failed, time.monotonic() + 30), daemon=True)
        probe.start()
        try:
            pg_ctlcluster(self.cluster, "start")
        except BaseException:
            failed.set()
            raise
        finally:
            probe.join(timeout=31)
        if self.over_at is None and not ensure_running(self.cluster):
            raise RuntimeError(f"PostgreSQL {' '.join(self.cluster)} started but not accepting after 30 s")
        self.over_at = self.over_at or time.monotonic()
        self.outage_s = self.over_at - self._began

    def _probe(self, failed: threading.Event, deadline: float) -> None:
        while not failed.is_set() and time.monotonic() < deadline:
            if accepting():
                self.over_at = time.monotonic()
                return
            time.sleep(0.02)


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
    takes every free byte, then goes away. The write-ahead log is first checkpointed and
    truncated, so that the writes must grow it while the disk is full: a log that had reached
    its steady size is recycled in place and needs no space (a run of 2026-11-30 failed
    nothing that way)."""

    name = "disk full (tmpfs)"

    def __init__(self, mount: Path, database: Path) -> None:
        self.filler, self.database = mount / "filler", database

    def inject(self) -> None:
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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
