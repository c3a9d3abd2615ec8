"""An acknowledged heartbeat survives ``kill -9``: a real ``yanxiu serve`` (two uvicorn
workers, SQLite in WAL mode) under heartbeat load is killed mid-load, restarted on the same
file, and every progress value it had acknowledged must still be there.

(``kill -9`` loses what the process had not yet handed to the kernel; surviving it proves
that the server commits before it answers. Power-loss safety additionally rests on SQLite's
``synchronous=FULL``, which no process-level test can show.)
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SMOKE

CLIENTS = 4
LOAD_S = 3.0  # load before the kill
MAX_BEATS = 3000  # per client: bounds the loop whatever the timing
RESOURCES = ["1.1", "1.2", "2", "3"]  # course 1 of the smoke campaign, open on 2023-01-04
ENV = {
    "YANXIU_SECRET": "durability-secret-0123456789",
    "YANXIU_ARGON2_TIME_COST": "1",
    "YANXIU_ARGON2_MEMORY_KIB": "1024",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _yanxiu(*args: str) -> list[str]:
    return [sys.executable, "-m", "yanxiu.cli", *args]


def _start(url: str, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")} | ENV
    process = subprocess.Popen(
        _yanxiu(
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--database-url",
            url,
            "--scenario",
            str(SMOKE),
            "--clock-start",
            "2023-01-04T10:00",
        ),
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill -9 takes the workers too
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None:
            break
    _kill(process)
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def _login(base: str, row: dict) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/api/v1/auth/login", timeout=10, json={"mobile": row["mobile"], "password": row["password"]}
    )
    assert answer.status_code == 200, answer.text
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    enrolled = httpx.post(f"{base}/api/v1/campaigns/smoke/enrol", headers=headers, timeout=10)
    assert enrolled.status_code in (200, 201), enrolled.text
    return headers


def _beat_until_killed(base: str, headers: dict, resource: str, acked: dict, stop) -> None:
    """Heartbeats as fast as the server answers; remember the last acknowledged state."""
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        for seq in range(1, MAX_BEATS + 1):
            if stop.is_set():
                return
            try:
                answer = client.post(
                    "/api/v1/progress/heartbeat",
                    json={"resource_id": resource, "position_s": 1.0, "elapsed_s": 5.0, "seq": seq},
                )
            except httpx.TransportError:
                return  # the server is gone
            if answer.status_code == 200:
                acked[resource] = (seq, answer.json()["resource_watched_s"])


@pytest.mark.slow
def test_acknowledged_heartbeats_survive_kill_9(tmp_path):
    db_file = tmp_path / "durable.sqlite"
    url = f"sqlite:///{db_file}"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")} | ENV
    subprocess.run(
        _yanxiu(
            "seed",
            "--teachers",
            "20",
            "--database-url",
            url,
            "--scenario",
            str(SMOKE),
            "--out",
            str(tmp_path),
        ),
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (tmp_path / "accounts.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][:CLIENTS]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(url, port, log)
    try:
        logins = [_login(base, row) for row in rows]
        acked: dict[str, tuple[int, float]] = {}
        stop = threading.Event()
        threads = [
            threading.Thread(target=_beat_until_killed, args=(base, headers, resource, acked, stop))
            for headers, resource in zip(logins, RESOURCES, strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_S)
        _kill(server)  # mid-load: requests are in flight
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        _kill(server)

    assert len(acked) == CLIENTS and all(seq >= 3 for seq, _ in acked.values()), acked
    port = _free_port()
    server = _start(url, port, log)  # recovery: the WAL is replayed on open
    try:  # what the restarted server shows each teacher on the campaign page
        shown = {}
        for headers, resource in zip(logins, RESOURCES, strict=True):
            page = httpx.get(f"http://127.0.0.1:{port}/api/v1/campaign", headers=headers, timeout=10)
            assert page.status_code == 200, page.text
            views = [r for c in page.json()["courses"] for r in c["resources"]]
            shown[resource] = next(r["watched_s"] for r in views if r["id"] == resource)
    finally:
        _kill(server)
    for resource, (_seq, watched) in acked.items():
        assert shown[resource] >= watched - 1e-6, (resource, shown[resource], watched)
    with sqlite3.connect(db_file) as conn:
        stored = {
            r: (seq, watched)
            for r, seq, watched in conn.execute(
                "SELECT resource_id, last_seq, watched_s FROM resource_progress"
            )
        }
    for resource, (seq, watched) in acked.items():
        stored_seq, stored_watched = stored[resource]
        # At most the one in-flight beat may have committed without being acknowledged.
        assert stored_seq in (seq, seq + 1), (resource, stored_seq, seq)
        assert stored_watched >= watched - 1e-9, (resource, stored_watched, watched)
        if stored_seq == seq:
            assert stored_watched == pytest.approx(watched)
