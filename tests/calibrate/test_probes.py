"""Reading /metrics: CPU seconds, our per-route counters, the group commits' lock time."""

from __future__ import annotations

import http.server
import threading

import pytest

from calibrate.errors import CalibrationError
from calibrate.probes import MetricsScrape, parse_metrics

TEXT = """# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
yanxiu_requests_total{endpoint="heartbeat",method="POST",status="200"} 100.0
yanxiu_requests_total{endpoint="heartbeat",method="POST",status="503"} 4.0
yanxiu_requests_total{endpoint="login",method="POST",status="200"} 7.0
yanxiu_commit_seconds_sum 0.75
yanxiu_commit_seconds_count 12.0
"""


def test_parse_metrics_sums_statuses_and_reads_cpu_and_commits():
    scrape = parse_metrics(TEXT)
    assert scrape.cpu_s == 12.5
    assert scrape.requests == {"heartbeat": 104.0, "login": 7.0}
    assert scrape.errors == {"heartbeat": 4.0}
    assert scrape.commit_s == 0.75


def test_parse_metrics_reads_the_group_commits_jobs():
    text = TEXT + ('yanxiu_commit_jobs_bucket{le="1.0"} 9.0\n'
                   "yanxiu_commit_jobs_sum 15.0\nyanxiu_commit_jobs_count 12.0\n")
    assert parse_metrics(text).jobs == 15.0 and parse_metrics(TEXT).jobs is None


def test_parse_metrics_reads_the_workers_garbage_collections_by_generation():
    text = TEXT + (
        'yanxiu_gc_pause_seconds_count{generation="0"} 900\n'
        'yanxiu_gc_pause_seconds_sum{generation="0"} 0.45\n'
        'yanxiu_gc_pause_seconds_bucket{generation="2",le="0.25"} 3\n'
        'yanxiu_gc_pause_seconds_count{generation="2"} 4\n'
        'yanxiu_gc_pause_seconds_sum{generation="2"} 0.6\n'
    )
    assert parse_metrics(text).gc_pause == {"0": (0.45, 900.0), "2": (0.6, 4.0)}
    assert parse_metrics(TEXT).gc_pause == {}


def test_parse_metrics_reads_the_time_inside_the_app_per_endpoint():
    text = TEXT + """yanxiu_request_seconds_bucket{endpoint="heartbeat",le="0.01"} 90.0
yanxiu_request_seconds_sum{endpoint="heartbeat"} 1.5
yanxiu_request_seconds_count{endpoint="heartbeat"} 104.0
yanxiu_request_seconds_sum{endpoint="login"} 0.7
yanxiu_request_seconds_count{endpoint="login"} 7.0
"""
    assert parse_metrics(text).in_app == {"heartbeat": (1.5, 104.0), "login": (0.7, 7.0)}


def test_metrics_absent_is_none_not_zero():
    scrape = parse_metrics('yanxiu_requests_total{endpoint="x",method="GET",status="200"} 1\n')
    assert scrape.cpu_s is None and scrape.commit_s is None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if self.path == "/metrics" and self.server.metrics:
            body = self.server.metrics.encode()
            self.send_response(200)
        else:
            body = b"not here"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.metrics = TEXT
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_scrape_reads_a_live_endpoint(server):
    probe = MetricsScrape(f"http://127.0.0.1:{server.server_address[1]}")
    assert probe.read().requests["login"] == 7.0
    assert probe.last_text == TEXT  # kept as read: the histograms' buckets, for a level's record


def test_host_without_metrics_is_one_clear_error(server):
    server.metrics = ""
    with pytest.raises(CalibrationError, match="HTTP 404 .*needs a Prometheus /metrics"):
        MetricsScrape(f"http://127.0.0.1:{server.server_address[1]}").read()


def test_unreachable_host_is_one_clear_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CalibrationError, match="unreachable"):
        MetricsScrape(f"http://127.0.0.1:{port}", timeout_s=2).read()


def _scripted_postgres(others: list[dict[str, float] | None], cpu: list[float | None]):
    """A PostgresCpu whose other databases' counters (read twice a reading) and CPU are given."""
    from calibrate.probes import PostgresCpu

    probe = PostgresCpu.__new__(PostgresCpu)
    probe._last, probe._since, probe._failed = 0.0, None, False
    probe.readings, probe.shared_readings = [], 0
    counters, seconds = iter(others), iter(cpu)
    probe._other_work = lambda: next(counters)  # type: ignore[method-assign]
    probe._cpu = lambda: next(seconds)  # type: ignore[method-assign]
    return probe


