"""loadtests.requests: the model's requests per endpoint against what the replay got, in total
and per 10-s bin, with the plan stated again here: rps × scale × compress for a model minute of
60 / compress seconds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from loadtests.plan import PlanError
from loadtests.requests import requests_vs_plan, with_requests
from records.loadtest import LoadtestSummary

START = dt.datetime(2023, 1, 5, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ENDPOINTS = ["heartbeat", "login", "sms_send"]
RATES = {"heartbeat": 0.5, "login": 0.1, "sms_send": 0.0}  # model requests/s, national sample


def _timeseries(tmp_path):
    lines = ["minute," + ",".join(f"rps.{n}" for n in ENDPOINTS)]
    for i in range(30):
        minute = (START + dt.timedelta(minutes=i)).isoformat(timespec="minutes")
        lines.append(minute + "," + ",".join(str(RATES[n]) for n in ENDPOINTS))
    path = tmp_path / "timeseries.csv"
    path.write_text("# a comment line as the writer leaves one\n" + "\n".join(lines) + "\n")
    return path


def _history(tmp_path, per_second: dict[str, float], late_s: float = 0.0):
    """Locust's cumulative counts once a second; the replay's origin is 1.5 s after the first row."""
    stamp = 1_700_000_000
    lines = ["Timestamp,User Count,Type,Name,Requests/s,Total Request Count"]
    for second in range(0, 70):
        for name, rate in per_second.items():
            done = max(0.0, (second - 1.5 - late_s) * rate)
            lines.append(f"{stamp + second},0,POST,{name},{rate},{done:.3f}")
    (tmp_path / "stats_history.csv").write_text("\n".join(lines) + "\n")


def _summary(requests: dict[str, int]) -> LoadtestSummary:
    def figures(n):
        return {"requests": n, "failures": 0, "rps": n / 60, "error_rate": 0.0,
                "p50_ms": 5.0, "p95_ms": 9.0, "p99_ms": 12.0}
    return LoadtestSummary.model_validate({
        "scenario": "s", "stretch": "peak-hour", "stretch_first_minute": START.isoformat(),
        "compress": 30.0, "scale": 2.0, "duration_s": 60.0,
        "endpoints": {n: figures(c) for n, c in requests.items()}, "total": figures(sum(requests.values())),
        "arrivals": {"planned": 1, "achieved": 1, "dropped": 0, "bin_s": 10, "max_bin_error": 0,
                     "within_10pct": True},
        "generator_cpu": {"max": 10, "mean": 5, "saturated": False}, "trustworthy": True, "metrics": {}})


def test_a_replay_on_plan_is_within_10pct_from_the_first_bin(tmp_path):
    # 60 s of test at compress 30 = 30 model minutes; heartbeats 0.5 × 2 × 30 = 30/s -> 1,800
    _history(tmp_path, {"heartbeat": 30.0, "login": 6.0})
    plan = requests_vs_plan(_summary({"heartbeat": 1800, "login": 360}), tmp_path, ENDPOINTS,
                            _timeseries(tmp_path))
    heartbeat = plan["heartbeat"]
    assert heartbeat.planned == pytest.approx(1800.0)
    assert heartbeat.ratio == pytest.approx(1.0)
    assert heartbeat.planned_per_bin == [300.0] * 6
    assert heartbeat.bins_judged == 6 and heartbeat.within_10pct
    # one second of Locust's history straddles the origin (1.5 s after its first row): 2.5%
    assert heartbeat.first_bin_error == pytest.approx(0.025, abs=0.005)
    assert plan["login"].planned == pytest.approx(360.0) and plan["login"].bins_judged == 6  # 60 a bin
    sms = plan["sms_send"]
    assert sms.planned == 0 and sms.ratio is None and sms.bins_judged == 0


def test_a_replay_that_ramps_up_fails_in_its_first_bin(tmp_path):
    # the heartbeats start 5 s late (a replay from an empty system): the first bin gets half
    _history(tmp_path, {"heartbeat": 30.0}, late_s=5.0)
    plan = requests_vs_plan(_summary({"heartbeat": 1650}), tmp_path, ENDPOINTS, _timeseries(tmp_path))
    heartbeat = plan["heartbeat"]
    assert heartbeat.first_bin_error == pytest.approx(0.5, abs=0.02)
    assert heartbeat.max_bin_error == pytest.approx(0.5, abs=0.02)
    assert heartbeat.within_10pct is False
    assert heartbeat.ratio == pytest.approx(1650 / 1800)


def test_a_model_run_without_the_replayed_minute_is_refused(tmp_path):
    path = _timeseries(tmp_path)
    other_day = "2023-02-01T20:00:00+08:00"
    summary = _summary({"heartbeat": 10}).model_copy(update={"stretch_first_minute": other_day})
    with pytest.raises(PlanError, match="no minute 2023-02-01T20:00"):
        requests_vs_plan(summary, tmp_path, ENDPOINTS, path)


def _with_sessions(summary: LoadtestSummary, var: float, sum_sq: float) -> LoadtestSummary:
    """The sessions' own counts: the first bin got half its 300 heartbeats, the others 300."""
    bins = {"requests": [150.0] + [300.0] * 5, "sum_sq": [sum_sq] * 6, "var": [var] * 6}
    return summary.model_copy(update={"session_bins": {"heartbeat": bins}})


