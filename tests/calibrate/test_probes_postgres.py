"""The PostgreSQL busy-time probe: CPU of the server's processes, not time in statements.

The old probe read ``pg_stat_database.active_time``, which counts a backend sleeping or waiting
on a lock as busy (under concurrency it read 0.38-1.75 "servers busy" where 0.07-0.21 was
predicted). These tests need PostgreSQL at 127.0.0.1:5432 (skipped without it); the probe
reads the whole server and refuses a reading when another database worked meanwhile, so they
are skipped when someone else uses that server during the test.
Each test closes its connections before the last reading: a backend that exits must keep its
CPU (the postmaster's reaped children), and a closing backend flushes its statistics, so the
old probe is judged on its final figures, not on a lag.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from calibrate import probes
from calibrate.errors import CalibrationError
from calibrate.probes import PostgresCpu
from tests.reference.conftest import _postgres_up

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    if not _postgres_up():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    from calibrate.target import scratch_postgres

    with scratch_postgres(ADMIN) as scratch:
        yield scratch


@pytest.fixture
def probe(url) -> Iterator[PostgresCpu]:
    reader = PostgresCpu(url)
    yield reader
    reader.close()


def _connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _close_and_reap(conn) -> None:
    """Close a connection and wait (≤ 5 s) until the postmaster has reaped its backend."""
    import psutil

    pid = conn.info.backend_pid
    conn.close()
    deadline = time.monotonic() + 5.0
    while psutil.pid_exists(pid) and time.monotonic() < deadline:  # a zombie exists until reaped
        time.sleep(0.05)


def _rise(probe, work: Callable[[], None]) -> float:
    before = probe.seconds()
    work()
    after = probe.seconds()
    if before is None or after is None:  # the probe's own refusal, tested below
        pytest.skip("other databases worked on this server meanwhile: its CPU is not ours alone")
    return after - before


def test_a_query_burning_cpu_counts_even_after_its_backend_exited(url, probe):
    import psutil

    own: list[float] = []

    def burn() -> None:
        conn = _connect(url)
        backend = psutil.Process(conn.info.backend_pid)
        until = time.monotonic() + 1.0
        while time.monotonic() < until:  # bounded: ~1 s of wall time
            conn.execute("SELECT count(*) FROM generate_series(1, 300000)")
        times = backend.cpu_times()
        own.append(times.user + times.system)
        _close_and_reap(conn)

    rise = _rise(probe, burn)
    assert own[0] > 0.3, f"the query burned only {own[0]:.2f} s of CPU (machine overloaded?)"
    # the backend's own CPU (read before it exited) reappears as the postmaster's reaped
    # children's; the margin is the server's background work and connection set-up/tear-down
    assert own[0] - 0.05 <= rise <= 1.1 * own[0] + 0.2, (rise, own[0])


def test_sleeping_in_a_statement_is_not_busy(url, probe):
    """pg_stat_database.active_time counts these 1.5 s; the server's CPU does not."""

    def sleep() -> None:
        conn = _connect(url)
        conn.execute("SELECT pg_sleep(1.5)")
        _close_and_reap(conn)

    assert _rise(probe, sleep) < 0.25


def test_waiting_for_a_lock_is_not_busy(url, probe):
    """A statement blocked 1.5 s behind another transaction's lock: waiting, not serving."""

    def wait_for_lock() -> None:
        holder, waiter = _connect(url), _connect(url)
        holder.execute("CREATE TABLE IF NOT EXISTS locked (x int)")
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        blocked = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM locked"))
        blocked.start()
        time.sleep(1.5)
        holder.execute("COMMIT")
        blocked.join(timeout=10)
        _close_and_reap(holder)
        _close_and_reap(waiter)

    assert _rise(probe, wait_for_lock) < 0.25


def test_a_reading_after_another_database_worked_is_refused_then_the_next_is_not(url, probe):
    """The server's CPU cannot be split by database once a backend exited: a bin in which
    another database worked is left out (None), not counted as ours."""
    if probe.seconds() is None:
        pytest.skip("other databases are working on this server")
    other = _connect(ADMIN)  # the server's "postgres" database: not ours
    other.execute("SELECT count(*) FROM generate_series(1, 100000)")
    _close_and_reap(other)  # its statistics are flushed as it exits
    assert probe.seconds() is None and probe.shared_readings == 1
    quiet = probe.seconds()
    if probe.shared_readings > 1:
        pytest.skip("other databases are working on this server")
    assert quiet is not None


def test_the_readings_are_monotone_and_the_cores_known(url, probe):
    # read(), not seconds(): a reading another database's work spoilt still has the CPU (the
    # suite's own PostgreSQL tests may run beside this one), and it is monotone all the same
    first, second = probe.read(), probe.read()
    assert first is not None and second is not None and second.busy_s >= first.busy_s
    assert probe.readings == [first, second]
    assert 1 <= probe.cores() <= (os.cpu_count() or 1)


