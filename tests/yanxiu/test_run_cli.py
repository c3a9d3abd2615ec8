"""``yanxiu run`` end to end on the smoke scenario."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SMOKE
from yanxiu.cli import main


def test_run_writes_the_results_folder(tmp_path, capsys):
    out = tmp_path / "smoke"
    assert main(["run", str(SMOKE), "--teachers", "300", "--seed", "4", "--out", str(out)]) == 0
    for name in ("timeseries.csv", "outcomes_daily.csv", "attempts.csv", "summary.json",
                 "requests_window.png", "heatmap.png", "funnel.png"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["teachers"] == 300
    assert summary["scenario_path"] == str(SMOKE)
    printed = capsys.readouterr().out
    assert "results in" in printed
    # the busiest minute confirmed request by request, one printed line per tier seen
    peak = summary["confirmation"]["minutes"][0]
    assert peak["at"] == summary["peaks"]["rps.total"]["at"]
    assert f"request-level check of {peak['at']}" in printed
    for tier, figures in peak["tiers"].items():
        assert figures["requests"] > 0 and f"    {tier}: " in printed
        assert set(figures["p99_s"]) == {"model", "simulated", "ci95", "relative_error",
                                         "model_in_ci95"}


def test_shards_are_recorded_and_workers_do_not_change_results(tmp_path):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        assert main(["run", str(SMOKE), "--teachers", "400", "--shards", "2", "--workers", workers,
                     "--no-charts", "--no-confirm", "--out", str(out)]) == 0
        outs.append(out)
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["model"]["shards"] == 2 and "sessions.shard1" in summary["seeds"]
    for name in ("timeseries.csv", "outcomes_daily.csv", "summary.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_no_confirm_skips_the_request_level_check(tmp_path, capsys):
    out = tmp_path / "n"
    assert main(["run", str(SMOKE), "--teachers", "150", "--no-charts", "--no-confirm",
                 "--out", str(out)]) == 0
    assert "confirmation" not in json.loads((out / "summary.json").read_text())
    assert "request-level check" not in capsys.readouterr().out


def test_default_folder_is_results_slash_scenario_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(SMOKE), "--teachers", "200", "--no-charts", "--no-confirm"]) == 0
    assert (tmp_path / "results" / "smoke" / "summary.json").exists()


@pytest.mark.parametrize("args, message", [
    (["run", "missing.yaml"], "missing.yaml: cannot read"),
])
def test_bad_scenario_is_one_line_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("option", [["--teachers", "0"], ["--teachers", "many"],
                                    ["--seed", "-1"], ["--replications", "0"],
                                    ["--shards", "0"], ["--workers", "x"]])
def test_bad_options_exit_2(option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(SMOKE), *option])
    assert exc.value.code == 2
    assert option[0] in capsys.readouterr().err


def test_workload_scenario_runs_the_request_level_experiment(tmp_path):
    scenarios = sorted((ROOT / "tests" / "scenarios").glob("erlang-mm1*.yaml"))
    if not scenarios:
        pytest.skip("no workload scenario files")
    out = tmp_path / "w"
    assert main(["run", str(scenarios[0]), "--out", str(out), "--replications", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "workload"


def test_console_script_progress_goes_to_stderr(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "yanxiu.cli", "run", str(SMOKE), "--teachers", "150",
         "--no-charts", "--no-confirm", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, cwd=Path(ROOT), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "results in" in result.stdout


def test_replications_add_confidence_intervals(tmp_path):
    out = tmp_path / "r"
    assert main(["run", str(SMOKE), "--teachers", "150", "--no-charts", "--no-confirm",
                 "--out", str(out), "--replications", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    reps = summary["replications"]
    assert reps["count"] == 2 and len(reps["seeds"]) == 2
    lo, hi = reps["ci95"]["peak(rps.total)"]
    assert lo <= reps["mean"]["peak(rps.total)"] <= hi


def test_run_draws_the_reports_charts_into_the_results_folder(tmp_path):
    """yanxiu run asks the report package for the PNGs (report.pngs): the same drawings as
    report.html, one per chart; --no-charts writes none."""
    from report.pngs import RUN_CHARTS
    from tests.conftest import SMOKE
    from yanxiu.cli import main

    assert main(["run", str(SMOKE), "--teachers", "200", "--out", str(tmp_path / "a"), "--no-confirm"]) == 0
    drawn = {p.stem for p in (tmp_path / "a").glob("*.png")}
    assert drawn == set(RUN_CHARTS) == {"requests_window", "heatmap", "funnel"}
    assert main(["run", str(SMOKE), "--teachers", "200", "--out", str(tmp_path / "b"), "--no-confirm",
                 "--no-charts"]) == 0
    assert not list((tmp_path / "b").glob("*.png"))
