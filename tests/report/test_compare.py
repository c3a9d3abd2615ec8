"""``yanxiu compare``: two what-if runs side by side; different kinds or windows refused."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import SMOKE
from yanxiu.cli import main

SMALL = ["--teachers", "300", "--no-charts", "--no-confirm"]


@pytest.fixture(scope="module")
def what_ifs(tmp_path_factory):  # three real runs: the tests that use them are slow
    """The smoke campaign, and the same with course 2 opening two days later (a real what-if)."""
    root = tmp_path_factory.mktemp("what-if")
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    data["courses"][1]["opens"] = "2023-01-07"
    later = root / "smoke-course2-later.yaml"
    later.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    folders = []
    for scenario in (SMOKE, later):
        out = root / "results" / scenario.stem
        assert main(["run", str(scenario), *SMALL, "--out", str(out)]) == 0
        folders.append(out)
    return folders


def _cells(page: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", page)


@pytest.mark.slow
def test_two_what_if_runs_compare_side_by_side(what_ifs, tmp_path, capsys):
    base, later = what_ifs
    out = tmp_path / "cmp.html"
    assert main(["compare", str(base), str(later), "--out", str(out)]) == 0
    assert f"comparison written: {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    text = _cells(page)
    assert "smoke" in text and "smoke-course2-later" in text
    for heading in ("Outcomes and peaks", "Capacity needed per tier", "Service levels"):
        assert heading in text
    # the peak moves with course 2's opening: the later run's peak minute is printed, and differs
    peaks = [json.loads((f / "summary.json").read_text())["peaks"]["rps.total"]["at"][:16].replace("T", " ")
             for f in (base, later)]
    assert peaks[0] != peaks[1] and all(p in text for p in peaks)
    assert "(+" in text or "(−" in text  # differences from the reference are shown
    assert (tmp_path / "compare_load.png").stat().st_size > 10_000
    assert page.count("data:image/png;base64,") == 2


@pytest.mark.slow
def test_chinese_page(what_ifs, tmp_path):
    out = tmp_path / "cmp.zh.html"
    assert main(["compare", *map(str, what_ifs), "--lang", "zh", "--out", str(out)]) == 0
    text = _cells(out.read_text(encoding="utf-8"))
    assert "情景对比" in text and "各层所需容量" in text


@pytest.mark.slow
def test_different_windows_and_kinds_are_refused(what_ifs, tmp_path, capsys):
    from tests.report.builder import write_loadtest_results

    shifted = tmp_path / "shifted"
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    data["calendar"]["end"] = "2023-01-14T00:00:00"
    data["rules"]["certificates_issued"] = "2023-01-15T09:00:00"
    scenario = tmp_path / "longer.yaml"
    scenario.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["run", str(scenario), *SMALL, "--out", str(shifted)]) == 0
    capsys.readouterr()
    assert main(["compare", str(what_ifs[0]), str(shifted)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different windows" in err
    measured = write_loadtest_results(tmp_path / "lt", what_ifs[0])
    assert main(["compare", str(what_ifs[0]), str(measured)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a load test" in err and "different kinds" in err
    assert main(["compare", str(what_ifs[0])]) == 2
    assert "at least two" in capsys.readouterr().err


def test_synthetic_runs_fast(model_results, tmp_path, capsys):
    """The same checks on built folders (tests/report/builder.py), fast: a 30% heavier what-if
    shows +30% on the peak, and a changed window or another kind is refused in one line."""
    import shutil

    from tests.report.builder import write_loadtest_results, write_model_results

    heavier = write_model_results(tmp_path / "heavier", load=1.3)
    out = tmp_path / "cmp.html"
    assert main(["compare", str(model_results), str(heavier), "--out", str(out)]) == 0
    text = _cells(out.read_text(encoding="utf-8"))
    assert "(+30.0%)" in text and "heavier" in text
    shifted = tmp_path / "shifted"
    shutil.copytree(model_results, shifted, ignore=shutil.ignore_patterns("report"))
    summary = json.loads((shifted / "summary.json").read_text(encoding="utf-8"))
    summary["window"]["minutes"] += 1440
    (shifted / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    capsys.readouterr()
    assert main(["compare", str(model_results), str(shifted)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different windows" in err
    measured = write_loadtest_results(tmp_path / "lt", model_results)
    assert main(["compare", str(model_results), str(measured)]) == 2
    assert "different kinds" in capsys.readouterr().err


def test_capacity_rows_give_each_run_its_size_minimum_and_plan(model_results, tmp_path):
    """A what-if with fewer api servers: its own size shows beside the reference's, with the
    minimum and the plan of each run and their differences."""
    import shutil

    from report.compare import Run, capacity_table
    from report.data import load
    from report.i18n import Labels

    short = tmp_path / "short"
    shutil.copytree(model_results, short)
    summary = json.loads((short / "summary.json").read_text())
    summary["capacity"]["api"].update(provided=3, minimum=3.5, needed=4.5)
    (short / "summary.json").write_text(json.dumps(summary))
    base = json.loads((model_results / "summary.json").read_text())["capacity"]["api"]
    table = capacity_table([Run("base", load(model_results)), Run("short", load(short))], Labels("en"))
    api = [i for i, r in enumerate(table.rows) if r[0] == "api: Provided"][0]
    provided, minimum, plan = table.rows[api:api + 3]
    assert provided[1] == f"{base['provided']} servers" and provided[2].startswith("3 servers (−")
    assert minimum[0] == "  Minimum (keeps latency targets)" and minimum[2].startswith("3.5 servers")
    assert plan[0] == "  Plan (with headroom)" and plan[2].startswith("4.5 servers")
    assert api in table.bad_rows  # the what-if is below its plan
