"""The share of a writer's wall time that stretches with the host's busy cores, fitted on a
calibration's steps (calibrate/wall_stretch.py)."""

from __future__ import annotations

import dataclasses

import pytest

from calibrate.fit import Row
from calibrate.wall_stretch import StepWall, fit_wall_stretch, from_calibration, step_walls
from sim.tiers.host_stretch import stretch


def _walls(share: float, busy: list[float], commits: list[float], lone_ms: float = 1.2) -> list[StepWall]:
    """Steps whose lone commits follow the model exactly, calibrated at 0.3 busy cores."""
    factor = [1.0 - share + share * float(stretch(b, 2) / stretch(0.3, 2)) for b in busy]
    steps = zip(busy, factor, commits, strict=True)
    return [StepWall(i, b, lone_ms * f, n) for i, (b, f, n) in enumerate(steps)]


def test_it_finds_the_share_and_the_quiet_steps_busy_cores():
    # two quiet steps around 0.3 cores (their lone commits within 1.5x), three busy ones beyond
    walls = _walls(0.5, [0.3, 0.3, 1.5, 1.7, 1.9], [400, 400, 300, 300, 200])
    found = fit_wall_stretch(walls, 2)
    assert found is not None
    assert found.reference_cores == pytest.approx(0.3)
    assert found.share == pytest.approx(0.5, abs=1e-3)


def test_a_wall_time_that_does_not_grow_has_no_share():
    walls = [StepWall(i, b, 1.2, 300) for i, b in enumerate([0.3, 1.0, 1.8])]
    found = fit_wall_stretch(walls, 2)
    assert found is not None and found.share == 0.0


def test_too_few_steps_give_none():
    assert fit_wall_stretch(_walls(0.5, [0.3], [100]), 2) is None
    assert from_calibration(None, 2) is None
    assert from_calibration({"rows": [], "step_results": []}, 2) is None


def test_step_walls_add_the_steps_background_to_the_servers_cpu():
    # step 0: 10 s, 3 s of server CPU (0.3 cores) beside 0.5 cores, 100 lone commits of 1.5 ms;
    # step 1 has too few lone commits to be judged; the idle rows (step -1) are not a step
    rows = [Row(0, 10.0, {"(commits 1)": 100.0, "(lock_s 1)": 0.15}, {"api": 3.0}),
            Row(1, 10.0, {"(commits 1)": 5.0, "(lock_s 1)": 0.01}, {"api": 1.0}),
            Row(-1, 10.0, {}, {"api": 0.1})]
    walls = step_walls(rows, [{"background_cores": 0.5}, {"background_cores": 0.1}])
    assert len(walls) == 1
    assert walls[0].busy_cores == pytest.approx(0.8) and walls[0].lone_ms == pytest.approx(1.5)
    record = {"rows": [dataclasses.asdict(r) for r in rows], "step_results": [{"background_cores": 0.5}] * 2}
    assert from_calibration(record, 2) is None  # one judged step only
