"""loadtests.noise: the sampling band of requests per bin, checked against a Monte Carlo of the
planner (its arrival schedule, each session's sub-platform and length drawn, beats on the
player's timetable), and the tally that gathers each session's counts."""

from __future__ import annotations

import numpy as np
import pytest

from loadtests.noise import (
    BIN_S,
    BinTally,
    as_record,
    band,
    chance_of,
    merge,
    sessions_per_bin,
    stretch_variance,
    variance,
)
from loadtests.plan import Plan, read_timeseries
from tests.loadtests.conftest import write_series

COMPRESS = 36.0
SHARE_20S = 0.2  # smoke: higher + vocational, 20-s beats; basic 600 s (scenarios/smoke.yaml)
LENGTH = (38.0, 22.0)  # smoke's session length, lognormal mean and sd in model minutes


def _plan(tmp_path, per_minute: float, minutes: int = 60) -> Plan:
    series = read_timeseries(write_series(tmp_path / "m", [per_minute] * minutes) / "timeseries.csv")
    return Plan(series, 0, minutes, compress=COMPRESS, scale=1.0)


def _lognormal(rng, n):
    mean, sd = LENGTH
    sigma2 = np.log(1 + (sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)


def _beats(starts: np.ndarray, rng, edges: np.ndarray) -> np.ndarray:
    """(sessions x bins) heartbeats: each session draws its interval and length and beats every
    interval (compressed) from its start to its end, as the player's timetable does."""
    n = starts.size
    interval = np.where(rng.random(n) < SHARE_20S, 20.0, 600.0) / COMPRESS
    ends = starts + _lognormal(rng, n) * 60.0 / COMPRESS

    def before(x):  # beats k >= 1 with start + k * interval < x
        return np.maximum(0.0, np.ceil((x - starts[:, None]) / interval[:, None]) - 1.0)

    upper = np.minimum(edges[None, 1:], ends[:, None] + 1e-9)
    return np.maximum(0.0, before(upper) - before(edges[None, :-1]))


def _replications(plan: Plan, process: str, runs: int, seed: int):
    """Per replication and bin: the bin's count, the sessions' sum of squared counts, and the
    successive-differences variance (sessions in arrival order, one kind)."""
    edges = np.arange(0.0, plan.duration_s + 1e-9, BIN_S)
    counts, squares, marks = [], [], []
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        starts = np.array([a.at for a in plan.schedule(process, rng)])
        c = _beats(starts, rng, edges)
        counts.append(c.sum(axis=0))
        squares.append((c ** 2).sum(axis=0))
        marks.append(0.5 * (np.diff(c, axis=0) ** 2).sum(axis=0))
    return np.array(counts), np.array(squares), np.array(marks)


def test_sum_of_squares_is_the_variance_of_a_poisson_planner(tmp_path):
    # Campbell: with Poisson arrivals and independent marks Var N_b = E sum c^2, bin by bin
    counts, squares, _ = _replications(_plan(tmp_path, 8.0), "poisson", 400, 1)
    ratio = counts.var(axis=0, ddof=1) / squares.mean(axis=0)
    assert ratio == pytest.approx(np.ones(ratio.size), abs=0.15)


def test_successive_differences_are_the_variance_of_the_deterministic_planner(tmp_path):
    # the default schedule fixes the arrival times (as the model's arrivals were): only the marks
    # vary, and sum c^2 overstates the spread (measured 0.68-0.88 of it), while half the squared
    # differences of successive sessions match it
    counts, squares, marks = _replications(_plan(tmp_path, 8.0), "deterministic", 400, 2)
    spread = counts.var(axis=0, ddof=1)
    assert np.all(spread / squares.mean(axis=0) <= 0.92)
    assert spread / marks.mean(axis=0) == pytest.approx(np.ones(spread.size), abs=0.2)  # 0.88-1.14


def test_the_band_covers_two_samples_of_the_marks_about_95_percent_of_the_time(tmp_path):
    # replay and model: the same arrival times, independent marks, the same size (plan factor 1,
    # smoke at scale 1); the band from the replay's own sessions
    plan = _plan(tmp_path, 8.0)
    a, _, a_marks = _replications(plan, "deterministic", 300, 3)
    b, _, _ = _replications(plan, "deterministic", 300, 4)
    record = [{"var": row.tolist()} for row in a_marks]
    width = np.array([band(variance(r, a.shape[1], False, 1.0)) for r in record])
    outside = np.abs(a - b) > width
    assert 0.01 <= outside.mean() <= 0.09
    # without the plan's own spread the band is too narrow for two samples
    narrow = np.array([band(variance(r, a.shape[1], False, 0.0)) for r in record])
    assert (np.abs(a - b) > narrow).mean() > 0.10
    # at this size (about 30 sessions on 20-s beats) a replay 20% short is mostly within it
    assert (np.abs(0.8 * a - b) > width).mean() < 0.5


def test_the_stretch_band_covers_two_samples_of_the_whole_stretch_about_95_percent_of_the_time(tmp_path):
    # the whole stretch's total: a session's beats in neighbouring bins go together, so the spread
    # of each session's total, not the sum of the bins' spreads, is the total's
    plan = _plan(tmp_path, 8.0)
    edges = np.arange(0.0, plan.duration_s + 1e-9, BIN_S)
    totals, widths, summed = [], [], []
    for r in range(300):
        pair = []
        for side in (0, 1):
            rng = np.random.default_rng([7, r, side])
            starts = np.array([a.at for a in plan.schedule("deterministic", rng)])
            pair.append(_beats(starts, rng, edges))
        record = as_record([["0", float(i), [["heartbeat", b, float(c)] for b, c in enumerate(row) if c]]
                            for i, row in enumerate(pair[0])])["heartbeat"]
        totals.append((pair[0].sum(), pair[1].sum()))
        widths.append(band(np.array([stretch_variance(record, edges.size - 1, False, 1.0)]))[0])
        summed.append(band(np.array([2 * sum(record["var"])]))[0])
    a, b = np.array(totals).T
    outside = np.abs(a - b) > np.array(widths)
    assert 0.01 <= outside.mean() <= 0.09
    # the bins' variances summed leave out the covariance of a session's bins: too narrow a band
    assert (np.abs(a - b) > np.array(summed)).mean() > 0.09


def test_with_25_times_the_sessions_a_20pct_shortfall_is_beyond_noise(tmp_path):
    plan = _plan(tmp_path, 200.0)
    a, _, a_marks = _replications(plan, "deterministic", 40, 5)
    b, _, _ = _replications(plan, "deterministic", 40, 6)
    width = np.array([band(variance({"var": row.tolist()}, a.shape[1], False, 1.0)) for row in a_marks])
    assert (np.abs(a - b) > width).mean() < 0.09
    # from bin 2 on (the Monte Carlo starts empty: no resumed sessions, bins 0-1 ramp up)
    assert (np.abs(0.8 * a - b)[:, 2:] > width[:, 2:]).all()
    assert np.median(width[:, 2:] / b[:, 2:]) < 0.1  # the band itself: a 10% test is possible


def test_at_smokes_size_a_handful_of_sessions_carry_a_bin():
    # 25 sessions of 18 beats each (20-s beats at compress 36 over a 10-s bin)
    sums, squares = np.array([25 * 18.0]), np.array([25 * 18.0 ** 2])
    assert sessions_per_bin(sums, squares)[0] == pytest.approx(25.0)
    poisson = variance({"sum_sq": squares.tolist(), "var": [0.0]}, 1, True, 0.0)
    assert band(poisson)[0] / sums[0] == pytest.approx(2 / 5)


def test_the_tally_keeps_each_sessions_counts_and_the_record_derives_the_sums():
    now = [100.0]
    tally = BinTally(t0=100.0, clock=lambda: now[0])
    one, two, three = tally.counter("0", 1.0), tally.counter("0", 2.0), tally.counter("2", 1.5)
    for t in (100.5, 101.0, 103.0):  # session one: 3 in bin 0
        now[0] = t
        one("heartbeat")
    now[0] = 112.0
    one("heartbeat")  # bin 1
    two("heartbeat")  # bin 1
    two("login")
    three("heartbeat")  # another kind: not differenced against the teachers
    now[0] = 95.0
    two("campaign_page")  # before the origin (a resumed set-up): not counted
    sessions: list = []
    merge(sessions, tally.take())
    assert tally.take() == []  # taken once
    record = as_record(sessions)
    assert record["heartbeat"]["requests"] == [3.0, 3.0]
    assert record["heartbeat"]["sum_sq"] == [9.0, 3.0]
    # kind 0 in arrival order: one (3, 1), two (0, 1); half the squared differences
    assert record["heartbeat"]["var"] == [4.5, 0.0]
    assert record["login"] == {"requests": [0.0, 1.0], "sum_sq": [0.0, 1.0], "var": [0.0, 0.5],
                               "sum_sq_upto": [0.0, 1.0], "var_upto": [0.0, 0.5]}
    # the running totals: one (3, 4), two (0, 1), three (0, 1): squares 9 then 18; one - two 3 and 3
    assert record["heartbeat"]["sum_sq_upto"] == [9.0, 18.0]
    assert record["heartbeat"]["var_upto"] == [4.5, 4.5]
    assert stretch_variance(record["heartbeat"], 2, False, 1.0) == 9.0  # the plan's as much again
    assert stretch_variance(record["heartbeat"], 1, True, 0.0) == 9.0  # Poisson: sum of squares
    assert stretch_variance({"var": [1.0]}, 1, False, 1.0) is None  # a record of an older run
    assert "campaign_page" not in record and as_record([]) == {}


def test_the_chance_of_so_many_bins_outside_the_band():
    p = 0.0455  # two-sided normal tail beyond 2 sd
    assert chance_of(0, 8) == 1.0
    assert chance_of(1, 1) == pytest.approx(p, abs=1e-4)
    assert chance_of(1, 8) == pytest.approx(1 - (1 - p) ** 8, abs=1e-4)
    assert chance_of(2, 8) == pytest.approx(1 - (1 - p) ** 8 - 8 * p * (1 - p) ** 7, abs=1e-4)  # 0.048
    assert chance_of(9, 8) == 0.0
