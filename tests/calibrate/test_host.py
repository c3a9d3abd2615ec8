"""The host's other work per bin: host busy CPU less the server's, from the sampler's rows."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from calibrate.host import HostSampler, host_busy_s


def _sampler(rows):
    sampler = HostSampler(os.getpid())
    sampler.rows = rows
    return sampler


def test_background_is_host_busy_less_the_server_per_bin():
    # host busy 1.5 core-s a second of which the server 0.5: 1.0 core of other work
    rows = [(1000.0 + t, 50.0 + 1.5 * t, 7.0 + 0.5 * t) for t in range(31)]
    got = _sampler(rows).background(1005.0, np.array([0.0, 10.0, 20.0]))
    assert got == pytest.approx([1.0, 1.0])


def test_bins_the_samples_do_not_cover_give_none():
    rows = [(1000.0 + t, 1.5 * t, 0.5 * t) for t in range(11)]
    assert _sampler(rows).background(1000.0, np.array([0.0, 10.0, 20.0])) is None


def test_background_is_clipped_to_the_hosts_cores():
    sampler = _sampler([(float(t), 9.0 * t, 0.0) for t in range(21)])
    assert np.all(sampler.background(0.0, np.array([0.0, 10.0])) <= sampler.cores)


def test_entering_and_leaving_reads_at_least_twice():
    with HostSampler(os.getpid(), sample_s=0.05) as sampler:
        sum(i * i for i in range(200_000))
    assert len(sampler.rows) >= 2
    assert sampler.rows[-1][1] >= sampler.rows[0][1] and host_busy_s() > 0


def test_the_servers_cores_over_a_window_of_wall_time():
    # the server burns 0.2 core until t = 10 (a set-up burst: 0.9), then 0.5
    rows, cpu = [], 0.0
    for t in range(31):
        rows.append((100.0 + t, 0.0, cpu))
        cpu += 0.9 if t < 10 else 0.5
    sampler = _sampler(rows)
    assert sampler.server_cores(110.0, 130.0) == pytest.approx(0.5)
    assert sampler.server_cores(100.0, 130.0) == pytest.approx((9.0 + 10.0) / 30.0)
    assert sampler.server_cores(90.0, 130.0) is None  # before the first sample


def test_the_databases_busy_time_over_a_window_from_its_few_readings():
    # lock time read every 5 s: 0.2 s a second until t = 10, then 0.4
    sampler = _sampler([])
    sampler.database_rows = [(100.0 + t, 0.2 * t if t <= 10 else 2.0 + 0.4 * (t - 10))
                             for t in range(0, 31, 5)]
    assert sampler.database_busy(110.0, 130.0) == pytest.approx(0.4)
    assert sampler.database_busy(110.0, 140.0) is None  # 10 s past the last reading


def test_the_database_is_read_every_few_samples_while_entered():
    reads = []

    def database() -> float:
        reads.append(time.time())
        return float(len(reads))

    with HostSampler(os.getpid(), sample_s=0.02, database=database) as sampler:
        time.sleep(0.3)
    # on entering, on leaving, and every DATABASE_EVERY samples between: far fewer than the samples
    assert 3 <= len(sampler.database_rows) == len(reads) < len(sampler.rows)
