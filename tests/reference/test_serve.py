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


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    server = subprocess.Popen(
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
        ],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert '"ok"' in _get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.3)
        for _ in range(20):
            _get(base + "/hello")
        metrics = _get(base + "/metrics")
        line = next(x for x in metrics.splitlines() if x.startswith('yanxiu_requests_total{endpoint="hello"'))
        assert float(line.rsplit(" ", 1)[1]) == 20  # summed over both workers' files
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
