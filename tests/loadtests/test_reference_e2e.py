"""The issue's done-criterion: `yanxiu loadtest scenarios/smoke.yaml` starts the reference
platform on loopback, replays a compressed stretch, stops everything and leaves results."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import urllib.request

import pytest

from tests.loadtests.conftest import ROOT, SMOKE, read_summary, write_series


@pytest.mark.slow
def test_smoke_replay_against_the_reference_platform(tmp_path):
    args = [str(SMOKE), "--stretch", "peak-hour", "--compress", "144", "--out", str(tmp_path / "run")]
    if importlib.util.find_spec("yanxiu.commands.run") is None:
        # the model command is not there yet: a smoke-sized evening hour stands in for it
        model = write_series(tmp_path / "model", [8.0] * 24 * 60, registrations=[2.0] * 24 * 60,
                             admin_rps=[0.02] * 24 * 60, cert_rps=[0.0] * 24 * 60)
        args += ["--model-results", str(model)]
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "loadtest", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reference platform up at http://127.0.0.1:" in done.stdout
    out = tmp_path / "run"
    summary = read_summary(out)
    assert summary["host"].startswith("http://127.0.0.1:")
    assert summary["arrivals"]["achieved"] > 0 and summary["arrivals"]["within_10pct"]
    for name in ("login", "campaign_page", "heartbeat"):
        assert summary["endpoints"][name]["requests"] > 0, name
    assert summary["total"]["error_rate"] < 0.05
    for name in ("stats.csv", "stats_history.csv", "report.html", "arrivals.csv"):
        assert (out / name).is_file(), name
    with pytest.raises(OSError):  # the server was stopped
        urllib.request.urlopen(f"{summary['host']}/healthz", timeout=2)


@pytest.mark.slow
def test_seeded_progress_lets_a_short_replay_reach_tests(tmp_path):
    """Teachers seeded with the model's progress at the stretch's start (yanxiu loadtest
    does this by default) take tests within an evening of the peak day."""
    model = tmp_path / "model"
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "run", str(SMOKE), "--out", str(model),
                           "--no-charts"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "run"
    args = [str(SMOKE), "--model-results", str(model), "--stretch", "2023-01-05T19:00..2023-01-05T21:00",
            "--compress", "144", "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "loadtest", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "study progress as the model has it at 2023-01-05T19:00" in done.stdout
    summary = read_summary(out)
    assert summary["total"]["error_rate"] < 0.05
    for name in ("heartbeat", "test_fetch", "test_submit"):
        assert summary["endpoints"][name]["requests"] > 0, name
