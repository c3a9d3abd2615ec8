"""Prediction vs measurement: made only when comparable; figures and gate metrics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from calibrate.compare import compare
from calibrate.probes import BusyReading
from calibrate.target import reference_kind
from domain.scenario import load_scenario
from domain.thresholds import parse_threshold
from records.loadtest import LoadtestSummary
from sim.tiers.replay import predict

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scenario():
    return load_scenario(ROOT / "scenarios" / "smoke.yaml")


@pytest.fixture
def timeseries(tmp_path, scenario) -> Path:
    names = [e.name for e in scenario.platform.endpoints]
    start = dt.datetime(2023, 1, 5, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    lines = ["minute," + ",".join(f"rps.{n}" for n in names)]
    for i in range(120):
        minute = (start + dt.timedelta(minutes=i)).isoformat(timespec="minutes")
        lines.append(minute + "," + ",".join("0.5" if n == "heartbeat" else "0.01" for n in names))
    path = tmp_path / "timeseries.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _summary(saturated=False, heartbeats=3000, p95=30.0, arrivals=None, generator=None) -> LoadtestSummary:
    figures = {"requests": heartbeats, "failures": 0, "rps": 36.0, "error_rate": 0.0,
               "p50_ms": 5.0, "p95_ms": p95, "p99_ms": 60.0}
    arrivals = {"planned": 1.0, "achieved": 1, "bin_s": 10.0, "dropped": 0, "within_10pct": True,
                "max_bin_error": 0.02} | (arrivals or {})
    return LoadtestSummary.model_validate({
        "scenario": "smoke", "stretch": "peak-hour", "stretch_first_minute": "2023-01-05T20:00:00+08:00",
        "compress": 60.0, "scale": 1.2, "duration_s": 100.0, "endpoints": {"heartbeat": figures},
        "total": figures, "trustworthy": True, "metrics": {},
        "generator_cpu": generator or {"max": 10.0, "mean": 5.0, "saturated": saturated},
        "arrivals": arrivals})


def test_comparable_run_has_errors_and_gate_metrics(tmp_path, scenario, timeseries):
    c = compare(_summary(), tmp_path, scenario, timeseries, {"target": "T"}, "T", {"api": 0.02})
    assert c.comparable and c.reason == ""
    hb = c.endpoints["heartbeat"]
    assert hb["rps"].predicted == pytest.approx(0.5 * 1.2 * 60, rel=0.1)  # rps × scale × compress
    assert hb["p95_ms"].relative_error == pytest.approx(hb["p95_ms"].predicted / 30.0 - 1)
    assert c.planned_vs_achieved["heartbeat"].planned == pytest.approx(0.5 * 1.2 * 60 * 100)
    metrics = c.metrics
    assert metrics["prediction_error(p95(latency.heartbeat))"] == abs(hb["p95_ms"].relative_error)
    assert "prediction_error(max(utilisation.api))" in metrics
    threshold = parse_threshold("prediction_error(p95(latency.heartbeat)) < 20%")
    assert threshold.metric in metrics


def test_too_few_requests_give_no_latency_error(tmp_path, scenario, timeseries):
    c = compare(_summary(heartbeats=999), tmp_path, scenario, timeseries, None, "T", {})
    row = c.endpoints["heartbeat"]["p95_ms"]
    assert row.relative_error is None and "999 requests" in row.why_no_error


@pytest.mark.parametrize("saturated,arrivals,calibrated,tested,reason", [
    (True, None, "T", "T", "load generator saturated"),
    (False, None, "reference platform (SQLite, 2 workers)", "T", "calibrated against reference platform"),
    # the same reference platform on another database, or with another worker count
    (False, None, reference_kind(False, 2), reference_kind(True, 2),
     "calibrated against reference platform (SQLite, 2 workers), the test ran against reference "
     "platform (PostgreSQL, 2 workers)"),
    (False, None, reference_kind(False, 2), reference_kind(False, 1), "(SQLite, 1 workers)"),
    (False, {"dropped": 3, "within_10pct": False, "max_bin_error": 0.3}, "T", "T",
     "3 arrivals dropped by the generator"),
    (False, {"dropped": 0, "within_10pct": False, "max_bin_error": 0.25}, "T", "T",
     "arrivals off the plan by up to 25% in a bin: the generator did not keep the schedule"),
])
def test_not_comparable_says_why_and_reports_no_error(tmp_path, scenario, timeseries, saturated, arrivals,
                                                     calibrated, tested, reason):
    c = compare(_summary(saturated=saturated, arrivals=arrivals), tmp_path, scenario, timeseries,
                {"target": calibrated}, tested, {"api": 0.5})
    assert not c.comparable and reason in c.reason
    assert c.metrics == {}
    assert all(row.relative_error is None for rows in c.endpoints.values() for row in rows.values())
    assert all(t.error_pp is None for t in c.tiers.values())


def test_replay_prediction_matches_pollaczek_khinchine():
    s = load_scenario(ROOT / "tests" / "scenarios" / "mg1-two-endpoints-lognormal.yaml")
    rates = np.array([[10.0] * 60, [2.0] * 60])
    p = predict(s, rates, 100.0, np.random.default_rng(5))
    wait_ms = 315.0  # P-K for this file
    assert p.utilisation["server"] == pytest.approx(0.6, rel=0.03)
    assert p.endpoints["short"].mean_ms == pytest.approx(20 + wait_ms, rel=0.1)
    assert p.endpoints["long"].mean_ms == pytest.approx(200 + wait_ms, rel=0.1)


def test_requests_per_endpoint_per_bin_from_locusts_history(tmp_path, scenario, timeseries):
    """Planned 36/s heartbeats (0.5 rps × 1.2 × 60): 360 per 10-s bin; the history says the
    replay achieved 36/s from its origin (1.5 s after Locust's first row) on."""
    start = 1_700_000_000
    lines = ["Timestamp,User Count,Type,Name,Requests/s,Total Request Count"]
    for second in range(0, 104):
        done = max(0.0, (second - 1.5) * 36.0)
        lines.append(f"{start + second},0,POST,heartbeat,36,{done:.0f}")
    (tmp_path / "stats_history.csv").write_text("\n".join(lines) + "\n")
    c = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T", {})
    row = c.per_bin["heartbeat"]
    assert row.planned[:3] == [360.0, 360.0, 360.0]
    assert row.max_error < 0.03  # the first bin: one second of the history straddles the origin
    # the prediction at the achieved load carries the gate metrics (the platform model's error)
    achieved = c.at_achieved.endpoints["heartbeat"]
    assert achieved["rps"].predicted == pytest.approx(36.0, rel=0.05)
    error = achieved["p95_ms"].relative_error
    assert c.metrics["prediction_error(p95(latency.heartbeat))"] == abs(error)


def _history(folder: Path, start: int) -> None:
    """Locust's per-second history of 36 heartbeats a second from ``start`` + 1.5 s, for 104 s."""
    lines = ["Timestamp,User Count,Type,Name,Requests/s,Total Request Count"]
    lines += [f"{start + s},0,POST,heartbeat,36,{max(0.0, (s - 1.5) * 36.0):.0f}" for s in range(104)]
    (folder / "stats_history.csv").write_text("\n".join(lines) + "\n")


def test_the_hosts_other_work_slows_the_prediction_at_the_achieved_load(tmp_path, scenario, timeseries):
    """A host sampled during the test (a server started here) whose other work took 1.5 of its
    2 cores: the api's workers get less of a core, so the prediction at the achieved load is
    slower than without the host, and says what it used."""
    from calibrate.host import HostSampler

    start = 1_700_000_000
    _history(tmp_path, start)
    host = HostSampler.__new__(HostSampler)
    host.cores, host.sample_s = 2, 1.0
    host.rows = [(start + t, 1.5 * t, 0.0) for t in range(-5, 120)]
    host.database_rows = [BusyReading(start + t, 0.1 * t) for t in range(-5, 120, 5)]
    host.database_tier = "database"
    plain = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T", {})
    shared = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T", {}, host=host)
    # the api measured over the replay alone from the host's samples (0 CPU here), not the meter's 0.3
    shared_api = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T",
                         {"api": 0.3, "database": 0.9}, host=host)
    assert shared_api.tiers["api"].measured == 0.0
    writers = scenario.platform.tier("database").servers
    assert shared_api.tiers["database"].measured == pytest.approx(0.1 / writers)
    assert shared.at_achieved.host.cores == 2.0
    assert shared.at_achieved.host.background_cores == pytest.approx([1.5] * 10)
    hb = "heartbeat"
    assert (shared.at_achieved.endpoints[hb]["mean_ms"].predicted
            > 1.2 * plain.at_achieved.endpoints[hb]["mean_ms"].predicted)


