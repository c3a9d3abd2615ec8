"""Which scenario file `yanxiu check` and `yanxiu report` read: summary.json's scenario_path,
falling back to scenarios/<name>.yaml."""

from __future__ import annotations

import json

from gate.results import scenario_path
from tests.report.builder import write_model_results
from yanxiu.cli import main


def _rename(folder, **changes):
    path = folder / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(changes)
    path.write_text(json.dumps(summary))
    return summary


def test_scenario_path_is_preferred_to_the_name(tmp_path, scenario_with, capsys):
    copy = scenario_with(["rate(errors) < 1%"], name="copy.yaml")
    folder = write_model_results(tmp_path / "r")
    summary = _rename(folder, scenario="smoke", scenario_path=str(copy))
    assert scenario_path(summary, folder) == copy
    assert main(["check", str(folder), "--skip-slo"]) == 0
    assert "1 of 1 checks pass" in capsys.readouterr().out  # the copy's one threshold


def test_older_results_and_moved_files_fall_back_to_the_name(tmp_path, monkeypatch):
    from tests.conftest import ROOT

    folder = write_model_results(tmp_path / "r")
    old = _rename(folder, scenario="smoke")
    old.pop("scenario_path", None)
    monkeypatch.chdir(ROOT)
    assert scenario_path(old, folder).resolve() == (ROOT / "scenarios" / "smoke.yaml").resolve()
    moved = _rename(folder, scenario="smoke", scenario_path=str(tmp_path / "gone.yaml"))
    assert scenario_path(moved, folder).resolve() == (ROOT / "scenarios" / "smoke.yaml").resolve()
