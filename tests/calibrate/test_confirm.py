"""The holds that confirm the knee and close its bracket (calibrate.confirm: next_scale, bracket,
the bisection in log-rate, the time budget, the accounts each hold takes, the capacity a broken
hold measured). Split from test_knee.py, which tests how a step is judged."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibrate import confirm as confirming
from calibrate.confirm import bracket, next_scale
from calibrate.knee import RESOLUTION, StepResult, knee
from calibrate.steps import StepRun, StepSpec
from loadtests.plan import read_timeseries
from tests.calibrate import hold_model
from tests.calibrate.hold_model import write_model
from tests.calibrate.knee_steps import ERRORS, SLO, hold, stair


def test_next_scale_bisects_in_log_rate_once_both_ends_are_held():
    assert next_scale(1.0, 1.7) == pytest.approx(math.sqrt(1.7))
    assert next_scale(1.0, 1.2) == pytest.approx(math.sqrt(1.2))  # within RESOLUTION after it
    assert next_scale(1.0, 1.09) is None and next_scale(1.0, 1.1) is None
    # 1.21-1.31x: a stride up (a break closes it at 1.08x, a meet leaves <= 1.21x, closed by the middle)
    assert next_scale(1.0, 1.3) == pytest.approx(confirming.STEP)
    assert confirming.STEP < RESOLUTION


def test_old_rule_next_scale_holds_the_staircases_ends_then_strides_past_them():
    """Until 2026-12-01 05:00 a hold that met with nothing broken above it went up by √growth
    (1.30x) and a bracket of two holds was bisected: 1.30x, then 1.14x, then 1.07x (the 05:00
    baseline: 6.13, 7.99 met, 10.4 broke, 1.30x after three holds). Now the staircase's end is
    held, then a stride of STEP (1.08x) past it, longer the further the holds have come."""
    assert next_scale(None, None, 1.0, 1.7) == pytest.approx(math.sqrt(1.7))  # its bracket's middle
    assert next_scale(None, None, 1.0, None) == 1.0
    assert next_scale(1.3, None, 1.0, 1.7) == 1.7  # the staircase's broken scale, held
    assert next_scale(1.7, None, 1.0, 1.7) == pytest.approx(1.7 * 1.08)  # past it by STEP
    assert next_scale(1.7 * 1.08, None, 1.0, 1.7) == pytest.approx(1.7 * 1.08 ** 2)
    assert next_scale(1.7 * 1.08 ** 2, None, 1.0, 1.7) == pytest.approx(1.7 * 1.08 ** 4)  # doubling
    assert next_scale(None, 1.3, 1.0, 1.7) == 1.0  # the staircase's good scale, held
    assert next_scale(None, 1.0, 1.0, 1.7) == pytest.approx(1.0 / 1.08)
    assert next_scale(1.5, None, 1.0, 1.55) == pytest.approx(1.5 * 1.08)  # its end within a stride


def test_held_bracket_reads_the_holds_as_the_knee_does():
    """A hold that broke below one that met (a stall near the knee) is left out."""
    assert confirming.held_bracket([1.0, 1.2], [1.1, 1.4]) == (1.2, 1.4)
    assert confirming.held_bracket([], [1.1, 1.4]) == (None, 1.1)
    assert confirming.held_bracket([1.0], [0.9]) == (1.0, None)


@pytest.mark.parametrize("holds", [4])
def test_the_bisection_closes_the_bracket_to_the_resolution_on_a_synthetic_target(holds):
    """A target whose holds meet the SLO up to its knee and break above: for knees from 0.9x the
    staircase's good scale to 1.12x its broken one (1.7x), four holds bracket it within
    RESOLUTION, a met hold below and a broken one above; three do where the knee lies within a
    stride of either end or the walk's path (the holds' knee lay at 0.6-2.2x the staircase's good
    step in the 2026-11-30/12-01 calibrations, most within 1.14x of an end)."""
    closed3 = 0
    grid = np.exp(np.linspace(math.log(0.9), math.log(1.7 * 1.12), 60))
    for knee_scale in grid:
        met: list[float] = []
        broke: list[float] = []
        scale = next_scale(None, None, 1.0, 1.7)
        while scale is not None and len(met) + len(broke) < holds:
            (met if scale <= knee_scale else broke).append(scale)
            scale = next_scale(*confirming.held_bracket(met, broke), 1.0, 1.7)
            if len(met) + len(broke) == 3:
                good, bad = confirming.held_bracket(met, broke)
                closed3 += bool(good and bad and bad / good <= RESOLUTION * (1 + 1e-9))
        good, bad = confirming.held_bracket(met, broke)
        assert good is not None and bad is not None and good <= knee_scale < bad
        assert bad / good <= RESOLUTION * (1 + 1e-9), (knee_scale, met, broke)
    assert closed3 >= 0.2 * len(grid)


def _run(spec: StepSpec, result: StepResult) -> StepRun:
    return StepRun(spec, [], result, {}, {}, wall_s=(spec.seconds or 20.0) + 6.0)


def _met_1_7_broke_2_89() -> list[StepRun]:
    """A staircase that met the SLO at scale 1.7 and broke it at 2.89."""
    return [_run(StepSpec("stair-1.7", 1.7), stair("stair-1.7", 100.0, 80.0, 200.0, rps=340.0)),
            _run(StepSpec("stair-2.89", 2.89), stair("stair-2.89", 900.0, 400.0, 1400.0, rps=500.0))]


def _confirm(tmp_path: Path, stairs: list[StepRun], deadline: float = math.inf, say=lambda _line: None,
             **settings) -> list[StepRun]:
    """``confirm`` on the small model (``hold_model``), a target of two api workers and an empty
    accounts file (``run_step`` monkeypatched by the test)."""
    model = tmp_path / "model"
    series = read_timeseries(write_model(model))
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("mobile,password,teacher_id,school_id,province,sub_platform,role,resume\n")
    target = SimpleNamespace(url="http://127.0.0.1:1", probes=None, api_servers=2, accounts=accounts)
    return confirming.confirm(hold_model.config(model, **settings), hold_model.context(series), target,
                              tmp_path, stairs, {}, deadline, 1.7, (SLO, ERRORS), say)


def test_holds_bisect_between_the_staircase_bracket_within_budget(monkeypatch, tmp_path):
    """A target whose sustained knee is at scale 1.6: every hold above breaks (its p95 grows),
    every hold at or below meets; the staircase's 20-s steps met up to 1.7 (its bracket's middle
    breaks, its good scale breaks at the hold's load, a stride below it meets: 1.08x, closed)."""
    stairs = [_run(StepSpec("stair-1", 1.0), stair("stair-1", 50.0, 40.0, 60.0, rps=200.0)),
              _run(StepSpec("stair-1.7", 1.7), stair("stair-1.7", 100.0, 80.0, 200.0, rps=340.0)),
              _run(StepSpec("stair-2.89", 2.89), stair("stair-2.89", 900.0, 400.0, 1400.0, rps=500.0))]
    ran: list[StepSpec] = []

    factor = hold_model.STAIR_RPS / hold_model.HOLD_RPS

    def step(index, spec, *_args):
        ran.append(spec)
        good = spec.scale <= 1.6 * factor
        p95s = (60.0, 90.0, 100.0, 110.0, 120.0, 120.0) if good else (100.0, 200.0, 300.0, 400.0, 500.0,
                                                                         800.0)
        return _run(spec, hold(spec.name, 150.0, *p95s, rps=200.0 * spec.scale / factor,
                               settle=spec.settle_s))

    monkeypatch.setattr(confirming, "run_step", step)
    model = tmp_path / "model"
    series = read_timeseries(write_model(model))
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("mobile,password,teacher_id,school_id,province,sub_platform,role,resume\n")
    config = hold_model.config(model)
    target = SimpleNamespace(url="http://127.0.0.1:1", probes=None, api_servers=2, accounts=accounts)
    holds = confirming.confirm(config, hold_model.context(series), target, tmp_path, stairs, {}, math.inf,
                               1.7, (SLO, ERRORS), lambda _line: None)
    # the staircase's scales as a hold's: the same planned rate in each one's judged part
    factor = hold_model.STAIR_RPS / hold_model.HOLD_RPS
    scales = [s.scale / factor for s in ran]
    # the middle of the staircase's bracket first, then its presumed good step, then a stride below
    assert scales == pytest.approx([math.sqrt(1.7 * 2.89), 1.7, 1.7 / confirming.STEP])
    # each replays the busiest 40 s at compress 36 (20:10-20:34) after 20 s of 2 x τ of a worker's
    # queue (10 s at 250 req/s), the sessions in progress resumed in a set-up window before it
    assert all(s.stretch == "2023-01-05T19:58..2023-01-05T20:34" and s.compress == 36.0 and s.resume
               and s.judged == "2023-01-05T20:10..2023-01-05T20:34"
               and s.seconds == pytest.approx(60.0, abs=0.02)
               and s.settle_s == pytest.approx(s.set_up_s + 20.0) for s in ran)
    # 299 in progress at 19:58 (300 less the minute's own start) x scale, set up at 50 a second
    assert ran[1].set_up_s == pytest.approx(round(299 * 1.7 * factor) / 50)
    k = knee([r.result for r in stairs + holds], SLO, ERRORS)
    assert (k.step, k.confirmed) == (f"hold-{ran[-1].scale:.3g}", True)
    assert k.bounded and k.resolved and k.width == pytest.approx(confirming.STEP)
    # the budget: a hold that would end after the deadline is not started
    ran.clear()
    import time

    assert confirming.confirm(config, hold_model.context(series), target, tmp_path, stairs, {},
                              time.monotonic() + 30.0, 1.7, (SLO, ERRORS), lambda _line: None) == []
    assert ran == [] and bracket(stairs, SLO, ERRORS)[0] is stairs[1]


