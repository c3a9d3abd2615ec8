"""The login waiting room on a real `yanxiu serve` with two workers (slow): a burst of logins
is partly queued, every queued login gets in with its ticket, whichever worker takes it, in
about the room's rate, and /metrics sums the room's outcomes over both workers."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import SMOKE
from tests.reference.test_serve import _free_port, _wait_up

LOGINS, RATE = 20, 2  # a second per worker


def _login(base: str, row: dict, results: list) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        headers, polls, started = {}, 0, time.monotonic()
        for _ in range(30):
            secret = {"mobile": row["mobile"], "password": row["password"]}
            answer = client.post("/api/v1/auth/login", json=secret, headers=headers)
            if answer.status_code != 429:
                break
            headers, polls = {"X-Queue-Ticket": answer.json()["ticket"]}, polls + 1
            time.sleep(float(answer.headers["retry-after"]))
        results.append((answer.status_code, polls, time.monotonic() - started))


@pytest.mark.slow
def test_a_burst_of_logins_is_queued_and_served_by_both_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'room.sqlite'}"
    seed = ["seed", "--teachers", "30", "--database-url", url, "--scenario", str(SMOKE),
            "--out", str(tmp_path / "seed")]
    subprocess.run([sys.executable, "-m", "yanxiu.cli", *seed], check=True, capture_output=True, timeout=300)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "yanxiu.cli", "serve", "--workers", "2", "--port", str(port),
         "--database-url", url, "--scenario", str(SMOKE), "--waiting-room", str(RATE)],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(server, base)
        with (tmp_path / "seed" / "accounts.csv").open() as handle:
            rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][:LOGINS]
        results: list = []
        threads = [threading.Thread(target=_login, args=(base, row, results)) for row in rows]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert [status for status, _, _ in results] == [200] * LOGINS
        queued = sum(polls > 0 for _, polls, _ in results)
        assert 0 < queued < LOGINS
        # two workers admit RATE a second each, after a second's burst each
        assert max(seconds for _, _, seconds in results) >= (LOGINS - 2 * (RATE + 1)) / (2 * RATE) - 1
        lines = httpx.get(base + "/metrics", timeout=10).text.splitlines()
        counts = {line.split('"')[1]: float(line.rsplit(" ", 1)[1])
                  for line in lines if line.startswith("yanxiu_waiting_room_total{")}
        assert counts["queued"] >= queued and counts["ticket_admitted"] == queued
        assert counts["admitted"] + counts["ticket_admitted"] == LOGINS
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
