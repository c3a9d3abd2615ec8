"""The api tier's demands from the routes' measured CPU (calibrate.routecpu): on bins where the
heartbeats are nearly all requests and about one a wake-up, the utilisation law alone cannot
tell a heartbeat's CPU from the wake-up's; with each route's CPU measured it can, and the rest
(wake-ups, a group commit's job outside its request) is fitted as before."""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.fit import JOBS, WAKEUPS, Row, fit_event_loop
from calibrate.routecpu import fit_measured_loop, usable
from tests.calibrate.loop_bins import served

OWN_S = {"heartbeat": 0.0010, "campaign_page": 0.008, "login": 0.020}
WAKEUP_S, JOB_S, IDLE, SERVERS, BIN_S = 0.0012, 0.0004, 0.01, 2, 5.0
# (total rate, mix): a mix step without heartbeats, then a staircase of the scenario's mix
# (heartbeats 90%, a sign-in and a page per session, always together)
MIX = (0.9, 0.05, 0.05)
STEPS = ((20.0, (0.0, 0.5, 0.5)), *((rate, MIX) for rate in (30.0, 60.0, 120.0, 200.0, 300.0)))


@pytest.fixture(autouse=True)
def _fewer_draws(monkeypatch):
    """100 bootstrap draws instead of 400: each fit profiles the wake-up cost on every draw, and at
    400 this module took 78 s of CI; the point estimates do not depend on the draws, and the
    intervals compared here differ by far more than 100 draws' noise."""
    monkeypatch.setattr("calibrate.routecpu.BOOTSTRAP", 100)
    monkeypatch.setattr("calibrate.fit.BOOTSTRAP", 100)


def _bins(rng: np.random.Generator, bins: int = 5) -> list[Row]:
    """Bins of the request-level loop (``serve_batches``): busy time with the wake-ups; each
    route's CPU is its requests' own service; each heartbeat is a job whose write costs
    ``JOB_S`` outside its request (the loop's flush)."""
    names = list(OWN_S)
    rows = []
    for step, (rate, mix) in enumerate(STEPS):
        kinds, service, start, leave = served(rng, rate, mix, list(OWN_S.values()), SERVERS, WAKEUP_S,
                                              bins * BIN_S)
        for b in range(bins):
            lo, hi = b * BIN_S, (b + 1) * BIN_S
            busy = float(np.clip(np.minimum(leave, hi) - np.maximum(start, lo), 0.0, None).sum())
            done = (leave >= lo) & (leave < hi)
            requests = {n: float((done & (kinds == i)).sum()) for i, n in enumerate(names)}
            cpu = {n: float(service[done & (kinds == i)].sum()) for i, n in enumerate(names)}
            requests[JOBS] = requests["heartbeat"]
            rows.append(Row(step, BIN_S, requests,
                            {"api": busy + IDLE * BIN_S + JOB_S * requests["heartbeat"]}, cpu))
    return rows


def test_each_endpoint_gets_its_own_cpu_and_the_rest_is_fitted():
    rng = np.random.default_rng(7)
    rows = _bins(rng)
    fit = fit_measured_loop("api", rows, list(OWN_S), SERVERS, rng)
    # a heartbeat: its own 1.0 ms plus its write's 0.4 outside its request
    heartbeat = fit.demands["heartbeat"]
    assert heartbeat.ms == pytest.approx(1.4, abs=0.15)
    assert heartbeat.lo_ms <= 1.4 <= heartbeat.hi_ms + 0.05
    assert fit.demands["campaign_page"].ms == pytest.approx(8.0, rel=0.15)
    assert fit.demands["login"].ms == pytest.approx(20.0, rel=0.15)
    wakeup = fit.demands[WAKEUPS]
    assert wakeup.lo_ms - 0.1 <= 1.2 <= wakeup.hi_ms + 0.1
    assert fit.r2 > 0.9 and "yanxiu_route_cpu_seconds_total" in fit.how


