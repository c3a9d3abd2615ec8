"""``yanxiu run PLATFORM --replications R``: R whole platform runs, 95% intervals of the
platform's figures in summary.json; replication i's figures are those of a platform run with
replication i's seed (checked by running it again here); --ranges refused in one line."""

from __future__ import annotations

import json

import pytest

from sim.campaigns import run_platform
from sim.replications import platform_key_figures, replication_seed
from tests.sim.platform_fixture import small_platform, write_platform
from yanxiu.cli import main


def test_platform_replications_add_confidence_intervals(tmp_path, capsys):
    path = write_platform(tmp_path)
    out = tmp_path / "r"
    assert main(["run", str(path), "--teachers", "200", "--no-charts", "--out", str(out),
                 "--replications", "2"]) == 0
    assert "2 replications: shared peak" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    reps = summary["replications"]
    assert reps["count"] == 2 and reps["seeds"] == [5, replication_seed(5, 1)]
    plan = small_platform(tmp_path)
    scale = 200 / sum(s.population.teachers for s in plan.campaigns)
    # replication 0 is the written run; replication 1 is a platform run with its seed
    first = {**summary["metrics"], **{f"outcomes.{k}": v for k, v in summary["outcomes"].items()}}
    second = platform_key_figures(run_platform(plan, scale, reps["seeds"][1], workers=1))
    for key in ("peak(rps.total)", "peak(campaign.second.rps.total)", "outcomes.completed_all"):
        values = [first[key], second[key]]
        assert reps["mean"][key] == pytest.approx(sum(values) / 2, rel=1e-9), key
        lo, hi = reps["ci95"][key]
        assert lo <= min(values) and max(values) <= hi, key
    assert first["peak(rps.total)"] != second["peak(rps.total)"]


def test_ranges_are_refused_in_one_line(tmp_path, capsys):
    path = write_platform(tmp_path)
    assert main(["run", str(path), "--ranges", "2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--ranges" in err and "\n" not in err
