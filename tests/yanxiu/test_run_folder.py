"""Where ``yanxiu run`` writes: a folder named after the scenario FILE, replaced whole on a rerun."""

from __future__ import annotations

import shutil

from tests.conftest import SMOKE
from yanxiu.cli import main

SMALL = ["--teachers", "150", "--no-charts", "--no-confirm"]


def test_a_copied_scenario_does_not_write_over_the_original(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "smoke-later.yaml"  # same name: inside, another file name
    shutil.copyfile(SMOKE, copy)
    assert main(["run", str(SMOKE), *SMALL]) == 0
    assert main(["run", str(copy), *SMALL]) == 0
    assert (tmp_path / "results" / "smoke" / "summary.json").is_file()
    assert (tmp_path / "results" / "smoke-later" / "summary.json").is_file()


def test_a_rerun_replaces_the_folder_and_says_so(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(SMOKE), *SMALL, "--out", str(out)]) == 0
    stale = out / "report" / "report.html"
    stale.parent.mkdir()
    stale.write_text("old report", encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(SMOKE), *SMALL, "--out", str(out)]) == 0
    assert "replacing the earlier results" in capsys.readouterr().err
    assert not stale.exists() and (out / "summary.json").is_file()


def test_a_folder_of_other_files_is_refused_not_emptied(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["run", str(SMOKE), *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a results folder" in err
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
