"""A plain Locust results folder (``locust -f loadtests/locustfile.py --csv DIR/locust``):
Locust's own file names, our summary.json beside them; ``yanxiu report`` and ``yanxiu
check`` read it as they read a ``yanxiu loadtest`` folder."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.loadtests.conftest import ROOT, SMOKE, locust_argv, read_summary, write_series


@pytest.mark.slow
def test_report_and_check_read_a_plain_locust_folder(tmp_path, stub, accounts):
    # quiet minutes at the end: an arrival started late after the plan's last edge is in no bin
    model = write_series(tmp_path / "model", [20.0] * 12 + [0.0] * 12, admin_rps=[0.05] * 12 + [0.0] * 12)
    out = tmp_path / "plain"
    done = subprocess.run(
        locust_argv("--headless", "--host", stub.url, "--scenario", str(SMOKE), "--model-results", str(model),
                    "--stretch", "window", "--compress", "360", "--scale", "1", "--accounts", str(accounts),
                    "--answers", str(stub.answers), "--csv", str(out / "locust"), "--csv-full-history",
                    "--tags", "login", "campaign", "admin", "--loglevel", "WARNING"),
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "locust_stats_history.csv").is_file() and not (out / "stats_history.csv").exists()
    summary = read_summary(out)
    assert summary["trustworthy"]
    # the master puts the model's requests beside the target's (the model run is at hand): 0.05
    # administrators' views a model second x 360 x 12 model minutes of 1/6 s; a replay of 4 s,
    # shorter than a 10-s bin, has no bins and so no judgement over its stretch either
    views = summary["requests_vs_plan"]["admin_progress"]
    assert views["planned"] == pytest.approx(36.0) and views["achieved"] == 36
    assert "in_stretch" not in views and "max(requests.error.admin_progress)" not in summary["metrics"]
    report = subprocess.run([sys.executable, "-m", "yanxiu.cli", "report", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=180)
    assert report.returncode == 0, report.stderr
    assert (out / "report" / "report.html").is_file()
    check = subprocess.run([sys.executable, "-m", "yanxiu.cli", "check", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