def test_a_bin_off_by_more_than_10pct_is_judged_against_the_sampling_band(tmp_path):
    # the sessions' counts say the first bin got half its 300 (150 short), the others are on plan;
    # they, timed from the exact origin, are judged, not Locust's history (on plan here)
    _history(tmp_path, {"heartbeat": 30.0})
    (tmp_path / "summary.json").write_text('{"weight": 2.0}')  # the model's: plan factor 2 x 2 = 4
    summary = _summary({"heartbeat": 1650})
    # marks' variance 900 a bin: band 2 x sqrt(900 x (1 + 4)) = 134 < 150: beyond noise
    tight = requests_vs_plan(_with_sessions(summary, 900.0, 5000.0), tmp_path, ENDPOINTS,
                             _timeseries(tmp_path))["heartbeat"]
    assert tight.plan_factor == pytest.approx(4.0)
    assert tight.achieved_per_bin == [150.0] + [300.0] * 5
    assert tight.band_per_bin[0] == pytest.approx(134.2, abs=0.1)
    assert tight.bins_outside_band == [0]
    assert tight.sessions_per_bin[0] == pytest.approx(150.0 ** 2 / 5000.0, abs=0.1)
    # one bin of six outside a 2-sd band happens by chance a quarter of the time
    assert "1 of 6 bins outside sampling noise (bins 0): as many as chance alone gives 24% of the time" \
        in tight.judgement
    # variance 1,600: band 179 > 150: within noise, and the band is wider than 10% of 300
    loose = requests_vs_plan(_with_sessions(summary, 1600.0, 5000.0), tmp_path, ENDPOINTS,
                             _timeseries(tmp_path))["heartbeat"]
    assert loose.bins_outside_band == [] and loose.band_typical == pytest.approx(178.9 / 300, abs=1e-3)
    assert loose.judgement.startswith(
        "NOT within 10% (max bin error 50%), but every bin within sampling noise")
    assert "too few sessions for a 10% test (about 36x as many in the replay and the model)" \
        in loose.judgement
    # Poisson arrivals: the replay's arrival count is its own sample, sum c^2 replaces its marks' part
    poisson = _with_sessions(summary, 900.0, 5000.0).model_copy(update={"arrival_process": "poisson"})
    wide = requests_vs_plan(poisson, tmp_path, ENDPOINTS, _timeseries(tmp_path))["heartbeat"]
    assert wide.band_per_bin[0] == pytest.approx(2 * (5000.0 + 4 * 900.0) ** 0.5, abs=0.1)


def test_without_per_session_counts_or_model_weight_the_band_is_unknown(tmp_path):
    _history(tmp_path, {"heartbeat": 30.0})
    plan = requests_vs_plan(_with_sessions(_summary({"heartbeat": 1650}), 900.0, 5000.0), tmp_path,
                            ENDPOINTS, _timeseries(tmp_path))["heartbeat"]  # no model summary.json
    assert plan.band_per_bin == [] and plan.plan_factor is None
    assert plan.judgement == ("NOT within 10% (max bin error 50%); sampling band unknown "
                              "(no per-session counts or model weight); whole stretch 0.92x (within 10%)")
    assert plan.on_plan is False  # the first bin 50% short, and no band to say it is noise
    _history(tmp_path, {"heartbeat": 30.0})
    on_plan = requests_vs_plan(_summary({"heartbeat": 1800}), tmp_path, ENDPOINTS, _timeseries(tmp_path))
    assert on_plan["heartbeat"].judgement == "within 10% in all 6 bins; whole stretch 1.00x (within 10%)"
    assert on_plan["heartbeat"].on_plan is True


def _stretch_sessions(per_bin: list[float], var_total: float) -> dict[str, dict[str, list[float]]]:
    """The sessions' own counts per bin, and the spread of their running totals (the last bin's
    is the whole stretch's); each bin's own spread small, so that the bins are judged tightly."""
    running = list(np.cumsum(per_bin))
    return {"test_submit": {"requests": per_bin, "sum_sq": [1.0] * len(per_bin), "var": [1.0] * len(per_bin),
                            "sum_sq_upto": [v * 2 for v in running],
                            "var_upto": [var_total * (k + 1) / len(per_bin) for k in range(len(per_bin))]}}