def _postgres_shared_with(others_every: int):
    """A PostgreSQL database read every 5 s from 10 s before a 100-s replay (history from
    ``start``, origin 1.5 s on) to 15 s after it: our work 0.2 s a second; every
    ``others_every``-th interval another database also worked (1 s a second)."""
    from calibrate.host import HostSampler

    start, busy, rows = 1_700_000_000, 0.0, []
    for k, t in enumerate(range(-10, 120, 5)):
        shared = k > 0 and k % others_every == 0
        busy += 0.0 if k == 0 else 5 * (0.2 + (1.0 if shared else 0.0))
        rows.append(BusyReading(start + t, busy, not shared, ("yanxiu_test_9",) if shared else ()))
    host = HostSampler.__new__(HostSampler)
    host.cores, host.sample_s, host.database_tier = 2, 1.0, "database"
    host.rows = [(start + t, 0.0, 0.0) for t in range(-10, 120)]
    host.database_rows = rows
    return start, host


def _meter_of(host, first_busy: float, last_busy: float):
    """A load test's meter of the PostgreSQL reference whose readings were ``host``'s."""
    from types import SimpleNamespace

    from calibrate.meter import TierMeter

    meter = TierMeter("http://127.0.0.1:1", None, 2, database_servers=2)
    meter.host = host
    meter.probes.postgres = SimpleNamespace(readings=host.database_rows, close=lambda: None)
    meter.first = (0.0, None, {"api": 0.0, "database": first_busy})
    meter.last = (130.0, None, {"api": 1.0, "database": last_busy})
    return meter


