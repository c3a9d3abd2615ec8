"""Busy-time probes: what each tier of the target has spent, read before and after a step.

- ``ProcessCpu``: CPU seconds (user + system) of a process and all its children (psutil),
  for the server processes the calibration started itself. Children that exit keep the
  seconds last seen, so a restarted worker does not make busy time go backwards.
- ``MetricsScrape``: the target's Prometheus ``/metrics``: ``process_cpu_seconds_total``
  (the server's CPU, for ``--host``), ``yanxiu_requests_total`` per endpoint (our per-route
  counters: requests the server finished, counted where the work was done) and
  ``yanxiu_commit_seconds_sum`` (time the group commits held SQLite's single write lock),
  and the same by the batch's size (``calibrate.writer`` fits a commit's and a write's cost).
- ``PostgresCpu``: CPU seconds of a PostgreSQL server running on this machine (its postmaster,
  backends and background processes, psutil). A server elsewhere is refused: what PostgreSQL
  reports about itself (``pg_stat_database.active_time``, ``pg_stat_statements``) is time in
  statements, lock waits included, not busy time.

``BusyReading``: one reading of a tier's busy seconds with whether the interval since the
previous one was the target's alone (``calibrate.host.covered`` takes a figure from those).
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from calibrate.errors import CalibrationError

# the group commits' CPU (yanxiu_commit_cpu_seconds_total), kept with the routes' CPU under this name
COMMITS_CPU = "(group commits)"
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class BusyReading:
    """A tier's busy seconds so far, read at wall-clock time ``when``. ``ours``: nothing but the
    target can have added to them since the previous reading (for PostgreSQL: no other database
    of its server worked); else ``others`` names who did."""

    when: float
    busy_s: float
    ours: bool = True
    others: tuple[str, ...] = ()


class ProcessCpu:
    """CPU seconds of a process tree, monotone."""

    def __init__(self, pid: int) -> None:
        import psutil

        try:
            self._root = psutil.Process(pid)
        except psutil.Error as exc:
            raise CalibrationError(f"server process {pid}: {exc}") from None
        self._seen: dict[int, float] = {}

    @property
    def pid(self) -> int:
        return int(self._root.pid)

    def seconds(self) -> float:
        import psutil

        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            processes = []
        for proc in processes:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            self._seen[proc.pid] = max(self._seen.get(proc.pid, 0.0), times.user + times.system)
        return sum(self._seen.values())


@dataclass(frozen=True)
class Scrape:
    """One reading of ``/metrics``."""

    cpu_s: float | None  # process_cpu_seconds_total (summed over processes), None if absent
    requests: dict[str, float]  # finished requests per endpoint name (all statuses)
    errors: dict[str, float]  # of which 5xx
    commit_s: float | None  # yanxiu_commit_seconds_sum
    commits: float | None = None  # yanxiu_commit_seconds_count: group commits (batches) so far
    # per endpoint, (seconds, requests) of yanxiu_request_seconds: the time each request spent
    # inside the app (the ASGI middleware), without the worker's queue before it and the client
    in_app: dict[str, tuple[float, float]] = field(default_factory=dict)
    jobs: float | None = None  # yanxiu_commit_jobs_sum: jobs (writes) the group commits committed so far
    # per batch-size band (yanxiu_commit_seconds_by_size{jobs}, yanxiu_commit_jobs_by_size_total):
    # [lock seconds, commits, jobs] so far; empty on a target without these timers
    by_size: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    # the routes' own write transactions (yanxiu_write_lock_held_seconds): [seconds, transactions]
    route_lock: tuple[float, float] | None = None
    # per endpoint, CPU seconds its requests spent in their own tasks and thread-pool calls so far
    # (yanxiu_route_cpu_seconds_total, reference.route_cpu); empty on a target without it
    route_cpu: dict[str, float] = field(default_factory=dict)
    # the PostgreSQL writer thread's timers (reference.committer.ThreadCommitter): name ->
    # [seconds, observations] so far of "wait", "linger", "answer" (yanxiu_writer_<name>_seconds),
    # "commit" (yanxiu_commit_seconds: its statements and commit), "jobs" ([jobs, commits]) and
    # "cpu" ([the commits' CPU seconds, 0]); empty without the writer's timers
    writer: dict[str, tuple[float, float]] = field(default_factory=dict)
    # the routes' own write transactions by the endpoint whose request ran them ("other" outside
    # a request, or a server whose timer has no endpoint label): [seconds, transactions] so far
    route_holds: dict[str, tuple[float, float]] = field(default_factory=dict)
    # a blocked SQLite group commit's retries (yanxiu_commit_retry_seconds, over what held the lock):
    # "sum" seconds, "count" retries, and "le <bound>" the retries within that bound so far
    commit_retry: dict[str, float] = field(default_factory=dict)
    # the SQLite lock's holds by length (calibrate.spread): "held <endpoint> <le>" (a route's own
    # transaction) and "commit <le>" (a group commit) -> cumulative count so far
    buckets: dict[str, float] = field(default_factory=dict)
    # the workers' garbage collections (yanxiu_gc_pause_seconds, reference.gc_policy): by
    # generation "0", "1", "2", (seconds, collections) so far over all workers; empty without it
    gc_pause: dict[str, tuple[float, float]] = field(default_factory=dict)


def parse_metrics(text: str) -> Scrape:
    cpu: float | None = None
    commit: float | None = None
    commits: float | None = None
    jobs: float | None = None
    requests: dict[str, float] = defaultdict(float)
    errors: dict[str, float] = defaultdict(float)
    in_app: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    route_cpu: dict[str, float] = defaultdict(float)
    by_size: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    route_lock: list[float] | None = None
    route_holds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    writer: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    retry: dict[str, float] = defaultdict(float)
    buckets: dict[str, float] = defaultdict(float)
    gc_pause: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, value = match.group(1), float(match.group(3))
        labels = dict(_LABEL.findall(match.group(2) or ""))
        if name in _WRITER:
            writer[_WRITER[name][0]][_WRITER[name][1]] += value
        if name == "process_cpu_seconds_total":
            cpu = (cpu or 0.0) + value
        elif name == "yanxiu_commit_seconds_sum":
            commit = (commit or 0.0) + value
        elif name == "yanxiu_commit_seconds_count":
            commits = (commits or 0.0) + value
        elif name == "yanxiu_commit_jobs_sum":
            jobs = (jobs or 0.0) + value
        elif name == "yanxiu_requests_total":
            endpoint = labels.get("endpoint", "unmatched")
            requests[endpoint] += value
            if labels.get("status", "").startswith("5"):
                errors[endpoint] += value
        elif name in ("yanxiu_request_seconds_sum", "yanxiu_request_seconds_count"):
            in_app[labels.get("endpoint", "unmatched")][name.endswith("_count")] += value
        elif name == "yanxiu_route_cpu_seconds_total":
            route_cpu[labels.get("endpoint", "unmatched")] += value
        elif name == "yanxiu_commit_cpu_seconds_total":  # beside the routes': the writes outside them
            route_cpu[COMMITS_CPU] += value
        elif name in _BY_SIZE:
            by_size[labels.get("jobs", "?")][_BY_SIZE[name]] += value
        elif name in ("yanxiu_write_lock_held_seconds_sum", "yanxiu_write_lock_held_seconds_count"):
            route_lock = route_lock or [0.0, 0.0]
            route_lock[name.endswith("_count")] += value
            route_holds[labels.get("endpoint", "other")][name.endswith("_count")] += value
        elif name == "yanxiu_write_lock_held_seconds_bucket":
            buckets[f"held {labels.get('endpoint', 'other')} {labels.get('le')}"] += value
        elif name == "yanxiu_commit_seconds_bucket":
            buckets[f"commit {labels.get('le')}"] += value
        elif name in ("yanxiu_gc_pause_seconds_sum", "yanxiu_gc_pause_seconds_count"):
            gc_pause[labels.get("generation", "?")][name.endswith("_count")] += value
        elif name.startswith("yanxiu_commit_retry_seconds_"):
            part = name.rsplit("_", 1)[1]
            retry[f"le {labels.get('le')}" if part == "bucket" else part] += value
    return Scrape(cpu, dict(requests), dict(errors), commit, commits,
                  {e: (s, n) for e, (s, n) in in_app.items()}, jobs,
                  {band: (v[0], v[1], v[2]) for band, v in by_size.items()},
                  (route_lock[0], route_lock[1]) if route_lock else None, dict(route_cpu),
                  {key: (v[0], v[1]) for key, v in writer.items()} if "wait" in writer else {},
                  route_holds={e: (v[0], v[1]) for e, v in route_holds.items()}, commit_retry=dict(retry),
                  buckets=dict(buckets), gc_pause={g: (v[0], v[1]) for g, v in gc_pause.items()})


# the writer thread's timers: which [seconds, observations] of ``Scrape.writer`` each sample adds to
_WRITER = {f"yanxiu_writer_{key}_seconds_{part}": (key, part == "count")
           for key in ("wait", "linger", "answer") for part in ("sum", "count")} | {
    "yanxiu_commit_seconds_sum": ("commit", 0), "yanxiu_commit_seconds_count": ("commit", 1),
    "yanxiu_commit_jobs_sum": ("jobs", 0), "yanxiu_commit_jobs_count": ("jobs", 1),
    "yanxiu_commit_cpu_seconds_total": ("cpu", 0)}

# the commit timers by batch size: which of [lock seconds, commits, jobs] each sample adds to
_BY_SIZE = {"yanxiu_commit_seconds_by_size_sum": 0, "yanxiu_commit_seconds_by_size_count": 1,
            "yanxiu_commit_jobs_by_size_total": 2}


class MetricsScrape:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/metrics"
        self.timeout_s = timeout_s
        self.last_text = ""  # the last answer as read (histogram buckets a Scrape does not keep)

    def read(self) -> Scrape:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout_s) as answer:
                text = answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise CalibrationError(f"{self.url}: HTTP {exc.code} (the target needs a Prometheus /metrics)") \
                from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CalibrationError(f"{self.url}: unreachable ({reason})") from None
        self.last_text = text
        scrape = parse_metrics(text)
        if not scrape.requests and scrape.cpu_s is None:
            raise CalibrationError(f"{self.url}: no Prometheus metrics in the answer")
        return scrape


class PostgresCpu:
    """CPU seconds of a PostgreSQL server on this machine: its postmaster, backends and
    background processes (WAL writer, checkpointer, autovacuum and parallel workers).

    Not ``pg_stat_database.active_time`` (nor ``pg_stat_statements``' execution time): those
    are wall-clock time in statements, lock waits, I/O and client waits included, so under
    concurrency they count statements in progress, not busy time.

    A backend that exits is reaped by the postmaster, whose ``children_user/children_system``
    (``/proc/PID/stat`` cutime/cstime) then hold its seconds; live ones are read one by one.
    The postmaster is read before its children, so a backend reaped between the two reads is
    missed by that one reading and counted by the next (the reading is held monotone): a
    bin's error, not a drift.

    It is the whole server's CPU, and a backend's database cannot be told once it has exited:
    so a reading is None when another database of the server committed, rolled back or opened
    a session since the previous reading (``pg_stat_database``, read before and after the
    CPU): that bin's CPU is not ours alone, and the fit leaves it out. The server's own work
    at rest (checkpointer, WAL writer) is the fit's idle term.
    """

    def __init__(self, url: str) -> None:
        import psutil
        import sqlalchemy

        # one connection, kept: a reading then costs a query, not a connection's start-up
        self.engine = sqlalchemy.create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        try:
            with self.engine.connect() as conn:
                backend, started = conn.execute(sqlalchemy.text(
                    "SELECT pg_backend_pid(), extract(epoch FROM pg_postmaster_start_time())")).one()
                # while connected: a backend exits with its connection
                postmaster = _local_postmaster(int(backend), float(started))
        except sqlalchemy.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise CalibrationError(f"--database-url: cannot connect: {reason}") from None
        if postmaster is None:
            self.engine.dispose()
            raise CalibrationError(
                "--database-url: the PostgreSQL server is not on this machine (its processes are not "
                "visible here), so its busy time (CPU) cannot be read; pg_stat_database.active_time and "
                "pg_stat_statements count lock and I/O waits, not busy time: calibrate without "
                "--database-url (the database keeps the scenario's demands) or on the database's host")
        self.postmaster = postmaster
        self._error = psutil.Error
        self._last = 0.0
        # other databases' work counters at the start and end of the last reading; None: none yet
        self._since: tuple[dict[str, float], dict[str, float]] | None = None
        self._failed = False  # the last reading failed: the interval after it is not known
        self.readings: list[BusyReading] = []  # every reading that succeeded, in turn
        self.shared_readings = 0  # readings refused because other databases worked meanwhile

    def seconds(self) -> float | None:
        """None when other databases worked since the last reading, or the server cannot be
        read (stopped, restarted: its counters start again)."""
        reading = self.read()
        return reading.busy_s if reading is not None and reading.ours else None

    def read(self) -> BusyReading | None:
        """The server's CPU so far (held monotone), ``ours`` when no other database's counter
        moved from the start of the previous reading to the end of this one: work another
        database did while either reading read the CPU may fall in the interval on either
        side of that reading, which cannot be told, so it spoils both. None: not readable."""
        before = self._other_work()
        total = self._cpu()
        after = self._other_work()
        if total is None or before is None or after is None:
            self._failed = True
            return None
        # the counters in turn since the previous reading started (a database created and
        # dropped between two reads would leave the ends equal)
        chain = [*(self._since or ()), before, after]
        worked = tuple(sorted({name for a, b in zip(chain, chain[1:], strict=False)
                               for name in {*a, *b} if a.get(name) != b.get(name)}))
        if self._failed and self.readings:
            worked = worked or ("(unread: the previous reading failed)",)
        self._since, self._failed = (before, after), False
        self._last = max(self._last, total)
        reading = BusyReading(time.time(), self._last, not worked, worked)
        self.readings.append(reading)
        self.shared_readings += not reading.ours
        return reading

    def _cpu(self) -> float | None:
        try:
            own = self.postmaster.cpu_times()
            children = self.postmaster.children(recursive=True)
        except self._error:
            return None
        total = own.user + own.system + own.children_user + own.children_system
        for child in children:
            try:
                times = child.cpu_times()
            except self._error:  # exited since the listing: the next reading has it
                continue
            total += times.user + times.system
        return float(total)

    def _other_work(self) -> dict[str, float] | None:
        """Transactions and sessions of each of the server's other databases so far (a backend
        flushes them when it goes idle, within a second, and when it exits); a database created
        or dropped meanwhile appears or disappears, which counts as work."""
        import sqlalchemy

        try:
            with self.engine.connect() as conn:  # a transaction: a fresh statistics snapshot
                rows = conn.execute(sqlalchemy.text(
                    "SELECT datname, xact_commit + xact_rollback + coalesce(sessions, 0) "
                    "FROM pg_stat_database "
                    "WHERE datname IS NOT NULL AND datname <> current_database()")).all()
        except sqlalchemy.exc.SQLAlchemyError:
            return None
        return {str(name): float(value or 0.0) for name, value in rows}

    def cores(self) -> int:
        """The cores the server may run on (its CPU affinity): the database tier's servers."""
        import os

        try:
            return len(self.postmaster.cpu_affinity())
        except (self._error, AttributeError):  # AttributeError: no affinity on this OS
            return os.cpu_count() or 1

    def close(self) -> None:
        self.engine.dispose()


def _local_postmaster(backend_pid: int, started_epoch: float) -> Any:
    """The postmaster of the backend we talked to, if that backend is a process here: its
    parent, started when the server says it started (a pid alone could be another machine's,
    e.g. a container's, and name an unrelated process here)."""
    import psutil

    try:
        parent = psutil.Process(backend_pid).parent()
        if parent is None or abs(parent.create_time() - started_epoch) > 2.0:
            return None
        return parent
    except psutil.Error:
        return None
