"""The PostgreSQL reference's writer threads from a calibration's commit timings
(calibrate/thread_writer.py): the writing endpoints, a transaction's and a job's wall time."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.thread_writer import thread_writer
from domain.scenario import ThreadWriter
from tests.calibrate.test_writer import C_S, D_S, _rows


def test_the_writer_block_has_the_jobs_endpoints_and_the_commits_split():
    block = thread_writer(_rows(np.random.default_rng(3)), ["heartbeat", "login"], "database", 1.0,
                          np.random.default_rng(0))
    assert block is not None
    writer = ThreadWriter(**block)  # what the platform file's api tier then says
    assert writer.endpoints == ["heartbeat"] and writer.covers == "database" and writer.linger_ms == 1.0
    assert writer.commit_ms == pytest.approx(C_S * 1000, rel=0.03)
    assert writer.write_ms == pytest.approx(D_S * 1000, rel=0.03)
    assert "linger 1 ms" in writer.note and "ThreadCommitter" in writer.note


def test_without_the_commit_timers_by_size_there_is_no_writer():
    rows = _rows(np.random.default_rng(3), by_size=False)
    assert thread_writer(rows, ["heartbeat", "login"], "database", 1.0, np.random.default_rng(0)) is None


def test_bigger_batches_slowed_by_what_made_them_big_do_not_move_the_split():
    """A stall lets jobs pile up, so the batches of 3 and more come when the writer is slow: their
    time (here doubled) is left out; fitted with them the split would move."""
    from dataclasses import replace

    rows = [replace(r, requests={k: v * 2 if k.startswith("(lock_s") and k.endswith(("3-4)", "5-8)")) else v
                                 for k, v in r.requests.items()})
            for r in _rows(np.random.default_rng(3))]
    block = thread_writer(rows, ["heartbeat", "login"], "database", 1.0, np.random.default_rng(0))
    assert block is not None
    assert block["commit_ms"] == pytest.approx(C_S * 1000, rel=0.03)
    assert block["write_ms"] == pytest.approx(D_S * 1000, rel=0.03)


def test_the_calibration_writes_the_writer_for_the_postgresql_reference_only():
    """With the reference's linger (ThreadCommitter's setting, 1 ms); not on SQLite (its loops
    commit: batched_by), not on a --host target."""
    from types import SimpleNamespace

    from calibrate.platform_lines import writer_thread
    from domain.scenario import load_scenario
    from tests.calibrate.test_writer import SMOKE

    scenario = load_scenario(SMOKE)
    rows = _rows(np.random.default_rng(3))

    def target(source: str, url: str | None, absent: str | None = "not on the reference platform"):
        probes = SimpleNamespace(sources={"database": source}, database_tier="database")
        return SimpleNamespace(probes=probes, database_url=url, absent=absent)

    postgres = target("psutil CPU of the PostgreSQL server's processes", "postgresql+psycopg://x/y")
    block = writer_thread(scenario, postgres, rows, 0)
    assert block is not None and block["linger_ms"] == 1.0 and block["endpoints"] == ["heartbeat"]
    sqlite = target("yanxiu_commit_seconds_sum (SQLite write lock)", None)
    assert writer_thread(scenario, sqlite, rows, 0) is None
    assert writer_thread(scenario, target("psutil CPU", "postgresql+psycopg://x/y", None), rows, 0) is None