def test_a_postgresql_database_shared_in_part_is_measured_over_its_own_intervals_and_says_so(
        tmp_path, scenario, timeseries):
    """Issue 12: the meter printed "not measured (other databases worked)" beside a figure
    taken from the whole server's CPU. Now one answer: no figure over the whole test, and over
    the replay the intervals whose readings were ours, with the share they cover."""
    start, host = _postgres_shared_with(4)
    _history(tmp_path, start)
    meter = _meter_of(host, host.database_rows[0].busy_s, host.database_rows[-1].busy_s)
    whole = meter.utilisation(100.0)
    assert "database" not in whole and "yanxiu_test_9" in meter.unmeasured()["database"]
    c = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T", whole, host=host)
    assert c.tiers["database"].measured == pytest.approx(0.2 / 2)  # not (0.2 + 0.25) / 2
    assert c.coverage["database"].startswith("measured over 7")  # in summary.json: what it covers
    notes = meter.notes(start + 1.5, start + 101.5)
    assert notes["database"].startswith("measured over 7") and "yanxiu_test_9" in notes["database"]
    assert "api" not in notes


def test_a_postgresql_database_mostly_shared_is_not_measured_and_an_unshared_one_without_a_note(
        tmp_path, scenario, timeseries):
    _, shared = _postgres_shared_with(1)  # every interval
    meter = _meter_of(shared, 0.0, 120.0)
    assert "database" not in meter.utilisation(100.0)
    note = meter.notes(shared.database_rows[2].when, shared.database_rows[22].when)["database"]
    assert note.startswith("not measured") and "0% of the replay" in note
    _, alone = _postgres_shared_with(10_000)  # no interval
    meter = _meter_of(alone, 0.0, 26.0)
    assert meter.utilisation(100.0)["database"] == pytest.approx(26.0 / 200.0)
    assert meter.notes(alone.database_rows[2].when, alone.database_rows[22].when) == {}


def test_a_test_on_a_machine_busier_than_the_calibration_says_so(tmp_path, scenario, timeseries):
    """The api's CPU per request grows with the host's other work: a comparison whose host ran
    beside more other work than the calibration did (beyond the load generator) says so, so
    that its error is not blamed on the model; one about as busy says nothing."""
    from calibrate.host import HostSampler
    from calibrate.meter import BUSIER_CORES, against_calibration

    start = 1_700_000_000
    _history(tmp_path, start)
    host = HostSampler.__new__(HostSampler)
    host.cores, host.sample_s = 2, 1.0
    host.rows = [(start + t, 1.2 * t, 0.4 * t) for t in range(-5, 120)]  # 0.8 cores beside the server
    host.database_rows, host.database_tier = [], None
    summary = _summary(generator={"max": 30.0, "saturated": False, "mean": 20.0, "processes": 1})
    data = summary.model_dump()  # calibrate.meter reads the summary as JSON data
    quiet = {"background": {"other_cores": 0.1}}
    busier = against_calibration(quiet, host, tmp_path, 0.0, data)
    # 0.8 cores less the generator's 0.2
    assert busier["test_other_cores"] == pytest.approx(0.6) and busier["busier"]
    assert "the machine's, not the model's" in busier["note"]
    alike = against_calibration({"background": {"other_cores": 0.6 - BUSIER_CORES / 2}}, host, tmp_path, 0.0,
                                data)
    assert alike["busier"] is False and "note" not in alike
    assert "did not record" in against_calibration({}, host, tmp_path, 0.0, data)["note"]
    assert against_calibration(quiet, None, tmp_path, 0.0, data) == {}
    c = compare(summary, tmp_path, scenario, timeseries, quiet | {"target": "T"}, "T", {}, host=host)
    assert c.comparable  # said, not a reason to withhold the figures
    assert c.background is not None and c.background.model_dump(exclude_unset=True) == busier


