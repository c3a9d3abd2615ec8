"""Processes run apart are proved exact afterwards: the recorded rates are added up and
tested minute by minute where the processes could not certify a minute on their own."""

from __future__ import annotations

import numpy as np
import pytest

from sim import apart
from sim.model import build_world
from sim.shards import Fleet


@pytest.fixture(scope="module")
def checks(smoke):
    world = build_world(smoke, 200, 1, None, 1)
    return apart.Checks(Fleet.of(world), list(world.platform.endpoints)), world


def busy_rates(checks_, world) -> tuple[np.ndarray, np.ndarray]:
    """Login rates the platform just stays idle under, and twice them (not idle)."""
    endpoints = list(world.platform.endpoints)
    width = len(endpoints) + 1
    lo, hi = 0.0, 1e6
    for _ in range(60):  # the largest idle login rate, by bisection
        mid = (lo + hi) / 2
        row = np.zeros(width)
        row[endpoints.index("login")] = mid
        lo, hi = (mid, hi) if checks_.idle(0, row.tolist()) else (lo, mid)
    idle = np.zeros(width)
    idle[endpoints.index("login")] = 0.9 * lo
    return idle, 2 * idle


def test_a_sum_that_stays_idle_is_certified_though_a_process_could_not_alone(checks):
    checks_, world = checks
    idle, busy = busy_rates(checks_, world)
    records = [apart.Record(3, 1, idle.size) for _ in range(2)]
    for record, share in zip(records, (0.8, 0.1), strict=True):  # the sum: 0.9 of the idle load
        for minute in range(3):
            assert record.see(minute, (idle * share)[None, :], checks_, 2) is None
    assert not records[0].certified.any() and records[1].certified.all()  # 2 x 0.8 is too much
    assert apart.first_busy(records, np.arange(2), checks_, 3) is None
    assert not checks_.idle(1, busy.tolist())


def test_the_first_minute_the_sum_is_busy_is_found(checks):
    checks_, world = checks
    idle, _busy = busy_rates(checks_, world)
    records = [apart.Record(4, 1, idle.size) for _ in range(2)]
    for record in records:
        for minute, share in enumerate((0.3, 0.7, 0.3, 0.7)):
            assert record.see(minute, (idle * share)[None, :], checks_, 2) is None  # alone: idle
    # the block's largest rates, times two, are not idle: certified minute by minute
    assert [bool(c) for c in records[0].certified] == [True, False, True, False]
    # minutes 1 and 3: each process 0.7 of the idle load, the sum 1.4 of it: busy
    assert apart.first_busy(records, np.arange(2), checks_, 4) == 1
    assert apart.first_busy(records, np.arange(2), checks_, 1) is None  # before the limit


def test_a_process_alone_busy_stops_at_the_end_of_the_block(checks):
    checks_, world = checks
    idle, busy = busy_rates(checks_, world)
    record = apart.Record(apart.BLOCK * 2, 1, busy.size)
    for minute in range(apart.BLOCK - 1):
        assert record.see(minute, (idle * 0.1)[None, :], checks_, 2) is None
    assert record.see(apart.BLOCK - 1, busy[None, :], checks_, 2) == apart.BLOCK - 1
    assert record.certified[:apart.BLOCK - 1].all() and not record.certified[apart.BLOCK - 1]


def test_a_quiet_block_is_certified_at_once(checks):
    checks_, world = checks
    idle, _busy = busy_rates(checks_, world)
    record = apart.Record(apart.BLOCK + 3, 1, idle.size)
    for minute in range(apart.BLOCK + 3):  # a block, then the window's last three minutes
        assert record.see(minute, (idle * 0.4)[None, :], checks_, 2) is None
        assert record.certified[:minute + 1].all() == (minute + 1 in (apart.BLOCK, apart.BLOCK + 3))