def test_each_hold_takes_accounts_no_earlier_run_took(tmp_path: Path):
    """Steps start at the file's first teacher (the most any took is taken); holds after them,
    one after the other. Too few left for the next hold: the file as it is, and it says so."""
    source = tmp_path / "accounts.csv"
    source.write_text("mobile,password,teacher_id,school_id,province,sub_platform,role\n" + "".join(
        f"1380000{i:04d},pw,{i},1,p,basic,teacher\n" for i in range(12)))
    target = SimpleNamespace(accounts=source)

    def started(n: int) -> StepRun:
        arrivals = {"arrivals": {"achieved": n, "resumed": 0}}
        return StepRun(StepSpec("s", 1.0), [], stair("s", 50.0, 40.0), arrivals, {})

    said: list[str] = []
    path = confirming._untouched(target, [started(3), started(4)], [started(2)], {"basic": 1.0}, 5,
                                 tmp_path / "fresh.csv", said.append)
    assert path == tmp_path / "fresh.csv" and not said
    kept = [line.split(",")[2] for line in path.read_text().splitlines()[1:]]
    assert kept == [str(i) for i in range(6, 12)]  # the first 4 (the most a step took) + 2 (the hold)
    assert confirming._untouched(target, [started(3), started(4)], [started(2)], {"basic": 1.0}, 7,
                                 tmp_path / "fresh.csv", said.append) is None
    assert "reuses studied accounts" in said[0]


