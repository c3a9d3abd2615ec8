"""Peaks as ranges (fit.ranges): posterior draws, intervals, the driving parameter."""

import json

import numpy as np
import pytest
import yaml

from fit.errors import FitError
from fit.ranges import Posterior, _counted, draws, load_posterior, summarise
from tests.conftest import SMOKE
from yanxiu.cli import main


def _posterior_file(tmp_path, rows, weights=None):
    path = tmp_path / "fitted.behaviour.yaml"
    names = ["session_minutes_mean", "gap_hours_mean"]
    path.write_text(yaml.safe_dump({"posterior": {
        "names": names, "sample": rows, "weights": weights or [1.0] * len(rows)}}), encoding="utf-8")
    return path


def test_draws_follow_the_weights():
    post = Posterior("p", ["dropout"], np.array([[0.1], [0.2], [0.3]]), np.array([0.5, 0.25, 0.25]))
    picked = draws(post, 400, seed=1)[:, 0]
    assert np.mean(picked == 0.1) == pytest.approx(0.5, abs=0.01)  # systematic: nearly exact
    assert np.array_equal(picked, draws(post, 400, seed=1)[:, 0])


def test_summary_names_the_parameter_that_drives_a_figure():
    rng = np.random.default_rng(2)
    vectors = rng.random((40, 2))
    results = [{"peak(sessions)": 100 + 50 * v[1] + rng.normal(0, 1), "capacity(api)": 10 + v[0]}
               for v in vectors]
    table = summarise(["session_minutes_mean", "gap_hours_mean"], vectors, results)
    peak = table["peak(sessions)"]
    assert peak["driver"] == "gap_hours_mean" and peak["sensitivity"]["gap_hours_mean"] > 0.9
    assert peak["p05"] < peak["central"] < peak["p95"]
    assert table["capacity(api)"]["driver"] == "session_minutes_mean"
    together = summarise(["dropout", "wave_scale"], np.column_stack([vectors[:, 0], vectors[:, 0]]),
                         results)  # two parameters that always move together
    assert together["capacity(api)"]["driver"] == "dropout = wave_scale (tied)"


def test_draws_are_counted_as_they_finish():
    seen = []
    results = _counted(iter([{"a": 1.0}, {"a": 2.0}, {"a": 3.0}]), 3, lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)] and [r["a"] for r in results] == [1.0, 2.0, 3.0]


def test_malformed_posterior_is_refused(tmp_path):
    with pytest.raises(FitError, match="malformed sample"):
        load_posterior(_posterior_file(tmp_path, [[30.0, 20.0]], weights=[1.0, 2.0]))
    with pytest.raises(FitError, match="not a fitted behaviour file"):
        load_posterior(SMOKE)


def test_ranges_need_a_posterior(tmp_path, capsys):
    assert main(["run", str(SMOKE), "--teachers", "50", "--ranges", "2", "--no-charts", "--no-confirm",
                 "--out", str(tmp_path / "out")]) == 2
    assert "--ranges needs a fitted posterior" in capsys.readouterr().err


@pytest.mark.slow
def test_run_with_ranges_writes_them_into_the_summary(tmp_path, capsys):
    post = _posterior_file(tmp_path, [[20.0, 10.0], [40.0, 20.0], [60.0, 40.0]])
    out = tmp_path / "out"
    assert main(["run", str(SMOKE), "--teachers", "300", "--ranges", "3", "--posterior", str(post),
                 "--no-charts", "--no-confirm", "--out", str(out)]) == 0
    ranges = json.loads((out / "summary.json").read_text())["ranges"]
    assert ranges["draws"] == 3 and ranges["parameters"] == ["session_minutes_mean", "gap_hours_mean"]
    peak = ranges["figures"]["peak(sessions)"]
    assert peak["p05"] <= peak["central"] <= peak["p95"] and peak["p05"] < peak["p95"]
    # the sample's two parameters rise together, so no draw can tell which drives the peak
    assert peak["driver"] == "session_minutes_mean = gap_hours_mean (tied)"
    assert "capacity(api)" in ranges["figures"]
    printed = capsys.readouterr()
    assert "ranges over 3 posterior draws" in printed.out
    assert "yanxiu run: running posterior draws (3 draws) ..." in printed.err  # progress, as the run's
    assert "yanxiu run: running posterior draws: 3/3 (100%)" in printed.err
    main(["check", str(out)])  # the gate shows the ranges and judges thresholds at their 95% end
    shown = capsys.readouterr().out
    assert "ranges over 3 posterior draws" in shown
    assert "pass  p95(latency.api) < 300ms  at p95" in shown
