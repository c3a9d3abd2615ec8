"""Short replays (seconds) against a stub on 127.0.0.1: open workload, distributed mode."""

from __future__ import annotations

import subprocess

import pytest

from tests.loadtests.conftest import ROOT, SMOKE, locust_argv, read_summary, start_stub, write_series

TIMEOUT_S = 90
CONNECT_WAIT_S = 60  # a loaded machine starts three Locust processes slowly


def replay_args(model, accounts, answers, out, *extra) -> list[str]:
    return ["--headless", "--scenario", str(SMOKE), "--model-results", str(model), "--stretch", "window",
            "--accounts", str(accounts), "--answers", str(answers), "--results-dir", str(out),
            "--loglevel", "WARNING", *extra]


@pytest.fixture
def slow_stub(tmp_path):
    server = start_stub(tmp_path, "--delay-ms", "800")
    yield server
    server.process.terminate()
    server.process.wait(10)


def test_slow_answers_do_not_lower_the_arrival_rate(tmp_path, accounts, slow_stub):
    """Every answer takes 0.8 s, longer than a second's worth of arrivals; a closed workload
    would fall behind, the open one starts each session on time (within 10% per bin)."""
    model = write_series(tmp_path / "model", [40.0, 80.0, 120.0, 60.0, 100.0, 40.0])  # per minute
    out = tmp_path / "out"
    done = subprocess.run(
        locust_argv(*replay_args(model, accounts, slow_stub.answers, out, "--host", slow_stub.url,
                                 "--compress", "60", "--scale", "0.5", "--bin-seconds", "1")),
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = read_summary(out)
    arrivals = summary["arrivals"]
    assert arrivals["planned"] == pytest.approx(220.0)
    assert arrivals["achieved"] == 220 and arrivals["dropped"] == 0
    assert arrivals["within_10pct"] and arrivals["max_bin_error"] <= 0.10
    rows = (out / "arrivals.csv").read_text().splitlines()
    assert rows[0].startswith("bin,planned,achieved") and len(rows) == 1 + 6
    # the target really was slow: the median answer took the stub's delay or more
    assert summary["total"]["p50_ms"] >= 700
    assert summary["trustworthy"]


def test_master_and_two_workers_add_up(tmp_path, accounts, stub):
    """A master and two workers on loopback: each worker starts its half of the arrivals,
    and the master's request count equals what the target received.

    Robust on a loaded machine: the master waits (bounded) for both workers to connect, the
    plan ends with quiet minutes so that every short session is over before the end, and
    the master waits for each worker's final report (statistics first); only totals that
    are exact by construction are compared (not per-bin timing)."""
    busy = [60.0, 120.0, 90.0, 150.0]
    model = write_series(tmp_path / "model", busy + [0.0] * 4, admin_rps=[0.5] * 4 + [0.0] * 4)
    out = tmp_path / "out"
    port = str(_free_port())
    common = ["--tags", "login", "campaign", "admin"]  # short sessions: all end in the quiet minutes
    master = subprocess.Popen(
        locust_argv(*replay_args(model, accounts, stub.answers, out, "--master", "--expect-workers", "2",
                                 "--expect-workers-max-wait", str(CONNECT_WAIT_S),
                                 "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
                                 "--host", stub.url, "--compress", "60", "--scale", "0.5", *common)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = [subprocess.Popen(
        locust_argv("--worker", "--master-host", "127.0.0.1", "--master-port", port, "--loglevel", "WARNING"),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        output, _ = master.communicate(timeout=CONNECT_WAIT_S + TIMEOUT_S)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for process in [master, *workers]:
            if process.poll() is None:
                process.kill()
    assert master.returncode == 0, output[-2000:]
    summary = read_summary(out)
    arrivals = summary["arrivals"]
    assert arrivals["achieved"] == round(arrivals["planned"]) == 270
    assert arrivals["dropped"] == 0 and arrivals["cut"] == 0
    per_worker = list(arrivals["by_process"].values())
    assert len(per_worker) == 2 and sorted(per_worker) == [135, 135]
    assert summary["generator_cpu"]["processes"] == 2
    received = stub.counts()
    received.pop("hello", None)
    assert set(received) <= {"login", "sms_send", "campaign_page", "admin_progress"}
    # every session ended, so every request sent was answered and counted by a worker
    assert summary["total"]["requests"] == sum(received.values()) > 270
    for name, figures in summary["endpoints"].items():
        assert figures["requests"] == received[name], name
    # one page per teacher session, one progress view per administrator's session
    assert received["campaign_page"] + received["admin_progress"] == 270


def _free_port() -> int:
    from loadtests.target import free_port

    return free_port()
