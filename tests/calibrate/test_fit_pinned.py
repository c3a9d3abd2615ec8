"""calibrate.fit pinned at its boundaries, the rules stated again here:

- the utilisation law: busy_s = idle_rate × seconds + Σ_e N_e × D_e, with D_e ≥ 0 (in ms in the
  answer); a tier needs busy time in at least 3 bins; an endpoint a bin does not mention had no
  requests in it; r² = 1 − Σ residual² / Σ (busy − mean busy)², 0 when the busy time never varies;
- the intervals are a block bootstrap: 400 resamples of whole steps with replacement, each
  refitted, the 2.5% and 97.5% percentiles of the refits;
- the knee: the highest achieved rate among steps on the scenario's mix whose generator kept up,
  whose p95 is at most the SLO's (a step without a p95 does not meet it) and whose error rate is
  at most the SLO's; reached when some such step broke the SLO.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from calibrate.errors import CalibrationError
from calibrate.fit import BOOTSTRAP, Row, fit_tier
from calibrate.knee import StepResult, knee

EXACT = {"a": 2.0, "b": 10.0}  # ms
IDLE = 0.01  # busy seconds per second


def exact_rows(counts: list[tuple[float, float]], seconds: float = 10.0,
               steps: int | None = None) -> list[Row]:
    """Bins with exactly the busy time the law gives."""
    return [Row(i if steps is None else i % steps, seconds, {"a": na, "b": nb},
                {"api": IDLE * seconds + (na * EXACT["a"] + nb * EXACT["b"]) / 1000})
            for i, (na, nb) in enumerate(counts)]


def test_three_bins_are_enough_and_two_are_not():
    rows = exact_rows([(100, 0), (0, 50), (30, 30)])
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(0))
    assert fit.rows == 3
    assert fit.demands["a"].ms == pytest.approx(2.0) and fit.demands["b"].ms == pytest.approx(10.0)
    assert fit.idle_rate == pytest.approx(IDLE)
    with pytest.raises(CalibrationError, match="^tier api: busy time measured in 2 bins, too few to fit$"):
        fit_tier("api", rows[:2], ["a", "b"], np.random.default_rng(0))


def test_only_bins_that_measured_the_tier_count():
    rows = exact_rows([(100, 0), (0, 50), (30, 30)])
    rows.append(Row(9, 10.0, {"a": 5.0}, {"db": 1.0}))  # measured another tier only
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(0))
    assert fit.rows == 3 and fit.demands["a"].requests == 130
    with pytest.raises(CalibrationError, match="1 bins"):
        fit_tier("db", rows, ["a", "b"], np.random.default_rng(0))


def test_an_endpoint_a_bin_does_not_mention_had_no_requests():
    rows = [Row(0, 10.0, {"a": 100.0}, {"api": 0.1 + 0.2}), Row(1, 10.0, {"b": 50.0}, {"api": 0.1 + 0.5}),
            Row(2, 10.0, {"a": 30.0, "b": 30.0}, {"api": 0.1 + 0.06 + 0.3}),
            Row(3, 20.0, {}, {"api": 0.2})]
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(0))
    assert fit.demands["a"].ms == pytest.approx(2.0) and fit.demands["b"].ms == pytest.approx(10.0)
    assert (fit.demands["a"].requests, fit.demands["b"].requests) == (130, 80)


def test_an_endpoint_never_seen_gets_zero_not_nan():
    rows = exact_rows([(100, 0), (0, 50), (30, 30), (10, 5)])
    fit = fit_tier("api", rows, ["a", "b", "unseen"], np.random.default_rng(0))
    unseen = fit.demands["unseen"]
    assert (unseen.ms, unseen.lo_ms, unseen.hi_ms, unseen.requests) == (0.0, 0.0, 0.0, 0)
    assert fit.demands["b"].ms == pytest.approx(10.0)


def test_r2_is_the_share_of_variance_explained():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(12):
        na, nb = float(rng.integers(10, 200)), float(rng.integers(0, 40))
        busy = IDLE * 10 + (na * 2.0 + nb * 10.0) / 1000 + rng.normal(0, 0.02)
        rows.append(Row(i // 3, 10.0, {"a": na, "b": nb}, {"api": busy}))
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(0))
    busy = np.array([r.busy_s["api"] for r in rows])
    predicted = np.array([fit.idle_rate * r.seconds + sum(r.requests[e] * fit.demands[e].ms / 1000
                                                          for e in ("a", "b")) for r in rows])
    r2 = 1 - ((busy - predicted) ** 2).sum() / ((busy - busy.mean()) ** 2).sum()
    assert fit.r2 == pytest.approx(r2, rel=1e-9)
    assert 0 < fit.r2 < 1


def test_r2_is_zero_when_the_busy_time_never_varies():
    rows = [Row(i, 10.0, {"a": 0.0}, {"api": 0.5}) for i in range(4)]
    fit = fit_tier("api", rows, ["a"], np.random.default_rng(0))
    assert fit.r2 == 0.0 and fit.idle_rate == pytest.approx(0.05)


def test_the_intervals_are_the_block_bootstrap_percentiles():
    """Restated here with numpy and scipy directly: resample whole steps with replacement,
    refit (unit-norm columns), take the 2.5% and 97.5% percentiles."""
    data = np.random.default_rng(11)
    rows = []
    for step in range(6):
        for _ in range(3):
            na, nb = float(data.integers(10, 200)), float(data.integers(0, 60))
            busy = IDLE * 5 + (na * 2.0 + nb * 10.0) / 1000 + data.normal(0, 0.03)
            rows.append(Row(step, 5.0, {"a": na, "b": nb}, {"api": busy}))
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(3))

    design = np.array([[r.seconds, r.requests["a"], r.requests["b"]] for r in rows])
    target = np.array([r.busy_s["api"] for r in rows])

    def solve(x, y):
        norms = np.linalg.norm(x, axis=0)
        norms[norms == 0] = 1.0
        return nnls(x / norms, y)[0] / norms

    rng = np.random.default_rng(3)
    steps = np.array([r.step for r in rows])
    draws = []
    for _ in range(400):
        picked = rng.integers(0, 6, 6)
        chosen = np.concatenate([np.flatnonzero(steps == s) for s in picked])
        draws.append(solve(design[chosen], target[chosen]))
    lo, hi = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    assert BOOTSTRAP == 400
    for i, e in enumerate(("a", "b"), start=1):
        d = fit.demands[e]
        assert (d.lo_ms, d.hi_ms) == pytest.approx((lo[i] * 1000, hi[i] * 1000), rel=1e-9)
        assert d.lo_ms < d.ms < d.hi_ms


# --- the knee -------------------------------------------------------------------------------


def step(name, rps, p95, errors=0.0, trusted=True, on_mix=True) -> StepResult:
    return StepResult(name, rps * 1.1, rps, p95, errors, trusted, on_mix)


def test_a_step_exactly_at_the_slo_meets_it():
    k = knee([step("a", 10, 300.0, errors=0.01), step("b", 20, 300.001)], 300.0, 0.01)
    assert (k.rate_rps, k.step, k.reached) == (10, "a", True)
    assert k.note == "" and (k.slo_p95_ms, k.slo_error_rate) == (300.0, 0.01)
    k = knee([step("a", 10, 100.0, errors=0.01), step("b", 20, 100.0, errors=0.0101)], 300.0, 0.01)
    assert k.step == "a" and k.reached


def test_a_step_without_a_p95_does_not_meet_the_slo():
    k = knee([step("a", 10, 50.0), step("b", 20, None)], 300.0, 0.01)
    assert k.step == "a" and k.reached


def test_the_knee_is_the_highest_achieved_rate_not_the_offered_or_the_last():
    steps = [StepResult("x", 100.0, 30.0, 50.0, 0.0, True, True),
             StepResult("y", 50.0, 40.0, 50.0, 0.0, True, True),
             StepResult("z", 200.0, 35.0, 900.0, 0.0, True, True)]
    k = knee(steps, 300.0, 0.01)
    assert (k.rate_rps, k.step) == (40.0, "y")


def test_no_step_meeting_the_slo_has_no_knee():
    k = knee([step("a", 10, 900.0)], 300.0, 0.01)
    assert (k.rate_rps, k.step, k.reached, k.note) == (None, None, True, "")


def test_steps_off_the_mix_and_saturated_ones_are_not_candidates_nor_breakers():
    steps = [step("a", 10, 50.0), step("off", 99, 900.0, on_mix=False), step("sat", 98, 900.0, trusted=False),
             step("sat2", 97, 10.0, trusted=False)]
    k = knee(steps, 300.0, 0.01)
    assert (k.rate_rps, k.reached) == (10, False)
    assert k.note == ("2 step(s) left out: the load generator saturated; "
                      "no step broke the SLO: the knee is above the highest rate")


def test_nothing_on_the_mix():
    k = knee([step("off", 10, 50.0, on_mix=False)], 300.0, 0.01)
    assert (k.rate_rps, k.step, k.reached) == (None, None, False)
    assert k.note == "no step broke the SLO: the knee is above the highest rate"


def test_the_fits_records_are_frozen():
    import dataclasses

    rows = exact_rows([(100, 0), (0, 50), (30, 30)])
    fit = fit_tier("api", rows, ["a", "b"], np.random.default_rng(0))
    k = knee([step("a", 10, 50.0)], 300.0, 0.01)
    for record, field in ((rows[0], "seconds"), (fit, "r2"), (fit.demands["a"], "ms"),
                          (step("a", 1, 1.0), "p95_ms"), (k, "rate_rps")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, 0)
