"""loadtests.replan: a finished run judged again against the mean of several model runs (the
model's expectation), whose plan factor is one run's over their number."""

from __future__ import annotations

import json

import pytest

from loadtests.replan import judge, lines, main, mean_model
from tests.loadtests.test_requests import ENDPOINTS, _history, _summary, _timeseries


def _model(tmp_path, name: str, heartbeat: float):
    folder = tmp_path / name
    folder.mkdir()
    ts = _timeseries(folder)
    ts.write_text(ts.read_text().replace(",0.5,", f",{heartbeat},"))
    (folder / "summary.json").write_text(json.dumps({"weight": 2.0}))
    return folder


def test_the_plan_of_several_runs_is_their_mean_and_its_spread_one_runs_over_their_number(tmp_path):
    runs = [_model(tmp_path, "a", 0.4), _model(tmp_path, "b", 0.6)]
    out = tmp_path / "mean"
    out.mkdir()
    series = mean_model(runs, out).read_text().splitlines()
    assert series[0] == "minute,rps.heartbeat,rps.login,rps.sms_send"
    assert series[1].endswith(",0.5,0.1,0.0")
    assert json.loads((out / "summary.json").read_text()) == {"weight": 1.0}
    # a run of 1,800 heartbeats: on the mean plan (0.5 x 2 x 30 x 60 s), not on run a's (1,440)
    run = tmp_path / "run"
    run.mkdir()
    _history(run, {"heartbeat": 30.0})
    (run / "summary.json").write_text(_summary({"heartbeat": 1800}).model_dump_json())
    rows = judge(run, runs, ENDPOINTS)
    assert rows["heartbeat"].planned == pytest.approx(1800.0)
    assert judge(run, runs[:1], ENDPOINTS)["heartbeat"].planned == pytest.approx(1440.0)
    table = lines(rows)
    assert table[0].startswith("endpoint") and table[1].startswith("heartbeat")
    assert [r.split()[0] for r in table[1:]] == ["heartbeat", "login"]  # sms_send plans none


def test_a_run_that_names_no_model_is_refused_with_exit_2(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(_summary({"heartbeat": 1}).model_dump_json())
    assert main([str(run)]) == 2
    assert "name --model and --scenario" in capsys.readouterr().err


def test_a_folder_without_a_summary_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_model_folder_without_its_series_or_a_scenario_that_is_not_one_is_one_line_and_exit_2(
        tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(_summary({"heartbeat": 1}).model_dump_json())
    scenario = tmp_path / "absent.yaml"
    assert main([str(run), "--model", str(tmp_path / "nothing"), "--scenario", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--model" in err and "timeseries.csv" in err
    model = _model(tmp_path, "a", 0.4)
    assert main([str(run), "--model", str(model), "--scenario", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scenario" in err and "absent.yaml" in err
