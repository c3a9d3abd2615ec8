"""The calibrated target: the reference platform started here (SQLite or PostgreSQL), or a
running system at ``--host``; and the probes that read its busy time."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from calibrate.errors import CalibrationError
from calibrate.probes import MetricsScrape, PostgresCpu, ProcessCpu
from calibrate.steps import Probes


@dataclass(frozen=True)
class Target:
    url: str
    accounts: Path
    answers: Path | None
    probes: Probes
    kind: str  # "reference (SQLite, 2 workers)" or "host"
    api_servers: int | None  # cores the api tier has, when known (workers we started)
    # pool tiers of the scenario the target does not have, with why (the reference platform
    # is api workers and one database: its SMS gateway records the text in that database)
    absent: str | None = None
    # cores of the database's host when its busy time is that host's CPU (PostgreSQL here)
    database_servers: int | None = None
    database_url: str | None = None  # the PostgreSQL database served (a scratch one, or --host's)


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A fresh database on the server of ``url`` for the run, dropped after (the calibration
    never writes into a database it did not create)."""
    import sqlalchemy

    name = f"yanxiu_calibrate_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        admin.dispose()
        raise CalibrationError(f"--database-url: cannot create a scratch database: "
                               f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0]}") from None
    try:
        yield str(sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError), admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def reference(scenario_path: Path, teachers: int, clock: str, sms_code: str, workers: int,
              clock_rate: float | None, progress_at: str | None, model_results: Path,
              database_url: str | None, say: Callable[[str], None], resumed: int = 0) -> Iterator[Target]:
    """The reference platform seeded and served on 127.0.0.1 (``loadtests.target``); with
    ``resumed``, that many teachers seeded in a session at ``progress_at`` (for a replay with
    ``--resume-sessions``)."""
    from loadtests.target import ReferenceTarget

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_postgres(database_url)) if database_url else None
        # a server elsewhere is refused (one line, exit 2) before the seeding, not after it
        postgres = PostgresCpu(url) if url else None
        if postgres is not None:
            stack.callback(postgres.close)

        class _Reference(ReferenceTarget):
            def _database(self) -> str:
                return url or super()._database()

        target = _Reference(scenario_path, teachers, clock, sms_code, workers, clock_rate, say=say,
                            progress_at=progress_at, model_results=model_results, resumed=resumed)
        try:
            stack.enter_context(target)
        except Exception as exc:  # the harness's own one-line errors, whatever their type
            raise CalibrationError(str(exc)) from None
        assert target.process is not None  # started by entering the context
        probes = Probes(MetricsScrape(target.url), ProcessCpu(target.process.pid), postgres)
        probes.sources = {"api": f"psutil CPU of the server's process tree ({workers} workers)",
                          "database": postgres_source(postgres) if postgres else
                          "yanxiu_commit_seconds_sum (SQLite write lock held by group commits)"}
        yield Target(target.url, target.accounts, target.answers, probes, reference_kind(bool(url), workers),
                     workers, absent=REFERENCE_HAS_NO,
                     database_servers=postgres.cores() if postgres else None, database_url=url)


def postgres_source(probe: PostgresCpu) -> str:
    """The provenance line of the database tier's busy time (platform.json, the file's notes)."""
    return (f"psutil CPU of the PostgreSQL server's processes (postmaster pid {probe.postmaster.pid}, "
            "its backends and background workers; the whole server)")


# Why a load test of the reference platform meets no tier but its api and database: its SMS
# gateway (RecordingGateway) writes the text into the database, there is no vendor to wait for.
REFERENCE_HAS_NO = ("not on the reference platform: its SMS gateway records the text in its own "
                    "database (no vendor), measured with the api and database")


def reference_kind(postgres: bool, workers: int) -> str:
    """The reference platform as a calibration records its target and a load test names the
    one it tested: a load test against another database or worker count is another system."""
    return f"reference platform ({'PostgreSQL' if postgres else 'SQLite'}, {workers} workers)"


def host(url: str, accounts: Path | None, answers: Path | None, database_url: str | None) -> Target:
    """A running system: its /metrics must answer with CPU seconds and our route counters."""
    if accounts is None:
        raise CalibrationError("--accounts: needed with --host (pre-registered teachers log in)")
    metrics = MetricsScrape(url)
    first = metrics.read()
    if first.cpu_s is None:
        raise CalibrationError(f"{metrics.url}: no process_cpu_seconds_total "
                               "(the target's CPU cannot be read)")
    if not first.requests:
        raise CalibrationError(f"{metrics.url}: no yanxiu_requests_total per-route counters")
    postgres = PostgresCpu(database_url) if database_url else None
    probes = Probes(metrics, None, postgres)
    probes.sources = {"api": "/metrics process_cpu_seconds_total",
                      "database": postgres_source(postgres) if postgres else
                      "/metrics yanxiu_commit_seconds_sum"}
    return Target(url, accounts, answers, probes, "host", None,
                  database_servers=postgres.cores() if postgres else None, database_url=database_url)
