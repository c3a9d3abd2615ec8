"""What a load test's meter reads from the target's /metrics (calibrate/meter.py)."""

from __future__ import annotations

import pytest

from calibrate.meter import TierMeter
from calibrate.probes import parse_metrics

BEFORE = """yanxiu_writer_wait_seconds_sum 1.0
yanxiu_writer_wait_seconds_count 500.0
yanxiu_writer_linger_seconds_sum 0.4
yanxiu_writer_linger_seconds_count 400.0
yanxiu_writer_answer_seconds_sum 0.1
yanxiu_writer_answer_seconds_count 400.0
yanxiu_commit_seconds_sum 1.2
yanxiu_commit_seconds_count 400.0
yanxiu_commit_jobs_sum 500.0
yanxiu_commit_jobs_count 400.0
yanxiu_commit_cpu_seconds_total 0.4
"""
# 200 more jobs in 100 more batches: wait +0.5 s, linger +0.12, answer +0.03, commits +0.4 s, CPU +0.1
AFTER = """yanxiu_writer_wait_seconds_sum 1.5
yanxiu_writer_wait_seconds_count 700.0
yanxiu_writer_linger_seconds_sum 0.52
yanxiu_writer_linger_seconds_count 500.0
yanxiu_writer_answer_seconds_sum 0.13
yanxiu_writer_answer_seconds_count 500.0
yanxiu_commit_seconds_sum 1.6
yanxiu_commit_seconds_count 500.0
yanxiu_commit_jobs_sum 700.0
yanxiu_commit_jobs_count 500.0
yanxiu_commit_cpu_seconds_total 0.5
"""

def test_the_writer_threads_figures_are_the_tests_own():
    """Over the test (last reading less the first): per job and per batch, in ms."""
    meter = TierMeter("http://127.0.0.1:1", None, 2)
    meter.first = (0.0, parse_metrics(BEFORE), {})
    meter.last = (100.0, parse_metrics(AFTER), {})
    figures = meter.writer_ms()
    assert figures["wait_ms"] == pytest.approx(2.5)  # 0.5 s over 200 jobs
    assert figures["linger_ms"] == pytest.approx(1.2) and figures["answer_ms"] == pytest.approx(0.3)
    assert figures["commit_ms"] == pytest.approx(4.0) and figures["cpu_ms"] == pytest.approx(1.0)
    assert figures["jobs_a_batch"] == pytest.approx(2.0) and figures["batches"] == 100


def test_no_writer_timers_no_figures():
    meter = TierMeter("http://127.0.0.1:1", None, 2)
    meter.first = meter.last = (0.0, parse_metrics("yanxiu_commit_seconds_sum 1.0\n"), {})
    assert meter.writer_ms() == {}
