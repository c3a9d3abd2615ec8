"""The worked adapter (``loadtests.adapters.uc_example``) drives a stand-in of the real
platform's API shape through ``yanxiu loadtest --api``: arrivals as planned, every operation
mapped (catalogue, async progress, positions, study details, UUID ids), latencies reported."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import pytest

from loadtests.adapters import Adapter, Target, load_adapter
from loadtests.adapters.uc_example import UcAdapter
from tests.loadtests.conftest import ROOT, SMOKE, START, read_summary, write_series
from tests.loadtests.test_broken_runs import yanxiu

API = "loadtests.adapters.uc_example:UcAdapter"
UC_ENDPOINTS = ("sms_send", "school_search", "register", "login", "enrol", "catalogue", "progress_begin",
                "progress_poll", "heartbeat", "study_details", "test_fetch", "test_submit", "admin_progress",
                "certificate")


class CannedClient:
    """Answers by request name, records what was sent (the Client's methods, no HTTP)."""

    def __init__(self, answers: dict) -> None:
        self.answers, self.sent, self.requests = answers, [], 0

    def request(self, name, method, url, **options):
        self.requests += 1
        self.sent.append((name, method, url, options.get("json")))
        answer = self.answers.get(name)
        return answer.pop(0) if isinstance(answer, list) else answer

    def fail(self, name, reason):
        self.sent.append((name, "FAIL", reason, None))

    def sleep(self, seconds):
        pass


def test_uc_adapter_translates_progress_into_the_campaign_page():
    resource = {"resource_id": "r-uuid", "duration": 600.0}
    course = {"course_id": "c-uuid", "sort_order": 1, "resources": [resource]}
    result = {"now": "2023-01-05T19:00:00+08:00", "enrolled": True, "courses": [
        {"course_id": "c-uuid", "studied_seconds": 900.0, "positions": {"r-uuid": 300.0},
         "exam": {"passed": False, "attempts": 2}}]}
    client = CannedClient({"login": {"access_token": "tok", "user_id": "u-uuid"},
                           "catalogue": {"courses": [course]}, "progress_begin": {"task_id": "t1"},
                           "progress_poll": [{"status": "running"}, {"status": "done", "result": result}]})
    adapter = UcAdapter(client, Target("smoke", (1, 2), "246810", {}, "http://x"))
    assert adapter.log_in(SimpleNamespace(mobile="13800000001"), password="pw")
    page = adapter.study_state()
    assert page == {"now": result["now"], "enrolled": True, "courses": [
        {"id": 1, "studied_s": 900.0, "test": {"passed": False, "attempts": 2},
         "resources": [{"id": "r-uuid", "duration_s": 600.0, "watched_s": 300.0}]}]}
    sent = [s[0] for s in client.sent]
    assert sent == ["login", "catalogue", "progress_begin", "progress_poll", "progress_poll"]
    adapter.report_progress(1, {"id": "r-uuid"}, 450.0, 150.0, last=True)
    assert client.sent[-2][:3] == ("heartbeat", "PUT", "/v1/resource_learning_positions/r-uuid/u-uuid")
    assert client.sent[-1][3] == {"user_id": "u-uuid", "course_id": "c-uuid", "details": {"r-uuid": 450.0}}


@pytest.mark.parametrize("spec, words", [
    ("nosuchmodule:Thing", "cannot import nosuchmodule"),
    ("loadtests.adapters:Client", "not a subclass of loadtests.adapters.Adapter"),
    ("loadtests.adapters", "expected module:Class"),
    ("tests.loadtests.test_uc_adapter:HalfDone", "operations not implemented: send_code"),
])
def test_a_bad_api_is_refused_in_one_line(tmp_path, spec, words):
    model = write_series(tmp_path / "model", [5.0] * 6)
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--api", spec)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yanxiu loadtest: error: --api: ") and words in lines[0]


class HalfDone(Adapter):
    def log_in(self, account, password=None, code=None) -> bool:
        return True


def test_the_default_is_the_reference_adapter():
    from loadtests.adapters.reference import ReferenceAdapter

    assert load_adapter(None) is ReferenceAdapter and load_adapter(API) is UcAdapter


@pytest.fixture
def standin(tmp_path, accounts):
    from loadtests.target import free_port

    port = free_port()
    answers = tmp_path / "uc-answers.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtests.adapters.uc_standin", "--port", str(port), "--scenario", str(SMOKE),
         "--accounts", str(accounts), "--clock-start", START.replace(tzinfo=None).isoformat(),
         "--clock-rate", "240", "--answers-out", str(answers)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/__stats", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"stand-in did not start: {process.stdout.read()}") from None
            time.sleep(0.1)
    def counts() -> dict:
        with urllib.request.urlopen(f"{url}/__stats", timeout=5) as answer:
            return json.loads(answer.read())

    yield SimpleNamespace(url=url, answers=answers, counts=counts)
    process.terminate()
    process.wait(10)


@pytest.mark.slow
def test_the_worked_adapter_drives_the_standin_through_yanxiu_loadtest(tmp_path, standin, accounts):
    # 80 model minutes at compress 240: 20 s; teachers log in or register, administrators look;
    # the last 56 quiet, so that sessions end (and take tests) before the replay does, even
    # when a loaded machine makes every answer take a second
    busy, quiet = 24, 56
    model = write_series(tmp_path / "model", [3.0, 4.0, 5.0, 4.0] * (busy // 4) + [0.0] * quiet,
                         registrations=[1.0] * busy + [0.0] * quiet, admin_rps=[0.02] * busy + [0.0] * quiet,
                         cert_rps=[0.01] * busy + [0.0] * quiet)
    out = tmp_path / "run"
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--stretch", "window",
                  "--compress", "240", "--scale", "1", "--bin-seconds", "2", "--host", standin.url,
                  "--api", API, "--accounts", str(accounts), "--answers", str(standin.answers),
                  "--out", str(out), timeout=240)
    received = standin.counts()
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_summary(out)
    assert summary["trustworthy"] and summary["exceptions"]["count"] == 0, summary["verdict"]
    # planned vs achieved within 10% in every bin (one arrival in bins planning fewer than ten)
    with (out / "arrivals.csv").open() as handle:
        for row in csv.DictReader(handle):
            planned, achieved = float(row["planned"]), int(row["achieved"])
            assert abs(achieved - planned) <= max(0.10 * planned, 1.0), row
    assert summary["arrivals"]["within_10pct"] and summary["arrivals"]["achieved"] > 100
    for name in UC_ENDPOINTS:
        figures = summary["endpoints"][name]
        assert figures["requests"] > 0 and figures["p95_ms"] is not None, name
        assert figures["error_rate"] == 0.0 or name == "certificate", (name, figures)
        assert f"p95(latency.{name})" in summary["metrics"], name
    # what the stand-in received is what Locust counted (sessions cut at the end may have sent one more)
    assert received["/uc/v1/tokens"] >= summary["endpoints"]["login"]["requests"]
    assert received["/v1/exams/{course_id}/answers"] >= summary["endpoints"]["test_submit"]["requests"]
    assert "unknown" not in received
