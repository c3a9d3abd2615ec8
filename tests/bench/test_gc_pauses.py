"""bench/gc_pauses.py reads the workers' collections from a level's metrics-end.txt: per worker
and generation, the mean and longest pause and the share of a worker's time."""

from __future__ import annotations

from bench.gc_pauses import _gc_lines

METRICS = """yanxiu_gc_pause_seconds_count{generation="2"} 20.0
yanxiu_gc_pause_seconds_sum{generation="2"} 3.0
yanxiu_gc_pause_max_seconds{generation="2"} 0.4
yanxiu_gc_pause_seconds_count{generation="0"} 2000.0
yanxiu_gc_pause_seconds_sum{generation="0"} 1.0
"""


def test_two_workers_collections_are_read_per_worker(tmp_path):
    (tmp_path / "metrics-end.txt").write_text(METRICS)
    lines = _gc_lines(tmp_path, workers=2, seconds=100.0)
    # 20 full collections of 150 ms over two workers' 100 s: 10 each, every 10 s, 1.5% of the time
    assert lines[1] == ("  gc gen 2: 10 a worker, every 10.00 s, mean 150.00 ms, longest 400.0 ms, "
                        "1.50% of a worker's time")
    assert lines[0].startswith("  gc gen 0: 1,000 a worker, every 0.10 s, mean 0.50 ms, longest 0.0 ms")


def test_a_server_without_the_timer_says_so(tmp_path):
    assert _gc_lines(tmp_path, 2, 100.0) == ["  gc: no metrics-end.txt"]
    (tmp_path / "metrics-end.txt").write_text('yanxiu_requests_total{endpoint="x"} 1\n')
    assert _gc_lines(tmp_path, 2, 100.0) == ["  gc: not timed (a server without yanxiu_gc_pause_seconds)"]
