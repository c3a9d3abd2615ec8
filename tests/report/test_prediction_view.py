"""A load test's page: the plan table flags an endpoint off the model's plan and shows what the
target got over the replayed stretch, without Locust's drain."""

from __future__ import annotations

from records.loadtest import LoadtestSummary
from report.i18n import Labels
from report.prediction_view import plan_table


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
    # no on_plan judged (an older folder): a bin beyond 10% marks the row
    assert table.rows[0][3:] == ["0.83×", "22% (10)", "NO", "–", "–"] and table.bad_rows == {0, 2}
    assert table.rows[1][4:] == ["–", "–", "–", "–"]
    assert table.rows[2][-2] == "2 (±46%)"  # two bins beyond sampling noise, the band ±46% a bin
    assert table.header[-2].startswith("Bins beyond sampling noise")
    zh = plan_table(summary, Labels("zh"))
    assert zh.title.startswith("各接口请求数") and zh.rows[0][-3] == "否"


def test_no_plan_and_no_prediction_give_no_table():
    assert plan_table(_summary(), Labels("en")) is None


def test_achieved_is_the_sessions_own_count_over_the_stretch_not_locusts_with_the_drain():
    summary = _summary(requests_vs_plan={
        "heartbeat": {"planned": 1000.0, "achieved": 1080, "ratio": 1.08, "in_stretch": 1010.0,
                      "stretch_ratio": 1.01, "on_plan": True},
        "login": {"planned": 100.0, "achieved": 140, "ratio": 1.4, "in_stretch": 130.0, "stretch_ratio": 1.3,
                  "on_plan": False}})
    table = plan_table(summary, Labels("en"))
    assert table.rows[0][1:4] == ["1,000", "1,010", "1.01×"] and table.rows[0][-1] == "yes"
    assert table.rows[1][2:4] == ["130", "1.30×"] and table.rows[1][-1] == "NO" and table.bad_rows == {1}
    assert "without the drain" in table.note