def test_the_utilisation_law_alone_cannot_tell_them_apart_on_the_same_bins():
    """Why the routes' CPU: the same bins without it leave the page and the sign-in tied (one
    each per session) and the heartbeat's share of a lone request's cost unpinned."""
    rng = np.random.default_rng(7)
    rows = [Row(r.step, r.seconds, r.requests, r.busy_s) for r in _bins(rng)]
    assert not usable("api", rows, list(OWN_S))
    law = fit_event_loop("api", rows, list(OWN_S), SERVERS, rng)
    measured = fit_measured_loop("api", _bins(np.random.default_rng(7)), list(OWN_S), SERVERS, rng)
    width = {e: law.demands[e].hi_ms - law.demands[e].lo_ms for e in ("heartbeat", "campaign_page")}
    assert all(width[e] > 3 * (measured.demands[e].hi_ms - measured.demands[e].lo_ms) for e in width)


def test_a_counter_that_covers_little_of_the_busy_time_is_not_used():
    rows = [Row(0, 5.0, {"heartbeat": 100.0}, {"api": 1.0}, {"heartbeat": 0.1}) for _ in range(5)]
    assert not usable("api", rows, ["heartbeat"])
    rows = [Row(0, 5.0, {"heartbeat": 100.0}, {"api": 1.0}, {"heartbeat": 0.5}) for _ in range(5)]
    assert usable("api", rows, ["heartbeat"])


def test_the_counter_is_read_from_metrics_and_differenced_per_bin():
    from calibrate.probes import parse_metrics
    from calibrate.steps import Probes, Sampler

    def text(heartbeat_s: float) -> str:  # two workers' samples (multiprocess mode sums them)
        return ("# TYPE yanxiu_route_cpu_seconds counter\n"
                f'yanxiu_route_cpu_seconds_total{{endpoint="heartbeat"}} {heartbeat_s}\n'
                'yanxiu_route_cpu_seconds_total{endpoint="heartbeat"} 1.0\n'
                'yanxiu_route_cpu_seconds_total{endpoint="login"} 0.5\n'
                'yanxiu_requests_total{endpoint="heartbeat",method="POST",status="200"} 10\n')

    assert parse_metrics(text(2.0)).route_cpu == {"heartbeat": 3.0, "login": 0.5}
    assert parse_metrics('yanxiu_requests_total{endpoint="a",method="GET",status="200"} 1\n').route_cpu == {}
    sampler = Sampler(Probes(metrics=None), 1.0)  # type: ignore[arg-type]
    sampler.readings = [(0.0, parse_metrics(text(2.0)), {"api": 1.0}),
                        (5.0, parse_metrics(text(2.25)), {"api": 1.5})]
    (row,) = sampler.rows(0)
    assert row.route_cpu_s == {"heartbeat": 0.25, "login": 0.0}


def test_a_jobs_cpu_measured_by_the_commits_counter_is_not_fitted():
    """With the group commits' CPU counted (``COMMITS_CPU``), a heartbeat's write is measured:
    its demand is its own CPU plus its job's, with an interval as narrow as the measurement's."""
    from calibrate.probes import COMMITS_CPU

    rows = [Row(r.step, r.seconds, r.requests, r.busy_s,
                r.route_cpu_s | {COMMITS_CPU: JOB_S * r.requests[JOBS]})
            for r in _bins(np.random.default_rng(7))]
    fitted = fit_measured_loop("api", _bins(np.random.default_rng(7)), list(OWN_S), SERVERS,
                               np.random.default_rng(1))
    measured = fit_measured_loop("api", rows, list(OWN_S), SERVERS, np.random.default_rng(1))
    heartbeat = measured.demands["heartbeat"]
    own = sum(r.route_cpu_s["heartbeat"] for r in rows) / sum(r.requests["heartbeat"] for r in rows)
    assert heartbeat.ms == pytest.approx(1000 * (own + JOB_S), rel=1e-6)
    wide = fitted.demands["heartbeat"]
    assert heartbeat.hi_ms - heartbeat.lo_ms < 0.5 * (wide.hi_ms - wide.lo_ms)
    assert "yanxiu_commit_cpu_seconds_total" in measured.how
