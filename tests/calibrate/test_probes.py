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
    scrape = MetricsScrape(f"http://127.0.0.1:{server.server_address[1]}").read()
    assert scrape.requests["login"] == 7.0


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
