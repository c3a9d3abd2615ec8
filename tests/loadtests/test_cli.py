"""``yanxiu loadtest`` end to end through exit codes; a staging-like --host with a route map."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.loadtests.conftest import ROOT, SMOKE, read_summary, start_stub, write_series

STAGING_MAP = """\
sms_send: {method: POST, path: /staging/sms}
school_search: /staging/schools
register: {method: POST, path: /staging/sign-up}
login: {method: POST, path: /staging/sso/login}
enrol: {method: PUT, path: "/staging/{campaign}/join"}
campaign_page: /staging/home
heartbeat: {method: POST, path: /staging/player/beat}
test_fetch: "/staging/exam/{course_id}"
test_submit: {method: POST, path: "/staging/exam/{course_id}/answers"}
certificate: /staging/certificate
admin_progress: /staging/admin/stats
"""


def yanxiu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yanxiu.cli", "loadtest", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def model(tmp_path):
    # 24 busy minutes; at compress 360 they last 4 s and a test attempt (8-10 model minutes)
    # ~1.5 s; then 12 quiet ones (2 s), so that sessions reach their tests before the end even
    # when a loaded machine makes every answer take most of a second
    quiet = [0.0] * 12
    return write_series(tmp_path / "model", [8.0, 12.0, 16.0] * 8 + quiet, registrations=[3.0] * 24 + quiet,
                        admin_rps=[0.05] * 24 + quiet, cert_rps=[0.05] * 24 + quiet)


@pytest.mark.parametrize("args, field", [
    (["--stretch", "bogus"], "--stretch"),
    (["--stretch", "2031-01-01"], "--stretch"),
    (["--compress", "0"], "--compress"),
    (["--scale", "-1"], "--scale"),
    (["--duration", "-5"], "--duration"),
    (["--host", "http://127.0.0.1:9"], "--accounts"),
    (["--host", "ftp://x"], "--host"),
    (["--route-map", "/nonexistent.yaml"], "--route-map"),
    (["--server-max-in-flight", "-1"], "--server-max-in-flight"),
    (["--server-waiting-room", "-2"], "--server-waiting-room"),
    (["--server-waiting-room", "5", "--host", "http://127.0.0.1:9"], "--server-waiting-room"),
])
def test_bad_input_is_one_line_and_exit_2(model, args, field, capsys):
    from yanxiu.cli import main

    assert main(["loadtest", str(SMOKE), "--model-results", str(model), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yanxiu loadtest: error: ") and field in lines[0]


def test_bad_route_map_entry_is_exit_2_from_the_command_line(model, tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("logout: /bye\n")
    done = yanxiu(str(SMOKE), "--model-results", str(model), "--route-map", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"yanxiu loadtest: error: --route-map: {bad}: logout: unknown endpoint (known: "
        + done.stderr.split("(known: ")[1].strip()]


def test_staging_host_with_route_map_and_accounts(tmp_path, model, accounts):
    """A system whose paths all differ from the reference's: every request hits a mapped
    path (the stub knows only the staging paths), names stay the model's endpoint names."""
    route_map = tmp_path / "staging.yaml"
    route_map.write_text(STAGING_MAP)
    stub = start_stub(tmp_path, "--route-map", str(route_map))
    try:
        out = tmp_path / "run"
        done = yanxiu(str(SMOKE), "--model-results", str(model), "--stretch", "window", "--compress", "360",
                      "--scale", "1", "--host", stub.url, "--route-map", str(route_map),
                      "--accounts", str(accounts), "--answers", str(stub.answers), "--out", str(out))
        received = stub.counts()
    finally:
        stub.process.terminate()
        stub.process.wait(10)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "arrivals" in done.stdout and "trustworthy" in done.stdout
    summary = read_summary(out)
    assert summary["kind"] == "loadtest" and summary["host"] == stub.url
    assert summary["model_results"] == str(model) and summary["arrivals"]["within_10pct"]
    assert "unknown" not in received  # no request went to a reference path
    for name in ("login", "register", "sms_send", "school_search", "campaign_page", "enrol", "heartbeat",
                 "test_fetch", "test_submit", "admin_progress", "certificate"):
        assert summary["endpoints"][name]["requests"] > 0, name
        assert summary["endpoints"][name]["error_rate"] == 0.0, name
    for name in ("stats.csv", "stats_history.csv", "failures.csv", "exceptions.csv", "report.html",
                 "arrivals.csv", "summary.json"):
        assert (out / name).is_file(), name
    metrics = summary["metrics"]
    assert {"p95(latency.login)", "p99(latency.all)", "rate(errors)"} <= set(metrics)


