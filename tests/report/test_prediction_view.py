"""A load test's page: the plan table flags an endpoint off by more than 10% in a bin, and the
prediction table shows errors only when the comparison means something."""

from __future__ import annotations

from records.loadtest import LoadtestSummary
from report.i18n import Labels
from report.prediction_view import plan_table, prediction_table


def _summary(**extra) -> LoadtestSummary:
    figures = {"requests": 1000, "failures": 0, "rps": 10.0, "error_rate": 0.0, "p50_ms": 5.0,
               "p95_ms": 9.0, "p99_ms": 12.0}
    return LoadtestSummary.model_validate({
        "scenario": "s", "stretch": "peak-hour", "compress": 36.0, "scale": 1.0, "duration_s": 100.0,
        "endpoints": {"heartbeat": figures}, "total": figures,
        "arrivals": {"planned": 1, "achieved": 1, "dropped": 0, "bin_s": 10, "max_bin_error": 0,
                     "within_10pct": True},
        "generator_cpu": {"max": 10, "mean": 5, "saturated": False}, "trustworthy": True, "metrics": {},
        **extra})


def test_plan_table_marks_a_bin_off_by_more_than_10pct():
    summary = _summary(requests_vs_plan={
        "heartbeat": {"planned": 1200.0, "achieved": 1000, "ratio": 1000 / 1200, "bins_judged": 10,
                      "max_bin_error": 0.22, "first_bin_error": 0.22, "within_10pct": False},
        "login": {"planned": 100.0, "achieved": 104, "ratio": 1.04, "bins_judged": 0},
        "campaign_page": {"planned": 300.0, "achieved": 290, "ratio": 290 / 300, "bins_judged": 10,
                          "max_bin_error": 0.3, "within_10pct": False, "band_typical": 0.456,
                          "bins_outside_band": [0, 7]},
        "certificate": {"planned": 0.0, "achieved": 0, "ratio": None}})
    table = plan_table(summary, Labels("en"))
    # nothing planned, nothing got: left out
    assert [row[0] for row in table.rows] == ["heartbeat", "login", "campaign_page"]
    assert table.rows[0][3:] == ["0.83×", "22% (10)", "NO", "–"] and table.bad_rows == {0, 2}
    assert table.rows[1][4:] == ["–", "–", "–"]
    assert table.rows[2][-1] == "2 (±46%)"  # two bins beyond sampling noise, the band ±46% a bin
    assert table.header[-1].startswith("Bins beyond sampling noise")
    zh = plan_table(summary, Labels("zh"))
    assert zh.title.startswith("各接口请求数") and zh.rows[0][-2] == "否"


def test_no_plan_and_no_prediction_give_no_table():
    assert plan_table(_summary(), Labels("en")) is None
    assert prediction_table(_summary(), Labels("en")) is None


def test_prediction_table_errors_and_the_reason_when_not_compared():
    endpoints = {"heartbeat": {"rps": {"predicted": 11.0, "measured": 10.0, "relative_error": 0.1},
                               "p95_ms": {"predicted": 6.0, "measured": 9.0, "relative_error": -1 / 3},
                               "p99_ms": {"predicted": 8.0, "measured": None}}}
    tiers = {"database": {"predicted": 0.30, "measured": 0.25, "error_pp": 5.0}}
    ok = _summary(prediction={"comparable": True, "calibrated_target": "T", "tested_target": "T",
                              "endpoints": endpoints, "tiers": tiers})
    rows = prediction_table(ok, Labels("en")).rows
    assert rows == [["heartbeat req/s", "11", "10", "+10%"], ["heartbeat p95 ms", "6", "9", "-33%"],
                    ["utilisation database", "0.300", "0.250", "+5.0 pp"]]
    saturated = _summary(prediction={"comparable": False, "reason": "the load generator saturated",
                                     "calibrated_target": "T", "tested_target": "T"})
    assert prediction_table(saturated, Labels("en")).rows == [["Not compared: the load generator saturated"]]
