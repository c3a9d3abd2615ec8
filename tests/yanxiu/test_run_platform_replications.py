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
    assert main(["run", str(path), "--teachers", "600", "--no-charts", "--out", str(out),
                 "--replications", "2"]) == 0
    assert "2 replications: shared peak" in capsys.readouterr().out
    reps = json.loads((out / "summary.json").read_text())["replications"]
    assert reps["count"] == 2 and reps["seeds"] == [5, replication_seed(5, 1)]
    plan = small_platform(tmp_path)
    scale = 600 / sum(s.population.teachers for s in plan.campaigns)
    figures = [platform_key_figures(run_platform(plan, scale, seed, workers=1)) for seed in reps["seeds"]]
    for key in ("peak(rps.total)", "peak(campaign.second.rps.total)", "outcomes.completed_all"):
        values = [f[key] for f in figures]
        assert reps["mean"][key] == pytest.approx(sum(values) / 2, rel=1e-9), key
        lo, hi = reps["ci95"][key]
        assert lo <= min(values) and max(values) <= hi, key
    assert figures[0]["peak(rps.total)"] != figures[1]["peak(rps.total)"]


def test_ranges_are_refused_in_one_line(tmp_path, capsys):
    path = write_platform(tmp_path)
    assert main(["run", str(path), "--ranges", "2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--ranges" in err and "\n" not in err
