"""Little's law on the model's own outputs: L = lambda x W per tier (timeseries.csv columns)
and for the teachers' study sessions (concurrency, session arrivals, session lengths).

The run is the smoke campaign with its api made slow enough (demands x 280 on 4 servers) that
the api queues in ordinary minutes (utilisation up to ~0.9) and is overloaded in a few peak
minutes (offered utilisation > 1, a fluid backlog that drains in the next minute). Patience is
raised to an hour so that no request gives up: with abandonment the law holds for the served
requests only, which the outputs do not separate.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import run_model
from sim.outputs import writer as outputs

API_SLOWDOWN = 280.0
FLOAT = 1e-9  # relative: float rounding of sums over ~15,000 minutes


def _slow_api(smoke):
    endpoints = [e.model_copy(update={"demand_ms": {k: v * API_SLOWDOWN if k == "api" else v
                                                    for k, v in e.demand_ms.items()}})
                 for e in smoke.platform.endpoints]
    overload = smoke.behaviour.overload.model_copy(update={"abandon_after_s": 3600.0})
    return smoke.model_copy(update={
        "platform": smoke.platform.model_copy(update={"endpoints": endpoints}),
        "behaviour": smoke.behaviour.model_copy(update={"overload": overload})})


@pytest.fixture(scope="module")
def observed(smoke):
    """The run and its time series; the recorder also sums every study session's own length
    as the teacher processes open and close it (an independent measure of W)."""
    scenario = _slow_api(smoke)
    run = run_model(scenario, teachers=2000, seed=3)
    return scenario, run, outputs.timeseries(run)


def _tier_figures(scenario, series, tier: str):
    """Per minute, from the output columns only: lambda (requests/s entering the tier), the
    offered work a = utilisation x c, mean service s = a / lambda, W = wait + s, and L."""
    config = next(t for t in scenario.platform.tiers if t.name == tier)
    uses = [e.name for e in scenario.platform.endpoints if e.visits(tier)]
    lam = sum(series[f"rps.{name}"] for name in uses)
    work = series[f"tier.{tier}.utilisation"] * config.servers
    busy = lam > 0
    s = np.where(busy, work / np.where(busy, lam, 1.0), 0.0)
    wait = series[f"tier.{tier}.wait_ms"] / 1000.0
    return config.servers, lam, work, s, wait, series[f"tier.{tier}.in_system"]


def _busy_periods(work: np.ndarray, servers: int) -> tuple[np.ndarray, list[slice]]:
    """Minutes that start with a fluid backlog (Lindley's recursion on the offered work, as
    the tier model runs it) or are overloaded, grouped into busy periods."""
    backlog, inside = 0.0, np.zeros(work.size, bool)
    for m, a in enumerate(work.tolist()):
        inside[m] = backlog > 0 or a > servers
        backlog = max(0.0, backlog + (a - servers) * 60.0)
    marks = np.flatnonzero(np.diff(np.concatenate(([0], inside.astype(int), [0]))))
    return inside, [slice(a, b) for a, b in zip(marks[::2], marks[1::2], strict=True)]


@pytest.mark.parametrize("tier", ["api", "database"])
def test_littles_law_per_tier(observed, tier):
    scenario, _, series = observed
    c, lam, work, s, wait, in_system = _tier_figures(scenario, series, tier)
    assert np.all(series[f"tier.{tier}.wait_ms"] < 3600e3)  # nobody reached the patience
    fluid, periods = _busy_periods(work, c)
    rate_x_time = lam * (wait + s)
    # Minutes without a backlog are stationary M/G/c: L = lambda W holds minute by minute
    # (the queue length from Erlang C and the wait are two formulas of the same state).
    calm = ~fluid & (lam > 0)
    np.testing.assert_allclose(in_system[calm], rate_x_time[calm], rtol=FLOAT)
    if tier == "api":  # the law is not trivially about empty queues here
        assert np.max(wait[calm]) > 0.05 and len(periods) >= 1
    # Over a busy period (from an empty queue back to one) the law holds for the fluid part
    # too: requests queued = work backlog / mean service, each waits backlog / c. It is exact
    # when the mix of endpoints (the mean service s) stays the same; when the mix changes
    # between an overloaded minute and its drain, the queue's length is counted at the new
    # minute's s. The error is then at most the sum over the period of
    # |c/s - lambda| x wait x |1 - s / s_first| (docs/tiers.md: fluid part of a minute).
    for period in periods:
        s_first = s[period.start]
        bound = np.sum(np.abs(c / s[period] - lam[period]) * wait[period]
                       * np.abs(1.0 - s[period] / s_first))
        error = abs(in_system[period].sum() - rate_x_time[period].sum())
        assert error <= bound + FLOAT * in_system[period].sum(), (period, error, bound)
    # and so over the whole run: the busy periods' errors are all there is
    total_bound = sum(np.sum(np.abs(c / s[p] - lam[p]) * wait[p] * np.abs(1.0 - s[p] / s[p.start]))
                      for p in periods)
    assert abs(in_system.sum() - rate_x_time.sum()) <= total_bound + FLOAT * in_system.sum()


def test_littles_law_for_study_sessions(observed):
    """Mean concurrent sessions = session arrival rate x mean session length, over the whole
    horizon (it starts empty and every session ends inside it). L comes from the `sessions`
    column (difference arrays with fractional minutes), lambda from `arrivals.sessions`, W
    from the sessions' own start and end times; the identity is exact on a sample path that
    starts and ends empty, so the tolerance is float rounding only."""
    _, run, series = observed
    horizon_s = run.recorder.minutes * 60.0
    opened = series["arrivals.sessions"].sum()
    assert opened > 1000 and run.recorder.sessions_simulated == pytest.approx(opened)
    concurrency = series["sessions"].mean()
    arrival_rate = opened / horizon_s
    mean_length_s = run.recorder.session_seconds / opened
    assert 10 * 60 < mean_length_s < 3 * 3600  # sessions last minutes to hours, as drawn
    assert concurrency == pytest.approx(arrival_rate * mean_length_s, rel=FLOAT)
