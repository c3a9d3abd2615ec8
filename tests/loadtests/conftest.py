"""Fixtures for the load-test harness: a model time series, accounts, a stub target.

Every target here listens on 127.0.0.1 and stops by itself; every Locust run is bounded
by the replayed stretch (seconds) and a subprocess timeout.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from loadtests.target import free_port

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.yaml"
ZONE = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2023, 1, 5, 0, 0, tzinfo=ZONE)


def write_series(folder: Path, sessions, registrations=None, admin_rps=None, cert_rps=None,
                 start: dt.datetime = START, enrol_rps=None) -> Path:
    """A model time series (docs/results.md columns the replay reads), one row a minute; with
    ``enrol_rps`` the model's enrolments too (``rps.enrol``)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(sessions)
    registrations = registrations if registrations is not None else [0.0] * n
    admin_rps = admin_rps if admin_rps is not None else [0.0] * n
    cert_rps = cert_rps if cert_rps is not None else [0.0] * n
    with (folder / "timeseries.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minute", "offset_min", "rps.total", "arrivals.sessions",
                         "arrivals.registrations", "rps.admin_progress", "rps.certificate"]
                        + (["rps.enrol"] if enrol_rps is not None else []))
        for i in range(n):
            writer.writerow([(start + dt.timedelta(minutes=i)).isoformat(), i, 1.0, sessions[i],
                             registrations[i], admin_rps[i], cert_rps[i]]
                            + ([enrol_rps[i]] if enrol_rps is not None else []))
    return folder


@pytest.fixture
def accounts(tmp_path) -> Path:
    path = tmp_path / "accounts.csv"
    rows = [["mobile", "password", "teacher_id", "school_id", "province", "sub_platform", "role"]]
    rows += [[f"1380000{i:04d}", "Yanxiu@2023", i, 1, "P", "basic" if i % 2 else "higher", "teacher"]
             for i in range(1, 201)]
    rows += [[f"1390000{i:04d}", "Yanxiu@2023", 1000 + i, 1, "P", "basic", "school_admin"]
             for i in range(1, 6)]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


class StubServer:
    def __init__(self, process: subprocess.Popen, url: str, answers: Path) -> None:
        self.process, self.url, self.answers = process, url, answers

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/__stats", timeout=5) as answer:
            return json.loads(answer.read())


def start_stub(tmp_path: Path, *extra: str, max_seconds: float = 120) -> StubServer:
    port = free_port()
    answers = tmp_path / "answers.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtests.stub", "--port", str(port), "--scenario", str(SMOKE),
         "--answers-out", str(answers), "--max-seconds", str(max_seconds), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/hello", timeout=1):
                return StubServer(process, url, answers)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"stub exited: {process.stdout.read()}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("stub did not start")


@pytest.fixture
def stub(tmp_path):
    server = start_stub(tmp_path)
    yield server
    server.process.terminate()
    server.process.wait(10)


def locust_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"), *args]


def read_summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())
