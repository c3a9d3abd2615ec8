"""Overload judged alike for a load test and the model's prediction of it (calibrate.overload),
and the model's own knee on a hold's load (calibrate.model_knee).

Until 2026-12-01 a level was "measured overloaded" by its whole p95 or 1% errors and "predicted
overloaded" by a tier's utilisation at 1 or an endpoint's p95: no queue on either side, and two
rules. Tests marked "old rule" fail against that.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from calibrate import model_knee as knees
from calibrate import overload
from calibrate.knee_report import bracket_line, overload_line
from calibrate.level_records import Overload
from loadtests.plan import read_timeseries
from loadtests.timing import LEAD_S
from records.loadtest import EndpointFigures
from tests.calibrate import hold_model

SLO = (300.0, 0.01)


def _prediction(arrival: np.ndarray, response: np.ndarray, busy: float = 0.5) -> SimpleNamespace:
    p95 = float(np.quantile(response, 0.95) * 1e3)
    ends = SimpleNamespace(requests=arrival.size, error_rate=0.0, p95_ms=p95)
    return SimpleNamespace(utilisation={"api": busy}, endpoints={"heartbeat": ends}, arrival_s=arrival,
                           response_s=response)


def test_old_rule_a_queue_still_filling_in_the_busiest_window_is_overload_though_the_whole_p95_meets():
    """100 s at 100 req/s: 20 ms responses but in the busiest 40 s (from 10 s) a queue that fills
    from 20 ms to 1.2 s: the whole replay's p95 stays under the SLO (the earlier rule: not
    overloaded), its windows do not."""
    arrival = np.arange(0.0, 100.0, 0.01)
    response = np.full(arrival.size, 0.02)
    busy = (arrival >= 10.0) & (arrival < 50.0)
    response[busy] = 0.02 + (arrival[busy] - 10.0) * 0.03
    response[arrival >= 50.0] = 0.02
    side = overload.predicted(_prediction(arrival, response), 10.0, 40.0, SLO)
    assert side.p95_ms is not None and side.p95_ms < 1200.0
    assert side.overloaded and side.busiest is not None and side.busiest.overloaded
    calm = overload.predicted(_prediction(arrival, np.full(arrival.size, 0.02)), 10.0, 40.0, SLO)
    assert not calm.overloaded and "busiest window" in calm.why


def test_a_saturated_tier_or_timeouts_are_predicted_overload():
    arrival = np.arange(0.0, 60.0, 0.01)
    full = _prediction(arrival, np.full(arrival.size, 0.02), busy=1.0)
    saturated = overload.predicted(full, 0.0, 40.0, SLO)
    assert saturated.overloaded and "api at utilisation 1" in saturated.why
    slow = np.full(arrival.size, 0.02)
    slow[::50] = 31.0  # 2% slower than a 30-s timeout
    timeouts = overload.predicted(_prediction(arrival, slow), 0.0, 40.0, SLO, timeout_s=30.0)
    assert timeouts.overloaded and "errors 2.0%" in timeouts.why  # each fails 30 s after it was sent
    assert timeouts.busiest is not None and 0.0 < timeouts.busiest.error_rate < 0.01


def test_throughput_short_of_arrivals_is_a_growing_queue():
    arrival = np.arange(0.0, 60.0, 0.01)
    response = np.where(arrival > 5.0, 30.0, 0.02)  # most of the window's arrivals finish after it
    side = overload.predicted(_prediction(arrival, response), 0.0, 40.0, SLO)
    assert side.throughput_ratio is not None and side.throughput_ratio < 0.9 and side.overloaded


def _history(path: Path, per_second: list[tuple[int, float]], failures: int = 0) -> None:
    """Locust's per-second "Aggregated" rows: (requests in the second, rolling p95 in ms)."""
    columns = ["Timestamp", "Name", "Total Request Count", "Total Failure Count", "50%", "95%", "100%"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        total = 0
        for i, (n, p95) in enumerate(per_second):
            total += n
            writer.writerow([1000 + i, "Aggregated", total, failures * i, p95 / 3, p95, p95 * 2])


def test_measured_windows_come_from_locusts_history_at_the_busiest_window(tmp_path: Path):
    """A replay with a set-up window of 10 s: its origin is the history's first row + the lead +
    10 s; the busiest 40 s from 5 s are the rows at 15-55 s of test time. One 10-s stall is
    forgiven, the same rule as a hold's; a p95 over the SLO throughout is not."""
    lead = int(LEAD_S + 10)
    seconds = [(0, 0.0)] * lead + [(100, 80.0)] * 25 + [(100, 700.0)] * 10 + [(100, 90.0)] * 40
    _history(tmp_path / "stats_history.csv", seconds)
    total = EndpointFigures(requests=4000, failures=0, rps=100.0, error_rate=0.0, p50_ms=40.0, p95_ms=120.0,
                            p99_ms=200.0)
    side = overload.measured(total, tmp_path, 10.0 - (LEAD_S - int(LEAD_S)), 5.0, 40.0, 4000.0, SLO)
    assert side.busiest is not None and not side.overloaded and side.throughput_ratio == pytest.approx(1.0)
    assert "700 ms" in side.busiest.why
    over = overload.measured(total.model_copy(update={"p95_ms": 450.0}), tmp_path, 10.0, 5.0, 40.0, 4000.0,
                             SLO)
    assert over.overloaded and "p95 450 ms over the SLO" in over.why
    short = overload.measured(total, tmp_path, 10.0, 5.0, 40.0, 6000.0, SLO)
    assert short.overloaded and "queue growing" in short.why


def test_the_verdicts_read_as_one_line():
    record = Overload(predicted=False, measured=True, predicted_why="p95 90 ms", measured_why="p95 450 ms")
    assert overload_line(record) == "overload: predicted NO (p95 90 ms); measured yes (p95 450 ms)"
    assert "LOWER BOUND" in bracket_line(469.0, 530.0, False, "stair-1.42")
    assert "bracketed by a hold" in bracket_line(329.0, 356.0, True)


# --- the model's own knee ------------------------------------------------------------------------


def _mm1(capacity: float):
    """A prediction stand-in: one FCFS server of ``capacity`` req/s, exponential service
    (Lindley's recursion), from empty; the steady p95 of M/M/1 is ln(20)/(capacity - rate)."""
    from sim.tiers.replay import arrivals

    def predict(_scenario, rates, bin_s, rng, _timeout=np.inf, _host=None):
        times, _kinds = arrivals(np.asarray(rates).sum(axis=0, keepdims=True), bin_s, rng)
        service = rng.exponential(1.0 / capacity, times.size)
        leave = np.empty(times.size)
        free = 0.0
        for i, (t, s) in enumerate(zip(times, service, strict=True)):
            free = max(free, t) + s
            leave[i] = free
        horizon = rates.shape[1] * bin_s
        return SimpleNamespace(utilisation={"api": min(1.0, service.sum() / horizon)}, endpoints={},
                               arrival_s=times, response_s=leave - times)

    return predict


def test_the_model_knee_is_where_its_prediction_of_the_hold_breaks_the_slo(monkeypatch, tmp_path: Path):
    """An M/M/1 of 200 req/s: its p95 meets 300 ms up to 190 req/s (ln 20 / 0.3 = 10 req/s below
    capacity). The hold's judged minutes plan 75.6 req/s a unit of scale (hold_model): the model's
    knee is found near 190 req/s, within what a 40-s window's spread allows, and the saturation at
    200 req/s, from the measured knee's scale whichever side it starts."""
    import sim.tiers.replay as replay

    monkeypatch.setattr(replay, "predict", _mm1(200.0))
    timeseries = hold_model.write_model(tmp_path / "model")
    series = read_timeseries(timeseries)
    load = knees.load_of(series, timeseries, hold_model.ENDPOINTS, "2023-01-05T19:58..2023-01-05T20:34", 36.0,
                         40.0)
    assert (load.start, load.first_judged, load.stop) == (118, 130, 154)
    assert load.rps_per_scale == pytest.approx(hold_model.HOLD_RPS)
    platform = SimpleNamespace(platform=SimpleNamespace(endpoints=[SimpleNamespace(name=e)
                                                                   for e in hold_model.ENDPOINTS]))
    for start in (1.0, 4.0):
        found = knees.model_knee(platform, timeseries, load, SLO, np.inf, start)
        assert found.rate_rps is not None and 170.0 <= found.rate_rps <= 200.0
        assert found.upper_scale is not None and found.upper_scale / found.scale <= 1 + knees.TOLERANCE + 1e-9
        assert found.saturation_rps == pytest.approx(200.0, rel=0.08) and found.bottleneck == "api"
        ratio = 150.0 / found.rate_rps
        assert found.line(150.0).endswith(f"the measured knee 150 req/s is {ratio:.2f}x the model's")


def test_the_calibration_says_its_bracket_and_the_models_knee_and_records_it(monkeypatch, tmp_path: Path):
    import json

    from calibrate import knee_report
    from calibrate.knee import Knee

    side = tmp_path / "platform.json"
    side.write_text(json.dumps({"knee": {"rate_rps": 266.0}}))
    found = knees.ModelKnee(10.9, 745.0, 250.0, 11.1, "p95 646 ms", 912.0, "api", 10)
    asked = []
    monkeypatch.setattr(knee_report, "for_platform", lambda *args: asked.append(args) or found)
    said: list[str] = []
    knee = Knee(266.0, "hold-4.12", 300.0, 0.01, True, "", True, 73.0, "",
                stretch="2023-01-05T19:49..2023-01-05T20:25", compress=36.0, upper_rps=329.0,
                upper_step="hold-4.7", bounded=True, width=4.7 / 4.12, planned_rps=280.0,
                upper_planned_rps=340.0)
    assert knee_report.after_calibration(tmp_path / "platform.yaml", side, tmp_path, knee, 4.12, 40.0, SLO,
                                         said.append) is found
    # the bracket by plan (4.7 / 4.12), not by the rates finished (329 / 266 = 1.24x)
    assert said[0] == ("knee 266 req/s, bracketed by a hold that broke the SLO (hold-4.7) (finished 329 "
                       "req/s, 340 offered): 1.14x the knee's load, WIDER than 1.1x")
    assert said[1].startswith("model's knee: 745 req/s") and "0.36x the model's" in said[1]
    assert json.loads(side.read_text())["model_knee"]["rate_rps"] == 745.0
    assert asked[0][2].scale == 4.12 and asked[0][2].judged_s == 40.0
    none = Knee(None, None, 300.0, 0.01, False, "")
    assert knee_report.after_calibration(tmp_path / "p.yaml", side, tmp_path, none, 1.0, 40.0, SLO,
                                         said.append) is None


def test_a_levels_busiest_window_is_not_judged_for_a_hold_s_still_filling_trend():
    """The 01:28 baseline's 60% level: busiest 40 s 29, 170, 330, 250 ms (the first window is the
    replay's first), whole p95 140 ms: a hold's growth rule would call it overloaded."""
    from calibrate.knee import Window

    windows = [Window(10.0 * (i + 2), 10.0, 1680, 0, p) for i, p in enumerate((29.0, 170.0, 330.0, 250.0))]
    side = overload.judge(140.0, 0.0, windows, 1.0, SLO)
    assert not side.overloaded and side.busiest is not None and not side.busiest.growing


def test_the_models_knee_on_this_host_serves_the_api_beside_the_holds_other_work(monkeypatch, tmp_path: Path):
    """The 01:28 baselines' knee holds ran beside 0.80 (SQLite) and 0.45 (PostgreSQL) cores of
    other work on 2 cores: the knee's host from the calibration's json, passed to the prediction
    as the api tier's HostShare (constant background per bin)."""
    import sim.tiers.replay as replay
    from calibrate.knee_report import knee_host

    provenance = {"step_results": [{"name": "hold-4.12", "background_cores": 0.798, "host_cores": 2}]}
    host = knee_host(provenance, "hold-4.12")
    assert host == knees.Host(2.0, 0.798) and knee_host(provenance, "hold-9") is None
    shares = []
    mm1 = _mm1(200.0)

    def predict(scenario, rates, bin_s, rng, timeout=np.inf, share=None):
        shares.append(share)
        return mm1(scenario, rates, bin_s, rng, timeout)

    monkeypatch.setattr(replay, "predict", predict)
    timeseries = hold_model.write_model(tmp_path / "model")
    load = knees.load_of(read_timeseries(timeseries), timeseries, hold_model.ENDPOINTS,
                         "2023-01-05T19:58..2023-01-05T20:34", 36.0, 40.0)
    platform = SimpleNamespace(platform=SimpleNamespace(endpoints=[SimpleNamespace(name=e)
                                                                   for e in hold_model.ENDPOINTS]))
    found = knees.model_knee(platform, timeseries, load, SLO, np.inf, 2.0, host=host)
    assert shares[0].tier == "api" and shares[0].cores == 2.0 and set(shares[0].background) == {0.798}
    assert shares[0].background.size == load.stop - load.start
    assert found.background_cores == 0.798
    assert "on this host (beside 0.80 cores of other work)" in found.line()