def test_the_servers_own_time_is_put_beside_the_tests(tmp_path, scenario, timeseries):
    """Locust's mean (stats.csv) against the server's in-app mean: what lies outside the app."""
    (tmp_path / "stats.csv").write_text("Name,Average Response Time\nheartbeat,24.3\n")
    c = compare(_summary(), tmp_path, scenario, timeseries, None, "T", {},
                in_app_ms={"heartbeat": 16.65, "metrics": 3.0})
    assert {name: row.model_dump() for name, row in c.in_app.items()} == {
        "heartbeat": {"in_app_ms": 16.65, "mean_ms": 24.3, "outside_ms": pytest.approx(7.65)}}


def test_the_sqlite_writers_lock_time_is_not_stretched_with_the_workers_loops(tmp_path, scenario, timeseries):
    """On the SQLite reference the loops run the group commits, but the commits' lock time does
    not grow with the api's load (measured 1.94 -> 1.40 ms a write from 85 to 130% of the knee):
    the prediction serves the writer unstretched even on a busy host."""
    from calibrate.compare import pool_servers
    from calibrate.host import HostSampler
    from calibrate.target import reference_kind

    tiers = [t.model_copy(update={"discipline": "group-commit", "commit_ms": 1.0})
             if t.name == "database" else t for t in scenario.platform.tiers]
    sqlite = scenario.model_copy(update={"platform": scenario.platform.model_copy(update={"tiers": tiers})})
    start = 1_700_000_000
    _history(tmp_path, start)
    host = HostSampler.__new__(HostSampler)
    host.cores, host.sample_s, host.database_tier = 2, 1.0, "database"
    host.rows = [(start + t, 1.5 * t, 0.0) for t in range(-5, 120)]
    host.database_rows = [BusyReading(start + t, 0.1 * t) for t in range(-5, 120, 5)]
    kind = reference_kind(False, pool_servers(sqlite, "api"))
    busy = compare(_summary(heartbeats=3600), tmp_path, sqlite, timeseries, None, kind, {}, host=host)
    quiet = compare(_summary(heartbeats=3600), tmp_path, sqlite, timeseries, None, kind, {})
    assert busy.at_achieved.host.runs == []
    assert (busy.at_achieved.tiers["database"].predicted
            == pytest.approx(quiet.at_achieved.tiers["database"].predicted, rel=0.05))


def test_the_prediction_at_the_achieved_load_says_the_writers_stretch_from_the_calibrations_steps(
        tmp_path, scenario, timeseries):
    """The calibration's steps (rows with lone commits, each step's background) give the writer's
    stretch with the host's busy cores (calibrate.wall_stretch), which the comparison records;
    a calibration without rows gives none."""
    import dataclasses

    from calibrate.fit import Row
    from calibrate.host import HostSampler
    from calibrate.wall_stretch import from_calibration

    start = 1_700_000_000
    _history(tmp_path, start)
    host = HostSampler.__new__(HostSampler)
    host.cores, host.sample_s, host.database_tier = 2, 1.0, None
    host.rows = [(start + t, 0.5 * t, 0.0) for t in range(-5, 120)]
    host.database_rows = []
    lone = {0: 1.2, 1: 1.3, 2: 2.4}  # ms a lone commit at 0.3, 0.5 and 1.7 busy cores
    rows = [Row(s, 10.0, {"(commits 1)": 100.0, "(lock_s 1)": lone[s] / 10.0}, {"api": 1.0}) for s in lone]
    calibration = {"rows": [dataclasses.asdict(r) for r in rows],
                   "step_results": [{"background_cores": b} for b in (0.2, 0.4, 1.6)]}
    c = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, calibration, "T", {}, host=host)
    wall = from_calibration(calibration, 2)
    assert wall is not None and 0.0 < wall.share <= 1.0
    assert c.at_achieved.host.wall.model_dump() == dataclasses.asdict(wall)
    plain = compare(_summary(heartbeats=3600), tmp_path, scenario, timeseries, None, "T", {}, host=host)
    assert plain.at_achieved.host.wall is None
