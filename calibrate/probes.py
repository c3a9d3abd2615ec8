"""Busy-time probes: what each tier of the target has spent, read before and after a step.

- ``ProcessCpu``: CPU seconds (user + system) of a process and all its children (psutil),
  for the server processes the calibration started itself. Children that exit keep the
  seconds last seen, so a restarted worker does not make busy time go backwards.
- ``MetricsScrape``: the target's Prometheus ``/metrics``: ``process_cpu_seconds_total``
  (the server's CPU, for ``--host``), ``yanxiu_requests_total`` per endpoint (our per-route
  counters: requests the server finished, counted where the work was done) and
  ``yanxiu_commit_seconds_sum`` (time the group commits held SQLite's single write lock).
- ``PostgresBusy``: ``pg_stat_database.active_time`` (PostgreSQL >= 14): milliseconds the
  database's backends spent executing statements, i.e. connection-busy time.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass

from calibrate.errors import CalibrationError

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class ProcessCpu:
    """CPU seconds of a process tree, monotone."""

    def __init__(self, pid: int) -> None:
        import psutil

        try:
            self._root = psutil.Process(pid)
        except psutil.Error as exc:
            raise CalibrationError(f"server process {pid}: {exc}") from None
        self._seen: dict[int, float] = {}

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


def parse_metrics(text: str) -> Scrape:
    cpu: float | None = None
    commit: float | None = None
    commits: float | None = None
    requests: dict[str, float] = defaultdict(float)
    errors: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, value = match.group(1), float(match.group(3))
        labels = dict(_LABEL.findall(match.group(2) or ""))
        if name == "process_cpu_seconds_total":
            cpu = (cpu or 0.0) + value
        elif name == "yanxiu_commit_seconds_sum":
            commit = (commit or 0.0) + value
        elif name == "yanxiu_commit_seconds_count":
            commits = (commits or 0.0) + value
        elif name == "yanxiu_requests_total":
            endpoint = labels.get("endpoint", "unmatched")
            requests[endpoint] += value
            if labels.get("status", "").startswith("5"):
                errors[endpoint] += value
    return Scrape(cpu, dict(requests), dict(errors), commit, commits)


class MetricsScrape:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/metrics"
        self.timeout_s = timeout_s

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
        scrape = parse_metrics(text)
        if not scrape.requests and scrape.cpu_s is None:
            raise CalibrationError(f"{self.url}: no Prometheus metrics in the answer")
        return scrape


class PostgresBusy:
    """Statement-execution time of one PostgreSQL database, in seconds."""

    def __init__(self, url: str) -> None:
        import sqlalchemy

        self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
        self._query = sqlalchemy.text(
            "SELECT active_time FROM pg_stat_database WHERE datname = current_database()")

    def seconds(self) -> float | None:
        """None when the server has no ``active_time`` (PostgreSQL < 14) or cannot be read."""
        import sqlalchemy

        try:
            with self.engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT pg_stat_clear_snapshot()"))
                value = conn.execute(self._query).scalar()
        except sqlalchemy.exc.SQLAlchemyError:
            return None
        return None if value is None else float(value) / 1000.0

    def close(self) -> None:
        self.engine.dispose()
