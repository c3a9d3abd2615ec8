"""The host's other work per bin: host busy CPU less the server's, from the sampler's rows."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from calibrate.host import MIN_COVERED, HostSampler, covered, host_busy_s
from calibrate.probes import BusyReading


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
    sampler.database_rows = [BusyReading(100.0 + t, 0.2 * t if t <= 10 else 2.0 + 0.4 * (t - 10))
                             for t in range(0, 31, 5)]
    assert sampler.database_busy(110.0, 130.0) == pytest.approx(0.4)
    assert sampler.database_busy(110.0, 140.0) is None  # 10 s past the last reading


def _shared_server(refused: set[int]) -> list[BusyReading]:
    """A database read every 5 s from t = 100 for 60 s: our work 0.3 s a second, and another
    database's 1.0 s a second more in the intervals ending at the readings ``refused``."""
    rows, busy = [BusyReading(100.0, 0.0)], 0.0
    for k in range(1, 13):
        busy += 5 * (0.3 + (1.0 if k in refused else 0.0))
        others = ("yanxiu_test_1",) if k in refused else ()
        rows.append(BusyReading(100.0 + 5 * k, busy, k not in refused, others))
    return rows


def test_intervals_whose_readings_were_not_ours_are_left_out_of_the_figure_and_its_share():
    cover = covered(_shared_server({3, 4, 9}), 100.0, 160.0)
    assert cover.per_s == pytest.approx(0.3)  # not (0.3 * 60 + 15) / 60 = 0.55, the whole server's
    assert cover.share == pytest.approx(45 / 60) and cover.others == ("yanxiu_test_1",)
    # a window cutting an interval counts its part of it; outside the readings is not covered
    cut = covered(_shared_server(set()), 102.5, 170.0)
    assert cut.per_s == pytest.approx(0.3) and cut.share == pytest.approx(57.5 / 67.5)


def test_a_window_mostly_shared_with_other_databases_has_no_figure():
    sampler = _sampler([])
    sampler.database_rows = _shared_server(set(range(1, 8)))  # 35 of 60 s another database's too
    share = sampler.database_cover(100.0, 160.0).share
    assert share == pytest.approx(25 / 60) and share < MIN_COVERED
    assert sampler.database_busy(100.0, 160.0) is None
    sampler.database_rows = _shared_server({1, 2})
    assert sampler.database_busy(100.0, 160.0) == pytest.approx(0.3)
    sampler.database_rows = _shared_server(set(range(1, 13)))
    assert covered(sampler.database_rows, 100.0, 160.0).per_s is None


def test_the_database_is_read_every_few_samples_while_entered():
    reads = []

    def database() -> BusyReading:
        reads.append(time.time())
        return BusyReading(reads[-1], float(len(reads)))

    with HostSampler(os.getpid(), sample_s=0.02, database=database) as sampler:
        time.sleep(0.3)
    # on entering, on leaving, and every DATABASE_EVERY samples between: far fewer than the samples
    assert 3 <= len(sampler.database_rows) == len(reads) < len(sampler.rows)


def test_a_steps_background_is_the_hosts_cpu_less_the_servers_over_all_samples():
    sampler = _sampler([(10.0 + t, 2.0 * t * 0.8, 0.5 * t) for t in range(21)])  # 1.6 busy, 0.5 server
    assert sampler.other_cores() == pytest.approx(1.1)
    assert _sampler([(10.0, 1.0, 0.0)]).other_cores() is None
