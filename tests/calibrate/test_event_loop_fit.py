"""An event-loop worker's calibration: busy = idle·T + Σ N_e d_e + c·wake-ups, the wake-ups
predicted by the chain of batch sizes at each bin's rate (calibrate.fit.fit_event_loop). The
bins here come from the request-level event loop (sim.tiers.batching.serve_batches with
``each``), measured as the sampler measures: busy seconds inside each bin, requests finished
in it. The fit must find the overhead it was given, and none when there is none."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.fit import WAKEUPS, Row, fit_event_loop, fit_tier, predicted_wakeups
from tests.calibrate.loop_bins import served

DEMAND_S = {"heartbeat": 0.0015, "login": 0.020}
# (total rate, login share): two steps with other mixes, as the calibration's mix steps, so
# that the endpoints can be told apart; then a staircase on one mix
STEPS = ((15.0, 0.5), (30.0, 0.2), (20.0, 0.05), (60.0, 0.05), (120.0, 0.05), (200.0, 0.05), (300.0, 0.05),
         (420.0, 0.05))
SERVERS, BIN_S, IDLE = 2, 5.0, 0.01


def _bins(rng: np.random.Generator, wakeup_s: float, bins: int = 5) -> list[Row]:
    names = list(DEMAND_S)
    rows = []
    for step, (rate, login) in enumerate(STEPS):
        kinds, service, start, leave = served(rng, rate, [1.0 - login, login], [DEMAND_S[n] for n in names],
                                              SERVERS, wakeup_s, bins * BIN_S)
        for b in range(bins):
            lo, hi = b * BIN_S, (b + 1) * BIN_S
            busy = float(np.clip(np.minimum(leave, hi) - np.maximum(start, lo), 0.0, None).sum())
            done = (leave >= lo) & (leave < hi)
            requests = {n: float((done & (kinds == i)).sum()) for i, n in enumerate(names)}
            rows.append(Row(step, BIN_S, requests, {"api": busy + IDLE * BIN_S}))
    return rows


def test_the_fit_recovers_the_wakeup_cost():
    rng = np.random.default_rng(3)
    rows = _bins(rng, 0.0012)
    fit = fit_event_loop("api", rows, list(DEMAND_S), SERVERS, rng)
    wakeup = fit.demands[WAKEUPS]
    assert wakeup.ms == pytest.approx(1.2, abs=0.6)
    assert wakeup.lo_ms <= 1.2 <= wakeup.hi_ms
    heartbeat = fit.demands["heartbeat"]
    assert heartbeat.lo_ms <= 1.5 <= heartbeat.hi_ms
    # what the light steps pin down is a lone request's cost, its own demand plus a wake-up:
    # c and d trade off along it (their intervals are wide), the sum does not
    assert heartbeat.ms + wakeup.ms == pytest.approx(1.5 + 1.2, rel=0.1)
    assert fit.demands["login"].ms == pytest.approx(20.0, rel=0.1)
    # one fixed demand per endpoint leaves a residual the wake-ups explain
    fixed = fit_tier("api", rows, list(DEMAND_S), rng)
    assert fit.r2 > fixed.r2
    assert min(rss for _, rss in fit.profile) == pytest.approx(dict(fit.profile)[wakeup.ms])


def test_no_overhead_is_found_where_there_is_none():
    rng = np.random.default_rng(5)
    fit = fit_event_loop("api", _bins(rng, 0.0), list(DEMAND_S), SERVERS, rng)
    # the curvature the wake-ups explain is small against the bins' noise (a login's 20 ms
    # exponential service in 5-s bins), so the point estimate is not 0, but its interval
    # reaches 0 and a lone request's cost is still the heartbeat's own
    wakeup, heartbeat = fit.demands[WAKEUPS], fit.demands["heartbeat"]
    assert wakeup.lo_ms == 0.0 and wakeup.ms < 1.2
    assert heartbeat.ms + wakeup.ms == pytest.approx(1.5, rel=0.1)


def test_wakeups_are_one_a_request_at_light_load_and_fewer_under_load():
    light = [Row(0, 10.0, {"heartbeat": 20.0}, {"api": 0.0})]
    heavy = [Row(0, 10.0, {"heartbeat": 8000.0}, {"api": 0.0})]
    demand = np.array([0.0015, 0.0])
    names = ["heartbeat", "login"]
    assert predicted_wakeups(light, names, demand, 0.001, 2)[0] == pytest.approx(20.0, rel=0.01)
    assert predicted_wakeups(heavy, names, demand, 0.001, 2)[0] < 0.8 * 8000.0


def test_the_platform_file_carries_the_wakeup_cost(tmp_path):
    from pathlib import Path

    from calibrate.fit import Demand, TierFit
    from calibrate.platform_file import render, write
    from calibrate.platform_lines import demand_lines
    from domain.scenario import load_scenario

    smoke = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
    scenario = load_scenario(smoke)
    demands = {e.name: Demand(0.0, 0.0, 0.0, 0) for e in scenario.platform.endpoints}
    demands["heartbeat"] = Demand(1.1, 0.6, 1.6, 20_000)
    fits = {"api": TierFit("api", 0.01, demands | {WAKEUPS: Demand(0.9, 0.3, 1.5, 15_000)}, 0.99, 40)}
    note = "servers: worker processes; event loop: 0.9 [0.3, 1.5] ms a wake-up over 15,000 predicted wake-ups"
    tiers = {"api": {"servers": 2, "service": "exponential", "note": note, "wakeup_ms": 0.9}}
    out = tmp_path / "platform.yaml"
    provenance = {"target": "T", "target_kind": "reference platform", "commit": "abc", "date": "2026-11-30",
                  "steps": 6, "step_seconds": 20.0, "requests": 1}
    write(out, render(scenario, smoke, out, tiers, demand_lines(scenario, fits), provenance), provenance,
          force=False)
    line = next(x for x in out.read_text().splitlines() if "name: api" in x)
    assert "wakeup_ms: 0.9" in line and "[0.3, 1.5] ms a wake-up" in line
    api = load_scenario(out).platform.tier("api")
    assert api.wakeup_ms == pytest.approx(0.9) and api.discipline == "fcfs"


def _staircase(monkeypatch, tmp_path, fails_above: float):
    """``staircase.measure`` with steps that fail to read the target's busy time above a scale."""
    import time
    from pathlib import Path
    from types import SimpleNamespace

    from calibrate import staircase, steps
    from calibrate.config import Config
    from calibrate.errors import CalibrationError
    from calibrate.knee import StepResult
    from calibrate.steps import StepRun
    from domain.scenario import load_scenario

    class Idle:
        def __init__(self, *_args: object) -> None: ...
        def __enter__(self) -> Idle: return self
        def __exit__(self, *_args: object) -> None: ...
        def rows(self, _step: int) -> list[Row]: return []

    def step(index, spec, *_args):
        if spec.on_mix and spec.scale > fails_above:
            raise CalibrationError("http://127.0.0.1:1/metrics: unreachable (timed out)")
        return StepRun(spec, [], StepResult(spec.name, 10.0, 10.0, 20.0, 0.0, True, spec.on_mix), {}, {})

    monkeypatch.setattr(steps, "Sampler", Idle)
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    monkeypatch.setattr(staircase, "run_step", step)
    smoke = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
    config = Config(scenario_path=smoke, model_results=tmp_path, out=tmp_path / "p.yaml", max_steps=9)
    target = SimpleNamespace(url="http://127.0.0.1:1", probes=None, accounts="a.csv", answers=None)
    return staircase.measure(config, SimpleNamespace(scenario=load_scenario(smoke)), target,  # type: ignore[arg-type]
                             tmp_path, lambda _line: None, lambda _done, _total: None)


def test_a_step_whose_busy_time_cannot_be_read_ends_the_staircase(monkeypatch, tmp_path):
    runs, _, why = _staircase(monkeypatch, tmp_path, fails_above=0.4)
    # the staircase starts two growths above the base scale (0.1 x 1.7²: calibrate.staircase)
    assert [r.spec.name for r in runs][-2:] == ["mix-register", "stair-0.289"]
    assert why.startswith("stair-0.491: ") and "timed out" in why
    # the first staircase step failing says the target cannot be measured at all: an error
    from calibrate.errors import CalibrationError

    with pytest.raises(CalibrationError, match="timed out"):
        _staircase(monkeypatch, tmp_path, fails_above=0.0)
