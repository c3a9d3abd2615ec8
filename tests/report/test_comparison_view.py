"""A load test's page: the calibrated model's prediction beside the measurement per endpoint and
tier, each figure marked against the issue's bar (throughput 5%, utilisation 5 pp, mean 10%, p95
20%, endpoints with >= 1,000 requests), in English and Chinese; a bench level's comparison is
read from its level.json when summary.json has none."""

from __future__ import annotations

import json

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
    table, legend = comparison_tables(summary, p, Labels("en"))
    rows = {(r[0], r[1]): r[2:] for r in table.rows}
    assert rows[("heartbeat", "throughput, req/s")] == ["29", "30", "-3.3%", "±5%", "met"]
    assert rows[("heartbeat", "mean latency, ms")] == ["4", "5", "-20.0%", "±10%", "MISSED"]
    assert rows[("heartbeat", "p95 latency, ms")] == ["24", "30", "-20.0%", "±20%", "met"]
    assert rows[("heartbeat", "p50 latency, ms")][3:] == ["no bar", "–"]
    assert rows[("heartbeat", "error rate")][:2] == ["0.00%", "0.00%"]
    # fewer than 1,000 requests: shown, not judged
    few = "not judged: 812 requests (< 1,000)"
    assert rows[("login", "p95 latency, ms")] == ["9", "10", "–", "±20%", few]
    assert rows[("tier api (bottleneck)", "utilisation")] == ["0.400", "0.500", "-10.0 pp", "±5 pp", "MISSED"]
    missed = {table.rows[i][1] for i in table.bad_rows}
    assert missed == {"mean latency, ms", "utilisation"}
    assert "2 of 4 bars met" in table.note and "From summary.json" in table.note
    assert [r[0] for r in legend.rows][0] == "throughput, req/s" and "Locust" in legend.rows[0][1]


def test_the_figures_are_those_at_the_achieved_load_where_predicted():
    achieved = {"endpoints": {"heartbeat": {"p95_ms": {"predicted": 40.0, "measured": 30.0,
                                                       "relative_error": 1 / 3}}}, "tiers": {}}
    summary, p = _rows(achieved)
    table, _ = comparison_tables(summary, p, Labels("en"))
    heartbeat = [r for r in table.rows if r[0] == "heartbeat"]
    assert heartbeat == [["heartbeat", "p95 latency, ms", "40", "30", "+33.3%", "±20%", "MISSED"]]


def test_chinese_and_not_compared():
    summary, p = _rows()
    table, legend = comparison_tables(summary, p, Labels("zh"))
    assert table.title.startswith("校准模型预测与实测对比") and table.header[-1] == "是否达标"
    assert ["heartbeat", "吞吐量（次/秒）", "29", "30", "-3.3%", "±5%", "达标"] in table.rows
    assert legend.title == "各指标的比较对象（实测值）"
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
    assert "prediction vs measurement, per endpoint and tier" in page
    assert "level.json" in page and "What each figure is compared with" in page
    assert "overloaded (p95, errors or a growing queue)" in page
    assert "<td>heartbeat</td><td>p95 latency, ms</td><td>24</td><td>30</td>" in page
