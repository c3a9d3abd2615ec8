"""Broken runs are never called trustworthy: each case ends ``yanxiu loadtest`` non-zero with a
one-line reason, and ``yanxiu check`` fails the results without extra flags.

Each replays 2 s of a small plan against the stub on 127.0.0.1 (a few seconds with Locust's
start-up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadtests.adapters.reference import ReferenceAdapter
from tests.loadtests.conftest import ROOT, SMOKE, read_summary, start_stub, write_series
from tests.loadtests.test_cli import STAGING_MAP


def yanxiu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yanxiu.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def model(tmp_path):
    # teachers logging in and administrators; at compress 360 a model minute lasts 1/6 s
    return write_series(tmp_path / "model", [30.0] * 24, admin_rps=[0.2] * 24)


def replay(model, target, out, accounts, *extra: str) -> subprocess.CompletedProcess:
    return yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--stretch", "window",
                  "--compress", "360", "--scale", "1", "--duration", "2", "--host", target.url,
                  "--accounts", str(accounts), "--answers", str(target.answers), "--out", str(out),
                  "--tags", "login", "campaign", "admin", *extra)


def assert_fails(done: subprocess.CompletedProcess, out, words: str) -> dict:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yanxiu loadtest: NOT trustworthy: "), done.stderr
    assert words in lines[0], lines[0]
    summary = read_summary(out)
    assert summary["trustworthy"] is False and any(words in r for r in summary["verdict"])
    check = yanxiu("check", str(out))  # no --allow-missing: the verdict fails it first
    assert check.returncode == 1 and "NOT trustworthy" in check.stdout, check.stdout + check.stderr
    return summary


@pytest.mark.slow
def test_a_clean_run_passes(tmp_path, model, stub, accounts):
    out = tmp_path / "run"
    done = replay(model, stub, out, accounts)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_summary(out)
    assert summary["trustworthy"] and summary["verdict"] == [] and summary["exceptions"]["count"] == 0
    assert summary["arrivals"]["idle"] == 0 and summary["arrivals"]["no_account"] == {}


@pytest.mark.slow
def test_every_request_failing_is_not_trustworthy(tmp_path, model, accounts):
    """The target knows other paths (a staging map the run was not given): 100% errors."""
    route_map = tmp_path / "staging.yaml"
    route_map.write_text(STAGING_MAP)
    target = start_stub(tmp_path, "--route-map", str(route_map))
    try:
        out = tmp_path / "run"
        done = replay(model, target, out, accounts)
    finally:
        target.process.terminate()
        target.process.wait(10)
    summary = assert_fails(done, out, "error rate 100.00% breaches rate(errors) < 1%")
    assert summary["total"]["error_rate"] == 1.0


@pytest.mark.slow
def test_a_user_class_left_without_tasks_is_not_spawned(tmp_path, model, stub, accounts):
    """--tags login leaves the administrators no task: their arrivals are not started (no
    "No tasks defined" loop), counted, and the run fails."""
    out = tmp_path / "run"
    done = replay(model, stub, out, accounts, "--tags", "login")
    summary = assert_fails(done, out, "admin arrivals not started: --tags/--exclude-tags left them no task")
    assert summary["exceptions"]["count"] == 0
    assert summary["arrivals"]["untasked"]["admin"] >= 1


@pytest.mark.slow
def test_arrivals_without_an_account_of_their_kind(tmp_path, stub, accounts):
    """New teachers register with the --registrations numbers, each once; once they are used
    up a registration has no account to take (no made-up number instead), and is counted.
    (A file with no account of a kind the plan needs is refused before Locust starts:
    test_staging.)"""
    model = write_series(tmp_path / "model", [10.0] * 12, registrations=[5.0] * 12)
    registrations = tmp_path / "mobiles.csv"
    registrations.write_text("mobile\n16600000001\n16600000002\n")
    out = tmp_path / "run"
    done = replay(model, stub, out, accounts, "--tags", "register", "login", "campaign",
                  "--registrations", str(registrations))
    summary = assert_fails(done, out, "registration arrivals found no account of their kind")
    assert summary["endpoints"]["register"]["requests"] == 2  # each listed number once, no other
    assert summary["arrivals"]["no_account"]["registration"] == 5 * 12 - 2


class PlaceholderAdapter(ReferenceAdapter):
    """The issue's case: a path whose placeholder nothing fills (route maps now refuse it when
    loaded, an adapter can still get it wrong): the campaign page raises in every session."""

    def study_state(self):
        return self.client.request("campaign_page", "GET", "/api/v1/campaign/{course_id}".format(**{}))


@pytest.mark.slow
def test_locust_exceptions_are_not_trustworthy(tmp_path, model, stub, accounts):
    out = tmp_path / "run"
    done = replay(model, stub, out, accounts, "--api", "tests.loadtests.test_broken_runs:PlaceholderAdapter")
    summary = assert_fails(done, out, "Locust exceptions (most: 'course_id')")
    assert summary["exceptions"]["count"] > 0 and "campaign_page" not in summary["endpoints"]
