"""Which scenario file `yanxiu check` and `yanxiu report` read: the one given, else the one
summary.json records (scenario_path), never one guessed from the scenario's name."""

from __future__ import annotations

import pytest

from gate.evaluate import GateError
from gate.results import load_summary, scenario_path
from tests.report.builder import write_model_results
from yanxiu.cli import main


def _recorded(folder, path):
    import records

    summary = load_summary(folder).model_copy(update={"scenario_path": path})
    records.write_summary(folder, summary)
    return summary


def test_the_recorded_file_is_read(tmp_path, scenario_with, capsys):
    copy = scenario_with(["rate(errors) < 1%"], name="copy.yaml")
    folder = write_model_results(tmp_path / "r")
    summary = _recorded(folder, str(copy))
    assert scenario_path(summary, folder) == copy
    assert main(["check", str(folder), "--skip-slo"]) == 0
    assert "1 of 1 checks pass" in capsys.readouterr().out  # the copy's one threshold


def test_a_missing_or_moved_file_is_named_not_guessed(tmp_path, monkeypatch):
    from tests.conftest import ROOT

    folder = write_model_results(tmp_path / "r")
    monkeypatch.chdir(ROOT)  # scenarios/smoke.yaml is right here, and still not used
    with pytest.raises(GateError, match="scenario_path: not recorded; pass --scenario FILE"):
        scenario_path(_recorded(folder, None), folder)
    with pytest.raises(GateError, match="gone.yaml not found"):
        scenario_path(_recorded(folder, str(tmp_path / "gone.yaml")), folder)
    assert scenario_path(_recorded(folder, None), folder, "scenarios/smoke.yaml").is_file()
