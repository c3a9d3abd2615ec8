from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import SMOKE
from yanxiu.cli import main


def test_bad_options_exit_2(capsys, tmp_path):
    assert main(["serve", "--clock-start", "soon", "--database-url", f"sqlite:///{tmp_path}/x"]) == 2
    assert "--clock-start" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers:" in capsys.readouterr().err
    assert main(["serve", "--clock-rate", "-1"]) == 2
    assert main(["serve", "--scenario", str(tmp_path / "missing.yaml")]) == 2
    assert main(["serve", "--database-url", "postgresql://nobody@127.0.0.1:1/x"]) == 2
    assert "cannot initialise" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def _serve(tmp_path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yanxiu.cli",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'serve.sqlite'}",
            "--scenario",
            str(SMOKE),
            "--clock-start",
            "2023-01-04T10:00",
            "--gc-policy",
            "freeze",
        ],
        env=env,
        start_new_session=True,
    )


def _wait_up(server: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            assert '"ok"' in _get(base + "/healthz")
            return
        except OSError:
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.3)


def _frozen(metrics: str) -> int:
    """The live workers that froze more than start-up's 10,000 objects (yanxiu_gc_frozen_objects)."""
    return sum(float(x.rsplit(" ", 1)[1]) > 10_000 for x in metrics.splitlines()
               if x.startswith("yanxiu_gc_frozen_objects{"))


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path):
    port = _free_port()
    server = _serve(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(server, base)
        for _ in range(20):
            _get(base + "/hello")
        metrics = _get(base + "/metrics")
        line = next(x for x in metrics.splitlines() if x.startswith('yanxiu_requests_total{endpoint="hello"'))
        assert float(line.rsplit(" ", 1)[1]) == 20  # summed over both workers' files
        # each worker applied its collector's policy once (reference.gc_policy; --gc-policy freeze)
        # when its lifespan began: the other may still be starting when the first answers
        deadline = time.monotonic() + 30
        while (frozen := _frozen(_get(base + "/metrics"))) != 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert frozen == 2
        full = next(x for x in _get(base + "/metrics").splitlines()
                    if x.startswith('yanxiu_gc_pause_seconds_count{generation="2"}'))
        assert float(full.rsplit(" ", 1)[1]) >= 2  # at least the freeze's own collection in each
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
def test_sigterm_stops_two_workers_despite_a_stalled_request(tmp_path):
    """SIGTERM to the parent alone: uvicorn used to wait without limit for a request whose
    body never comes; now requests get a grace period and every process exits."""
    import psutil

    port = _free_port()
    server = _serve(tmp_path, port)
    stalled: list[socket.socket] = []
    try:
        _wait_up(server, f"http://127.0.0.1:{port}")
        workers = psutil.Process(server.pid).children(recursive=True)
        for _ in range(4):  # both workers likely get one: headers sent, the body never
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{")
            stalled.append(sock)
        time.sleep(0.5)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        assert time.monotonic() - started < 20
        _gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        for sock in stalled:
            sock.close()