def test_a_knee_above_the_middle_is_bracketed_by_holds_not_left_a_lower_bound(monkeypatch, tmp_path):
    """The sustained knee at scale 2.6 (the staircase met 1.7, broke 2.89): the middle meets, a
    hold at the staircase's broken scale breaks it, the next strides up from the middle (a 1.30x
    bracket): the knee is confirmed and bounded by a hold above it (before 2026-12-01 01:28: 1.7,
    2.22, 2.53 all met and the knee was a lower bound; until 05:00 the third bisected, 1.14x)."""
    stairs = _met_1_7_broke_2_89()
    factor = hold_model.STAIR_RPS / hold_model.HOLD_RPS
    ran: list[StepSpec] = []

    def step(index, spec, *_args):
        ran.append(spec)
        good = spec.scale <= 2.6 * factor
        p95s = ((60.0, 90.0, 100.0, 110.0, 120.0, 120.0) if good
                else (100.0, 200.0, 330.0, 400.0, 500.0, 800.0))
        rps = 200.0 * spec.scale / factor
        return _run(spec, hold(spec.name, 150.0, *p95s, rps=rps, settle=spec.settle_s))

    monkeypatch.setattr(confirming, "run_step", step)
    holds = _confirm(tmp_path, stairs, max_holds=3)
    middle = math.sqrt(1.7 * 2.89)
    assert [s.scale / factor for s in ran] == pytest.approx([middle, 2.89, middle * confirming.STEP])
    # each hold knows its plan in its judged windows (a judged part 10% short is a growing queue)
    assert holds[0].result.judged_planned_rps == pytest.approx(hold_model.HOLD_RPS * ran[0].scale)
    k = knee([r.result for r in stairs + holds], SLO, ERRORS)
    assert k.confirmed and k.bounded and not k.lower_bound and k.upper_step == f"hold-{ran[1].scale:.3g}"
    assert k.upper_rps == pytest.approx(k.rate_rps * 2.89 / (middle * confirming.STEP), rel=1e-3)
    assert not k.resolved and k.width == pytest.approx(2.89 / (middle * confirming.STEP))  # 1.21x: wider


