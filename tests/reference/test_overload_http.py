"""Heartbeats under overload, over real HTTP: a server with a small in-flight bound sheds what
exceeds it with 503, ``shed: true`` and Retry-After, counts each in /metrics
(``yanxiu_shed_total{endpoint="heartbeat"}``), and the load-test client resends the shed beats
until they are recorded, each credited once."""

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

BEATS = 24


class _Http:
    """What loadtests.adapters.Client needs of Locust's client (the fast path), over httpx."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.statuses: list[int] = []

    def request(self, method, url, name=None, json=None, headers=None):
        answer = self.client.request(method, url, json=json, headers=headers)
        self.statuses.append(answer.status_code)
        if answer.status_code == 503:
            assert answer.json() == {"detail": "server busy: request shed, retry after 1 s", "shed": True,
                                     "retry_after_s": 1}
            assert answer.headers["retry-after"] == "1"
        return answer


def _serve(tmp_path, port: int, url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
    return subprocess.Popen(
        [sys.executable, "-m", "yanxiu.cli", "serve", "--workers", "1", "--port", str(port), "--database-url",
         url, "--scenario", str(SMOKE), "--clock-start", "2023-01-04T10:00", "--max-in-flight", "1"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _tokens(base: str, accounts, n: int) -> list[str]:
    with accounts.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["role"] == "teacher"][:n]
    tokens = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for row in rows:
            for _ in range(20):  # logins may be shed too (the bound is 1): resend after the wait
                secret = {"mobile": row["mobile"], "password": row["password"]}
                answer = client.post("/api/v1/auth/login", json=secret)
                if answer.status_code != 503:
                    break
            token = answer.json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(20):
                if client.post("/api/v1/campaigns/smoke/enrol", headers=headers).status_code != 503:
                    break
            tokens.append(token)
    return tokens


def _shed_count(base: str) -> float:
    text = httpx.get(base + "/metrics", timeout=10).text
    lines = [x for x in text.splitlines() if x.startswith('yanxiu_shed_total{endpoint="heartbeat"}')]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


@pytest.mark.slow
def test_shed_heartbeats_are_said_so_counted_and_resent_until_recorded(tmp_path):
    from loadtests.adapters import Client

    url = f"sqlite:///{tmp_path / 'overload.sqlite'}"
    seed = ["seed", "--teachers", str(BEATS), "--database-url", url, "--scenario", str(SMOKE),
            "--out", str(tmp_path / "seed")]
    subprocess.run([sys.executable, "-m", "yanxiu.cli", *seed], check=True, capture_output=True, timeout=300)
    port = _free_port()
    server = _serve(tmp_path, port, url)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(server, base)
        tokens = _tokens(base, tmp_path / "seed" / "accounts.csv", BEATS)
        shed_before = _shed_count(base)
        https = [_Http(base) for _ in tokens]
        answers: list = [None] * len(tokens)
        start = threading.Barrier(len(tokens))

        def player(i: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[i]}"}
            client = Client(https[i], sleep=time.sleep)
            start.wait()
            for seq, position in ((1, 0.0), (2, 1.0)):  # the first beat starts the clock
                beat = {"resource_id": "1.1", "position_s": position, "elapsed_s": position, "seq": seq}
                answers[i] = client.request("heartbeat", "POST", "/api/v1/progress/heartbeat", fast=True,
                                            json=beat, headers=headers)

        threads = [threading.Thread(target=player, args=(i,)) for i in range(len(tokens))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = [s for http in https for s in http.statuses]
        shed = statuses.count(503)
        assert shed > 0, "nothing was shed: the bound of 1 in flight did not bite"
        assert set(statuses) <= {200, 503}  # shed or served: no timeouts, no other errors
        assert _shed_count(base) - shed_before == shed  # every shed beat is in /metrics
        assert all(a is not None and a["replay"] is False for a in answers)  # every beat recorded in the end
        assert all(a["recorded_s"] <= 1.0 for a in answers)  # and credited once, not per try
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
