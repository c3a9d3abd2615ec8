"""A load test's page: the calibrated model's prediction beside the measurement per endpoint and
tier, each figure marked against the issue's bar (throughput 5%, utilisation 5 pp, mean 10%, p95
20%, endpoints with >= 1,000 requests), in English and Chinese; a bench level's comparison is
read from its level.json when summary.json has none."""

from __future__ import annotations

import json

from records.level import LevelOverload
from records.loadtest import LoadtestSummary
from records.prediction import Prediction
from report.comparison_view import comparison_tables
from report.i18n import Labels
from tests.records.test_prediction import _summary, old_prediction


def _rows(at_achieved: dict | None = None) -> tuple[LoadtestSummary, Prediction]:
    data = _summary(old_prediction(at_achieved))
    data["endpoints"]["login"] = data["endpoints"]["heartbeat"] | {"requests": 812}
    summary = LoadtestSummary.model_validate(data)
    assert summary.prediction is not None
    return summary, summary.prediction


def test_every_figure_is_marked_against_its_bar():
    summary, p = _rows()
    endpoints, tiers, legend = comparison_tables(summary, p, Labels("en"))
    assert endpoints.header[2:] == ["throughput, req/s (bar ±5%)", "mean latency, ms (bar ±10%)",
                                    "p50 latency, ms", "p95 latency, ms (bar ±20%)", "p99 latency, ms",
                                    "error rate"]
    # the busiest endpoint first; cells: predicted / measured (error, met or MISSED)
    assert endpoints.rows[0] == ["heartbeat", "3,000", "29 / 30 (-3.3%, met)", "4 / 5 (-20.0%, MISSED)",
                                 "3 / 5 (-40.0%)", "24 / 30 (-20.0%, met)", "50 / 60 (-16.7%)",
                                 "0.00% / 0.00%"]
    # fewer than 1,000 requests: shown, not judged (and the latency errors withheld by compare)
    assert endpoints.rows[1][:2] == ["login", "812 (< 1,000: not judged)"]
    assert endpoints.rows[1][3] == "9 / 10" and endpoints.bad_rows == {0}
    assert tiers.rows == [["api (bottleneck: the busiest measured)", "0.400", "0.500", "-10.0 pp", "±5 pp",
                           "MISSED"]] and tiers.bad_rows == {0}
    assert "2 of 4 bars met" in endpoints.note and "From summary.json" in endpoints.note
    first = legend.rows[0][0]
    assert first.startswith("throughput, req/s: the endpoint's requests") and "drain" in first


def test_the_figures_are_those_at_the_achieved_load_where_predicted():
    achieved = {"endpoints": {"heartbeat": {"p95_ms": {"predicted": 40.0, "measured": 30.0,
                                                       "relative_error": 1 / 3}}}, "tiers": {}}
    summary, p = _rows(achieved)
    endpoints, tiers, _ = comparison_tables(summary, p, Labels("en"))
    assert [r[0] for r in endpoints.rows] == ["heartbeat"]  # login was not predicted at the achieved load
    assert endpoints.rows[0][5] == "40 / 30 (+33.3%, MISSED)" and endpoints.rows[0][2] == "–"
    assert tiers.rows[0][0].startswith("api")  # no tier at the achieved load: the planned one


def test_chinese_not_compared_and_the_levels_overload():
    summary, p = _rows()
    overload = LevelOverload(predicted=False, measured=True, measured_why="p95 2.6 s")
    endpoints, tiers, legend = comparison_tables(summary, p, Labels("zh"), from_level=True, overload=overload)
    assert endpoints.title.startswith("校准模型预测与实测对比")
    assert endpoints.rows[0][2] == "29 / 30（-3.3%，达标）"
    assert tiers.rows[1] == ["过载（p95、错误或队列增长）", "否", "是", "–", "预测与实测一致", "未达标"]
    assert tiers.bad_rows == {0, 1} and "基准测试的 level.json" in endpoints.note
    assert tiers.note.endswith("实测：p95 2.6 s。")
    assert legend.title == "各指标的比较对象（实测值）"
    noted = Prediction.model_validate(p.model_dump() | {
        "coverage": {"database": "measured over 62% of the replay only"},
        "background": {"test_other_cores": 1.1, "busier": True,
                       "note": "the test ran beside 1.10 cores of other work"}})
    _, tiers, _ = comparison_tables(summary, noted, Labels("en"))
    assert tiers.note == ("database: measured over 62% of the replay only. The machine: the test ran beside "
                          "1.10 cores of other work.")
    off = p.model_copy(update={"comparable": False, "reason": "the load generator saturated"})
    (only,) = comparison_tables(summary, off, Labels("en"))
    assert only.rows == [["Not compared: the load generator saturated"]]
    assert comparison_tables(summary, None, Labels("en")) == []


def test_a_bench_levels_page_shows_its_level_json_comparison(tmp_path):
    """bench/bench_calibrate.py writes the comparison into level.json, not summary.json: the page
    reads it from there (and the level's overload verdicts)."""
    from report.build import build_report
    from tests.report.builder import write_loadtest_results

    folder = write_loadtest_results(tmp_path / "validate-110pct", None, seconds=60)
    prediction = old_prediction()
    prediction["endpoints"] = {"heartbeat": prediction["endpoints"]["heartbeat"]}
    overload = {"predicted": False, "measured": True, "predicted_why": "", "measured_why": "p95 2.6 s"}
    (folder / "level.json").write_text(json.dumps({"kind": "bench-level", "plan": {"level": 1.1},
                                                   "comparison": prediction, "overload": overload}))
    page = build_report(folder, out=tmp_path / "page" / "report.html").read_text(encoding="utf-8")
    assert "prediction vs measurement, per endpoint (predicted / measured)" in page
    assert "level.json" in page and "What each figure is compared with" in page
    assert "overloaded (p95, errors or a growing queue)" in page
    assert "<td>29 / 30 (-3.3%" in page  # the level's heartbeat row
