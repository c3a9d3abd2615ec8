"""The utilisation-law fit recovers known demands; the knee follows the SLO."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.errors import CalibrationError
from calibrate.fit import Row, fit_tier
from calibrate.knee import StepResult, knee

ENDPOINTS = ["heartbeat", "login", "campaign_page"]
TRUE_MS = {"heartbeat": 0.4, "login": 30.0, "campaign_page": 3.0}


def _rows(rng, noise_s: float = 0.0, steps: int = 8) -> list[Row]:
    """Bins of steps whose mixes and rates differ; busy time = idle + Σ N·D (+ noise)."""
    rows = []
    for step in range(steps):
        mix = rng.dirichlet(np.ones(3)) * rng.uniform(20, 200)
        for _ in range(5):
            seconds = 5.0
            counts = {e: float(rng.poisson(rate * seconds)) for e, rate in zip(ENDPOINTS, mix, strict=True)}
            busy = 0.02 * seconds + sum(counts[e] * TRUE_MS[e] / 1000 for e in ENDPOINTS)
            busy += rng.normal(0, noise_s)
            rows.append(Row(step, seconds, counts, {"api": max(busy, 0.0)}))
    return rows


def test_exact_busy_time_gives_the_true_demands():
    rng = np.random.default_rng(1)
    fit = fit_tier("api", _rows(rng), ENDPOINTS, rng)
    for e in ENDPOINTS:
        assert fit.demands[e].ms == pytest.approx(TRUE_MS[e], rel=1e-6)
    assert fit.idle_rate == pytest.approx(0.02, rel=1e-6)
    assert fit.r2 == pytest.approx(1.0)


def test_noisy_busy_time_gives_intervals_that_cover_the_truth():
    rng = np.random.default_rng(2)
    fit = fit_tier("api", _rows(rng, noise_s=0.02, steps=10), ENDPOINTS, rng)
    for e in ENDPOINTS:
        d = fit.demands[e]
        assert d.lo_ms <= TRUE_MS[e] <= d.hi_ms, (e, d)
        assert d.lo_ms >= 0.0


def test_demands_are_never_negative():
    rng = np.random.default_rng(3)
    rows = _rows(rng, noise_s=0.2, steps=4)
    fit = fit_tier("api", rows, ENDPOINTS, rng)
    assert all(d.ms >= 0 and d.lo_ms >= 0 for d in fit.demands.values())


def test_too_few_bins_is_refused():
    rng = np.random.default_rng(4)
    with pytest.raises(CalibrationError, match="too few"):
        fit_tier("api", _rows(rng)[:2], ENDPOINTS, rng)


def _step(name, rps, p95, errors=0.0, trusted=True, on_mix=True):
    return StepResult(name, rps, rps, p95, errors, trusted, on_mix)


def test_knee_is_the_highest_rate_meeting_the_slo():
    steps = [_step("a", 10, 50), _step("b", 20, 120), _step("c", 35, 900), _step("mix", 80, 10, on_mix=False)]
    k = knee(steps, 300, 0.01)
    assert (k.rate_rps, k.step, k.reached) == (20, "b", True)


def test_knee_leaves_out_saturated_generators_and_errors():
    steps = [_step("a", 10, 50), _step("b", 20, 100, errors=0.05), _step("c", 40, 100, trusted=False)]
    k = knee(steps, 300, 0.01)
    assert k.rate_rps == 10
    assert "saturated" in k.note


def test_knee_not_reached_says_it_is_a_lower_bound():
    k = knee([_step("a", 10, 50), _step("b", 20, 60)], 300, 0.01)
    assert k.rate_rps == 20 and not k.reached
    assert "above the highest rate" in k.note


def test_only_steps_within_the_slo_enter_the_utilisation_law_fit():
    from calibrate.staircase import stable

    assert stable(StepResult("ok", 360.0, 360.0, 96.0, 0.0, True, True), 300.0, 0.01)
    assert not stable(StepResult("past the knee", 610.0, 210.0, 4200.0, 0.0014, True, True), 300.0, 0.01)
    assert not stable(StepResult("errors", 100.0, 100.0, 20.0, 0.05, True, True), 300.0, 0.01)
    assert not stable(StepResult("generator", 100.0, 60.0, 20.0, 0.0, False, True), 300.0, 0.01)
    assert stable(StepResult("no latency yet", 5.0, 5.0, None, 0.0, True, False), 300.0, 0.01)