def test_the_command_never_loads_gevent_or_locust():
    """Locust monkey-patches the process it is imported in; `yanxiu loadtest` may have run the
    model (threads) first, so it must only start Locust as a subprocess."""
    code = ("import sys, yanxiu.commands.loadtest as c, loadtests.run, loadtests.target, loadtests.options;"
            "print(sorted(m for m in ('gevent', 'locust') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_seeded_progress_instant_follows_the_stretch():
    """Progress as at the stretch's first minute; after the window, a stretch that reaches
    the certificate date seeds as at that date (same progress, certificates issued)."""
    import datetime as dt
    from types import SimpleNamespace

    from domain.campaign import Campaign
    from domain.scenario import load_scenario
    from yanxiu.replay_setup import progress_instant as _progress_instant

    campaign = Campaign(load_scenario(SMOKE))  # window to 01-13, certificates 01-14 09:00

    def instant(first: str, minutes: int) -> str:
        plan = SimpleNamespace(first_minute=dt.datetime.fromisoformat(first), minutes=minutes)
        return _progress_instant(SimpleNamespace(campaign=campaign, plan=plan))

    assert instant("2023-01-05T19:00+08:00", 120) == "2023-01-05T19:00"
    assert instant("2023-01-14T00:00+08:00", 1440) == "2023-01-14T09:00"
    assert instant("2023-01-14T00:00+08:00", 60) == "2023-01-14T00:00"  # ends before the batch
    assert instant("2023-01-12T00:00+08:00", 4 * 1440) == "2023-01-12T00:00"  # starts in the window


def test_accounts_come_back_as_often_as_the_models_teachers(tmp_path):
    """One account per login, capped by the model's active teachers on the stretch's days."""
    from loadtests.plan import Plan, read_timeseries
    from yanxiu.replay_setup import teachers_needed as _teachers_needed

    model = write_series(tmp_path / "model", [10.0] * 2880)  # two days from 01-05, 28,800 sessions
    plan = Plan(read_timeseries(model / "timeseries.csv"), 0, 1440, 144, 0.5)  # the first day, half
    assert _teachers_needed(plan) == 1.2 * 7200 + 50
    days = "# per day: active\nday,active\n2023-01-05,3000\n2023-01-06,9000\n"
    (model / "outcomes_daily.csv").write_text(days)
    assert _teachers_needed(plan, model) == 1500  # 3,000 active that day, at half scale
    both = Plan(read_timeseries(model / "timeseries.csv"), 1000, 2000, 144, 0.5)  # spans both days
    assert _teachers_needed(both, model) == 6000
    assert _teachers_needed(plan, tmp_path / "nothing") == 1.2 * 7200 + 50


def test_every_resumed_session_gets_an_account_of_its_own(tmp_path):
    """Sessions resumed at the origin run at once: each takes an account besides the logins'."""
    from loadtests.plan import Plan, Series, read_timeseries
    from yanxiu.replay_setup import teachers_needed as _teachers_needed

    model = write_series(tmp_path / "model", [10.0] * 2880)
    (model / "outcomes_daily.csv").write_text("day,active\n2023-01-05,3000\n2023-01-06,9000\n")
    s = read_timeseries(model / "timeseries.csv")
    running = Series(s.minutes, s.sessions, s.registrations, s.admin, s.certificates, s.sessions * 0 + 810.0)
    plan = Plan(running, 0, 1440, 144, 0.5)  # (810 - 10) x 0.5 = 400 running at the first minute
    assert plan.resumed_count() == 400
    assert _teachers_needed(plan, model) == 1500 and _teachers_needed(plan, model, resume=True) == 1900