def test_a_hold_that_would_end_after_the_deadline_is_not_started(monkeypatch, tmp_path):
    """A fake clock advanced by each hold's wall time: holds run while the next ends before the
    deadline; a knee the budget left unclosed says so (bounded but not resolved, or a lower bound)."""
    stairs = _met_1_7_broke_2_89()
    factor = hold_model.STAIR_RPS / hold_model.HOLD_RPS
    clock = [1000.0]
    ended: list[float] = []

    def step(index, spec, *_args):
        clock[0] += spec.seconds + spec.set_up_s + 7.0  # Locust's start-up and drain: more than planned
        ended.append(clock[0])
        good = spec.scale <= 2.6 * factor
        p95s = (60.0, 90.0, 100.0, 110.0) if good else (300.0, 400.0, 500.0, 800.0)
        rps = 200.0 * spec.scale / factor
        return _run(spec, hold(spec.name, 150.0, *p95s, rps=rps, settle=spec.settle_s))

    monkeypatch.setattr(confirming, "run_step", step)
    monkeypatch.setattr(confirming.time, "monotonic", lambda: clock[0])
    said: list[str] = []
    free = _confirm(tmp_path, stairs, say=said.append, max_holds=5)
    assert len(free) == 4 and knee([r.result for r in stairs + free], SLO, ERRORS).resolved
    # a deadline 10 s before the fourth would end (planned: its replay, set-up and the staircase's
    # overhead, 6 s; it takes 7)
    deadline, fourth = ended[3] - 10.0, ended[3]
    clock[0], ended[:] = 1000.0, []
    holds = _confirm(tmp_path, stairs, deadline, said.append, max_holds=5)
    assert len(holds) == 3 and max(ended) < deadline < fourth
    assert said[-1].startswith("holds: no time left for a ")
    k = knee([r.result for r in stairs + holds], SLO, ERRORS)
    assert k.bounded and not k.resolved and k.width is not None and k.width > RESOLUTION


def test_a_hold_that_broke_with_its_queue_growing_says_where_the_capacity_is():
    """05:19: the staircase met 4.1 at 144x (13.6 as a hold's) where the holds' knee lay near 8:
    strides down from 13.6 would not reach it in the budget. A hold that broke finishing 10% fewer
    than offered finished the target's capacity: the next hold runs there."""
    assert next_scale(None, 17.7, 13.6, 23.1, capacity=7.9) == 7.9  # not the staircase's 13.6
    assert next_scale(None, 10.4, 7.99, 13.6) == 7.99  # no capacity measured: the staircase's good scale
    # the capacity within a stride below the hold that broke: a stride down from it
    assert next_scale(None, 10.4, 7.99, 13.6, capacity=9.9) == pytest.approx(10.4 / confirming.STEP)
    assert next_scale(7.9, 17.7, 13.6, 23.1, capacity=7.9) == pytest.approx(7.9 * confirming.STEP)
    assert next_scale(7.0, 17.7, 13.6, 23.1, capacity=9.0) == 9.0
    assert next_scale(7.9, 8.5, 13.6, 23.1, capacity=7.9) is None


def test_holds_far_above_the_knee_go_to_the_capacity_they_measured(monkeypatch, tmp_path):
    """The sustained knee at scale 1.0 where the staircase met 1.7 and broke 2.89: the first hold
    (2.22) breaks finishing what a target of capacity 1.02 can; the next runs there, meets, and a
    stride below it meets: bracketed within 1.08x in three holds (strides down from 1.7 took five)."""
    stairs = _met_1_7_broke_2_89()
    factor = hold_model.STAIR_RPS / hold_model.HOLD_RPS
    ran: list[StepSpec] = []

    def step(index, spec, *_args):
        ran.append(spec)
        offered = hold_model.HOLD_RPS * spec.scale
        finished = min(offered, hold_model.HOLD_RPS * 1.02 * factor)
        good = spec.scale <= 1.0 * factor
        p95s = (60.0, 90.0, 100.0, 110.0) if good else (900.0, 1400.0, 2000.0, 2600.0)
        return _run(spec, hold(spec.name, 150.0, *p95s, rps=finished, settle=spec.settle_s))

    monkeypatch.setattr(confirming, "run_step", step)
    holds = _confirm(tmp_path, stairs, max_holds=5)
    scales = [s.scale / factor for s in ran]
    assert scales[0] == pytest.approx(math.sqrt(1.7 * 2.89))
    assert scales[1] == pytest.approx(1.02, rel=0.02)  # the capacity the first finished
    k = knee([r.result for r in stairs + holds], SLO, ERRORS)
    assert len(holds) == 3 and k.bounded and k.resolved


def test_a_holds_line_says_the_hosts_other_work_beside_it():
    run = StepRun(StepSpec("hold-4.7", 4.7), [], hold("hold-4.7", 270.0, 150.0, 290.0, 540.0, 200.0),
                  {"generator_cpu": {"mean": 15.5}}, {}, background_cores=1.258, host_cores=2)
    assert confirming._beside(run) == "; beside 1.26 cores of other work of 2 (the load generator 0.15)"
    assert confirming._beside(_run(StepSpec("s", 1.0), stair("s", 50.0, 40.0))) == ""
