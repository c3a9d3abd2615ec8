"""``yanxiu calibrate``: bad input gets one line and exit code 2, before anything is measured."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from pathlib import Path

import pytest

from yanxiu.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.yaml"


@pytest.fixture
def model(tmp_path) -> Path:
    """A tiny model time series (the columns a replay reads) for the smoke window."""
    folder = tmp_path / "model"
    folder.mkdir()
    start = dt.datetime(2023, 1, 5, 20, 0)
    lines = ["minute,arrivals.sessions,arrivals.registrations,rps.admin_progress,rps.certificate"]
    lines += [f"{(start + dt.timedelta(minutes=i)).isoformat()}+08:00,30,5,0.05,0" for i in range(60)]
    (folder / "timeseries.csv").write_text("\n".join(lines) + "\n")
    return folder


def _run(capsys, *argv) -> tuple[int, str]:
    code = main(["calibrate", str(SMOKE), *argv])
    err = capsys.readouterr().err.strip()
    return code, err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host(capsys, tmp_path, model):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("mobile,password\n")
    code, err = _run(capsys, "--host", f"http://127.0.0.1:{_free_port()}", "--accounts", str(accounts),
                     "--model-results", str(model), "--out", str(tmp_path / "p.yaml"))
    assert code == 2 and len(err.splitlines()) == 1
    assert "unreachable" in err


class _NoMetrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_host_without_metrics(capsys, tmp_path, model):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoMetrics)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        accounts = tmp_path / "accounts.csv"
        accounts.write_text("mobile,password\n")
        code, err = _run(capsys, "--host", f"http://127.0.0.1:{httpd.server_address[1]}", "--accounts",
                         str(accounts), "--model-results", str(model), "--out", str(tmp_path / "p.yaml"))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 2 and len(err.splitlines()) == 1
    assert "/metrics: HTTP 404" in err


def test_route_map_missing_an_endpoint(capsys, tmp_path, model):
    routes = tmp_path / "routes.yaml"
    routes.write_text('heartbeat: {method: POST, path: "/api/v1/progress/heartbeat"}\n')
    code, err = _run(capsys, "--route-map", str(routes), "--model-results", str(model),
                     "--out", str(tmp_path / "p.yaml"))
    assert code == 2 and len(err.splitlines()) == 1
    assert "--route-map" in err and "missing endpoint 'sms_send'" in err


def test_never_overwrites_without_force(capsys, tmp_path, model):
    out = tmp_path / "platform.yaml"
    out.write_text("precious\n")
    code, err = _run(capsys, "--model-results", str(model), "--out", str(out))
    assert code == 2 and "use --force" in err
    assert out.read_text() == "precious\n"


@pytest.mark.parametrize("argv,message", [
    (["--scale", "0"], "--scale: must be a positive number"),
    (["--step-seconds", "-3"], "--step-seconds: must be a positive number"),
    (["--max-steps", "2"], "--max-steps: must be at least"),
    (["--host", "ftp://x"], "--host: expected a URL"),
])
def test_bad_numbers(capsys, argv, message):
    code, err = _run(capsys, *argv)
    assert code == 2 and message in err