def _tests(tmp_path, achieved: list[float], var_total: float, drained: int = 0):
    """Submissions planned 10 a bin (6 bins: 60), the sessions' counts ``achieved``, plus
    ``drained`` more that finished after the stretch (in Locust's total only)."""
    ts = _timeseries(tmp_path)
    ts.write_text(ts.read_text().replace("rps.sms_send", "rps.test_submit").replace(",0.0\n", f",{1 / 60}\n"))
    (tmp_path / "summary.json").write_text('{"weight": 1.0}')  # plan factor 2
    summary = _summary({"test_submit": int(sum(achieved)) + drained}).model_copy(
        update={"session_bins": _stretch_sessions(achieved, var_total)})
    names = ["heartbeat", "login", "test_submit"]
    return requests_vs_plan(summary, tmp_path, names, ts)["test_submit"]


def test_the_whole_stretch_is_judged_against_the_spread_of_each_sessions_total(tmp_path):
    # 1/60 a model second x 2 x 30 = 1 a test second: 60 planned, 10 a bin (too few to judge a bin)
    on = _tests(tmp_path, [12.0] * 6, var_total=60.0, drained=5)
    assert on.planned == pytest.approx(60.0) and on.bins_judged == 0
    # the sessions' counts within the stretch, not Locust's total with the 5 that came after it
    assert on.achieved == 77 and on.in_stretch == pytest.approx(72.0)
    assert on.stretch_ratio == pytest.approx(1.2)
    # variance 60 x (1 + plan factor 2) = 180: sd 13.4, band 26.8 > 12 over the plan
    assert on.stretch_band == pytest.approx(26.8, abs=0.1) and on.stretch_z == pytest.approx(0.89, abs=0.01)
    assert on.on_plan is True
    assert on.judgement == "whole stretch 1.20x, NOT within 10%, within sampling noise (band ±45%, +0.9 sd)"
    # the same excess with sessions 15 times less spread out: beyond noise
    off = _tests(tmp_path, [12.0] * 6, var_total=4.0)
    assert off.stretch_band == pytest.approx(6.9, abs=0.1) and off.on_plan is False
    assert off.judgement.endswith("beyond sampling noise (band ±12%, +3.5 sd)")


def test_the_verdict_lists_the_endpoints_off_plan_and_the_metrics_gate_them(tmp_path):
    off = _tests(tmp_path, [12.0] * 6, var_total=4.0)
    on = off.model_copy(update={"on_plan": True, "stretch_ratio": 1.05, "max_bin_error": None})
    summary = with_requests(_summary({"test_submit": 72}), {"test_submit": off, "heartbeat": on})
    assert summary.requests_off_plan == [f"test_submit: {off.judgement}"]
    assert summary.metrics["max(requests.error.test_submit)"] == pytest.approx(0.2)
    assert summary.metrics["max(requests.error.heartbeat)"] == pytest.approx(0.05)
    assert "max(requests.bin_error.heartbeat)" not in summary.metrics
    assert LoadtestSummary.model_validate(summary.model_dump()).requests_off_plan == summary.requests_off_plan


def test_the_master_adds_the_plan_when_the_model_run_is_at_hand_and_keeps_the_summary_otherwise(tmp_path):
    from loadtests.requests import with_model_plan

    _history(tmp_path, {"heartbeat": 30.0})
    summary = _summary({"heartbeat": 1800})
    assert with_model_plan(summary, ENDPOINTS, None, tmp_path) is summary
    _timeseries(tmp_path)
    planned = with_model_plan(summary, ENDPOINTS, tmp_path, tmp_path)
    assert planned.requests_vs_plan["heartbeat"].planned == pytest.approx(1800.0)
    assert "max(requests.error.heartbeat)" in planned.metrics
    other_day = summary.model_copy(update={"stretch_first_minute": "2023-02-01T20:00:00+08:00"})
    assert with_model_plan(other_day, ENDPOINTS, tmp_path, tmp_path) is other_day  # not the run replayed


def test_the_first_bin_test_is_bin_0s_and_a_later_first_judged_bin_counts_only_among_the_bins():
    from loadtests.requests import on_plan
    from records.loadtest import RequestsVsPlan

    # bin 0 plans too few to judge; bin 3, the first judged, is outside its band: one of four
    # bins outside happens by chance 17% of the time, so the endpoint stays on plan (r2, 02:35)
    late = RequestsVsPlan(planned=200.0, achieved=212, ratio=1.06, in_stretch=212.0, stretch_ratio=1.06,
                          planned_per_bin=[10.0, 15.0, 17.0, 34.6, 22.0, 20.0, 24.0], bins_judged=4,
                          first_bin_error=0.48, first_bin_band=12.0, max_bin_error=0.48, within_10pct=False,
                          band_typical=0.6, bins_outside_band=[3])
    assert on_plan(late) is True
    # the same miss in bin 0 (the replay's initial condition) is off plan
    early = late.model_copy(update={"planned_per_bin": [34.6, 15.0, 17.0, 20.0, 22.0, 20.0, 24.0],
                                    "bins_outside_band": [0]})
    assert on_plan(early) is False