def test_a_server_on_another_machine_is_refused_in_one_line(url, monkeypatch):
    monkeypatch.setattr(probes, "_local_postmaster", lambda pid, started: None)
    with pytest.raises(CalibrationError, match="not on this machine") as caught:
        PostgresCpu(url)
    assert "\n" not in str(caught.value) and "active_time" in str(caught.value)


def test_a_pid_is_not_taken_for_the_postmaster_without_its_start_time():
    # this test's own parent was not started in 1970: a pid from another machine (or a
    # container) that names a process here is not taken for that server's postmaster
    assert probes._local_postmaster(os.getpid(), 0.0) is None


def test_an_unreachable_server_is_one_clear_error():
    with pytest.raises(CalibrationError, match="cannot connect"):
        PostgresCpu("postgresql+psycopg://postgres@127.0.0.1:1/x")


def test_its_provenance_names_cpu_and_is_not_taken_for_sqlites_commits(url):
    from calibrate.target import postgres_source

    source = postgres_source(PostgresCpu(url))
    # calibration.py treats a database source naming "commit" as SQLite's write lock
    # (one server, a batch regressor): a PostgreSQL server's CPU must not be
    assert "CPU" in source and "commit" not in source


@pytest.fixture
def metrics_url() -> Iterator[str]:
    """A /metrics that reports group-commit seconds (what the reference serves on either database)."""
    import http.server

    from tests.calibrate.test_probes import TEXT, _Handler

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.metrics = TEXT  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_load_tests_meter_reads_the_servers_cpu_over_the_tiers_servers(url, metrics_url):
    """The comparison's measured utilisation is read as the calibration reads it: the
    server's CPU (not the group commits' seconds that /metrics also has), over the database
    tier's servers as the prediction divides its own."""
    from calibrate.meter import TierMeter

    meter = TierMeter(metrics_url, None, None, database_url=url, database_servers=2)
    own: list[float] = []

    def burn() -> None:
        import psutil

        conn = _connect(url)
        until = time.monotonic() + 0.6
        while time.monotonic() < until:
            conn.execute("SELECT count(*) FROM generate_series(1, 300000)")
        times = psutil.Process(conn.info.backend_pid).cpu_times()
        own.append(times.user + times.system)
        _close_and_reap(conn)

    with meter:
        burn()
    if "database" not in meter.utilisation(10.0):
        pytest.skip("other databases worked on this server meanwhile: its CPU is not ours alone")
    busy = 2 * 10.0 * meter.utilisation(10.0)["database"]  # back to CPU seconds
    assert own[0] - 0.05 <= busy <= 1.1 * own[0] + 0.2, (busy, own[0])


def test_a_meter_that_cannot_read_postgresql_gives_no_database_figure(metrics_url):
    """Not the group commits' seconds in its place: that is not what the calibration measured."""
    from calibrate.meter import TierMeter

    unread = TierMeter(metrics_url, None, None, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x")
    sqlite = TierMeter(metrics_url, None, None)
    for meter in (unread, sqlite):
        with meter:
            pass
    assert "database" not in unread.utilisation(10.0)
    assert "cannot be read here" in unread.unmeasured()["database"]
    assert sqlite.utilisation(10.0)["database"] == 0.0  # the commit seconds' counter did not move
    assert sqlite.unmeasured() == {}


def test_a_load_test_during_which_another_database_worked_has_no_database_figure(url, metrics_url):
    from calibrate.meter import TierMeter

    meter = TierMeter(metrics_url, None, None, database_url=url, database_servers=2)
    with meter:
        other = _connect(ADMIN)
        other.execute("SELECT 1")
        _close_and_reap(other)
    assert "database" not in meter.utilisation(10.0)
    assert "other databases" in meter.unmeasured()["database"]


def test_the_platform_file_gives_postgresql_its_hosts_cores_and_sqlite_one_writer():
    """A database whose busy time is its server's CPU is served by that server's cores (not
    the scenario's guess: 640 in winter-2023); SQLite's write lock stays one writer."""
    from types import SimpleNamespace

    from calibrate.fit import Demand, TierFit
    from calibrate.platform_lines import tier_lines
    from domain.scenario import load_scenario
    from tests.calibrate.test_platform_file import SMOKE

    scenario = load_scenario(SMOKE)
    demands = {e.name: Demand(0.5, 0.4, 0.6, 1000) for e in scenario.platform.endpoints}
    fits = {"database": TierFit("database", 0.0, demands, 0.92, 33)}

    def target(source: str, cores: int | None):
        return SimpleNamespace(absent=None, api_servers=2, database_servers=cores, probes=SimpleNamespace(
            api_tier="api", database_tier="database", sources={"database": source}))

    postgres = tier_lines(scenario, target("psutil CPU of the PostgreSQL server's processes", 3), fits)
    assert postgres["database"]["servers"] == 3 and "servers 3: the database host's cores" in \
        postgres["database"]["note"]
    sqlite = tier_lines(scenario, target("yanxiu_commit_seconds_sum (SQLite write lock)", None), fits)
    assert sqlite["database"]["servers"] == 1