def test_another_databases_work_during_a_reading_spoils_the_intervals_on_both_sides():
    """Work seen between a reading's two counter reads may have come before or after its CPU
    read: the interval before it and the one after are both not ours."""
    quiet, busy = {"postgres": 5.0}, {"postgres": 6.0}
    probe = _scripted_postgres([quiet, quiet, quiet, busy, busy, busy, busy, busy],
                               [1.0, 2.0, 3.0, 4.0])
    got = [probe.read() for _ in range(4)]
    assert [r.ours for r in got] == [True, False, False, True]
    assert got[1].others == ("postgres",) and probe.shared_readings == 2
    assert [r.busy_s for r in got] == [1.0, 2.0, 3.0, 4.0]  # the CPU kept, for the next interval


def test_a_database_created_or_dropped_counts_as_work_and_a_failed_reading_breaks_the_chain():
    t7 = {"yanxiu_test_7": 0.0}
    probe = _scripted_postgres([{}, {}, {}, t7, t7, {}], [1.0, 2.0, 3.0])
    first, created, dropped = probe.read(), probe.read(), probe.read()
    assert first.ours and not created.ours and created.others == ("yanxiu_test_7",)
    assert not dropped.ours  # its row went (between two reads of one reading: both sides spoilt)
    probe = _scripted_postgres([{}, {}, None, None, {}, {}, {}, {}], [1.0, None, 2.0, 3.0])
    assert probe.read().ours and probe.read() is None  # the server could not be read
    after = probe.read()
    assert not after.ours and "unread" in after.others[0]  # its interval reaches back past the failure
    assert probe.read().ours


def test_a_step_of_a_server_started_here_records_what_it_ran_beside(server, monkeypatch, tmp_path):
    """run_step samples the host beside the server's process tree (here: this test's process)
    and keeps the background in its StepRun, for the platform file's provenance."""
    import json
    import os
    import time

    import loadtests.run
    from calibrate.probes import ProcessCpu
    from calibrate.steps import Probes, StepSpec, run_step

    class Replay:  # stands for Locust: the server finishes 200 more heartbeats meanwhile
        set_up_s = 0.0  # loadtests.run.LocustRun's: no resumed sessions' set-up window

        def __init__(self, host, folder, *_args) -> None:
            self.folder = folder

        def execute(self, _cwd) -> int:
            server.metrics = TEXT.replace("} 100.0", "} 300.0")
            time.sleep(0.3)  # a few of the sampler's readings (every 0.05 s)
            self.folder.mkdir(parents=True, exist_ok=True)
            total = {"requests": 200, "rps": 100.0, "p95_ms": 20.0, "error_rate": 0.0}
            (self.folder / "summary.json").write_text(json.dumps(
                {"total": total, "generator_cpu": {"saturated": False, "mean": 10.0, "processes": 1},
                 "arrivals": {"dropped": 0}}))
            return 0

    monkeypatch.setattr(loadtests.run, "LocustRun", Replay)
    probes = Probes(MetricsScrape(f"http://127.0.0.1:{server.server_address[1]}"), ProcessCpu(os.getpid()))
    run = run_step(0, StepSpec("stair-1", 1.0), {}, "http://x", tmp_path, probes, 2.0, 0.05, lambda _: None)
    assert run.background_cores is not None and 0.0 <= run.background_cores <= run.host_cores
    assert run.host_cores >= 1 and run.server_requests["heartbeat"] == 200.0


WRITER = """yanxiu_writer_wait_seconds_sum 0.3
yanxiu_writer_wait_seconds_count 100.0
yanxiu_writer_linger_seconds_sum 0.09
yanxiu_writer_linger_seconds_count 80.0
yanxiu_writer_answer_seconds_sum 0.04
yanxiu_writer_answer_seconds_count 80.0
yanxiu_commit_jobs_sum 100.0
yanxiu_commit_jobs_count 80.0
yanxiu_commit_cpu_seconds_total 0.12
"""


def test_parse_metrics_reads_the_writer_threads_timers():
    """The PostgreSQL writer thread's timers, beside its commits' time, jobs and CPU."""
    writer = parse_metrics(TEXT + WRITER).writer
    assert writer["wait"] == (0.3, 100.0) and writer["linger"] == (0.09, 80.0)
    assert writer["answer"] == (0.04, 80.0) and writer["commit"] == (0.75, 12.0)
    assert writer["jobs"] == (100.0, 80.0) and writer["cpu"] == (0.12, 0.0)
    assert parse_metrics(TEXT).writer == {}  # a target without the writer's timers (SQLite's loops)
