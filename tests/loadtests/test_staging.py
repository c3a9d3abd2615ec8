"""Staging set-up: files checked before Locust starts, registrations from a file, the
reference platform on a database of one's choosing, and a master with two workers whose
merged statistics equal what the server counted."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from loadtests.accounts import Account, Roster
from tests.loadtests.conftest import ROOT, SMOKE, read_summary, write_series
from tests.loadtests.test_broken_runs import yanxiu
from tests.reference.conftest import empty_postgres, postgres_url  # noqa: F401 (a fixture)

CONNECT_WAIT_S = 90


@pytest.fixture
def model(tmp_path):
    return write_series(tmp_path / "model", [6.0] * 12, registrations=[1.0] * 12, admin_rps=[0.05] * 12)


def refused(done: subprocess.CompletedProcess, words: str) -> None:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yanxiu loadtest: error: ") and words in lines[0], lines


@pytest.mark.parametrize("header, words", [
    ("phone,pass,teacher_id,school_id,province,sub_platform,role",
     "missing column(s) ['mobile', 'password']"),
    ("mobile,password,teacher_id,school_id,province,sub_platform,role", "no administrator accounts"),
])
def test_accounts_file_is_checked_before_locust_starts(tmp_path, model, header, words):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(header + "\n13800000001,pw,1,1,P,basic,teacher\n")
    out = tmp_path / "run"
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--host", "http://127.0.0.1:9",
                  "--accounts", str(accounts), "--out", str(out))
    refused(done, words)
    assert not out.exists()  # Locust never started


def test_registrations_file_header_is_checked(tmp_path, model, accounts):
    registrations = tmp_path / "mobiles.csv"
    registrations.write_text("phone\n16600000001\n")
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--host", "http://127.0.0.1:9",
                  "--accounts", str(accounts), "--registrations", str(registrations))
    refused(done, "--registrations: ")


def test_master_and_worker_options_are_checked(model):
    refused(yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--expect-workers", "2",
                   "--processes", "2"), "--expect-workers")
    refused(yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--expect-workers", "2",
                   "--master-host", "127.0.0.1"), "--master-host")


def test_roster_gives_every_process_teachers_and_administrators_and_registrations_once():
    people = [Account(f"1380000{i:04d}", "pw", i, 1, "P", "basic", "teacher") for i in range(6)]
    people.insert(3, Account("13900000001", "pw", 99, 1, "P", "basic", "school_admin"))
    for part in range(2):
        roster = Roster(people, part, 2, registrations=["16600000001", "16600000002", "16600000003"])
        assert roster.admin() is not None and len(roster.teachers) == 3
        mine = [roster.new_mobile(0) for _ in range(3)]
        assert mine[-1] is None and all(mine[: 2 - part])  # part 0 gets 1st and 3rd, part 1 the 2nd
    assert Roster(people).new_mobile(5) == "16600000005"  # made-up numbers without a file


@pytest.mark.slow
@pytest.mark.postgres
def test_reference_platform_on_a_database_url(tmp_path, postgres_url):  # noqa: F811
    empty_postgres(postgres_url)
    # 6 busy minutes and 30 quiet ones at compress 120 (18 s): the sessions end in the run
    model = write_series(tmp_path / "model", [4.0] * 6 + [0.0] * 30, admin_rps=[0.05] * 6 + [0.0] * 30)
    out = tmp_path / "run"
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--stretch", "window",
                  "--compress", "120", "--scale", "1", "--teachers", "200", "--database-url", postgres_url,
                  "--out", str(out), "--tags", "login", "campaign", "admin", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_summary(out)
    assert summary["endpoints"]["login"]["requests"] > 0 and summary["arrivals"]["achieved"] == 24 + 18
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM teachers").fetchone()[0] >= 200


@pytest.mark.slow
def test_a_master_and_two_workers_on_loopback_equal_the_servers_metrics(tmp_path):
    """`yanxiu loadtest --expect-workers 2` and two `yanxiu loadtest --master-host`: the
    merged statistics equal the reference server's /metrics, endpoint by endpoint."""
    from loadtests.target import ReferenceTarget, free_port

    # 6 busy model minutes then 54 quiet ones (27 s at compress 120), so that every session
    # ends before the replay does, even on a loaded machine (a cut one may leave a request
    # that the server counted and Locust did not)
    busy, quiet = 6, 54
    model = write_series(tmp_path / "model", [5.0] * busy + [0.0] * quiet,
                         admin_rps=[0.05] * busy + [0.0] * quiet)
    port = str(free_port())
    out = tmp_path / "run"
    quiet = lambda *_: None  # noqa: E731
    with ReferenceTarget(SMOKE, 300, "2023-01-05T00:00", "246810", clock_rate=120, say=quiet) as ref:
        master = subprocess.Popen(
            [sys.executable, "-m", "yanxiu.cli", "loadtest", str(SMOKE), "--model-results", str(model),
             "--stretch", "window", "--compress", "120", "--scale", "1", "--host", ref.url,
             "--accounts", str(ref.accounts), "--answers", str(ref.answers), "--out", str(out),
             "--tags", "login", "campaign", "admin", "--expect-workers", "2",
             "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
             "--expect-workers-max-wait", str(CONNECT_WAIT_S)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        workers = [subprocess.Popen(
            [sys.executable, "-m", "yanxiu.cli", "loadtest", str(SMOKE), "--master-host", "127.0.0.1",
             "--master-port", port], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)]
        try:
            output, _ = master.communicate(timeout=CONNECT_WAIT_S + 180)
            for worker in workers:
                worker.wait(timeout=60)
        finally:
            for process in [master, *workers]:
                if process.poll() is None:
                    process.kill()
        with urllib.request.urlopen(f"{ref.url}/metrics", timeout=10) as answer:
            served = _requests_by_endpoint(answer.read().decode())
    assert master.returncode == 0, output[-3000:]
    summary = read_summary(out)
    assert len(summary["arrivals"]["by_process"]) == 2 and summary["arrivals"]["cut"] == 0
    assert summary["arrivals"]["achieved"] == round(summary["arrivals"]["planned"]) == 5 * 6 + 3 * 6
    measured = {name: figures["requests"] for name, figures in summary["endpoints"].items()}
    assert measured == {name: served[name] for name in measured} and sum(measured.values()) > 100
    assert set(served) - set(measured) <= {"health", "metrics"}


def _requests_by_endpoint(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, value in re.findall(r'^yanxiu_requests_total\{[^}]*endpoint="([^"]+)"[^}]*\} ([0-9.e+]+)$',
                                  text, flags=re.M):
        counts[name] = counts.get(name, 0) + int(float(value))
    return counts
