"""`yanxiu report`: one self-contained page with the PNGs beside it, headline first."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from report.headline import number
from yanxiu.cli import main

MODEL_CHARTS = {"requests_window", "heatmap", "concurrency", "utilisation", "latency", "funnel",
                "activity", "certified_by_day", "attempts"}


def _images(html: str) -> list[str]:
    inline = r'<img data-chart="([^"]+)"[^>]* src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"'
    return re.findall(inline, html)


def test_model_report_is_self_contained_with_pngs_beside(model_report):
    page = model_report["en"]
    html = page.read_text(encoding="utf-8")
    assert {p.stem for p in page.parent.glob("*.png")} == MODEL_CHARTS
    assert set(_images(html)) == MODEL_CHARTS and len(_images(html)) == len(MODEL_CHARTS)
    assert not re.search(r'(src|href)="(?!data:)', html), "no external resources"
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_headline_figures_come_first_and_match_the_summary(model_report, model_results):
    html = model_report["en"].read_text(encoding="utf-8")
    summary = json.loads((model_results / "summary.json").read_text(encoding="utf-8"))
    assert html.index('id="headline"') < html.index('id="charts"')
    headline = html[html.index('id="headline"'):html.index('id="charts"')]
    for label, series, unit in (("Peak requests/s", "rps.total", "/s"), ("SMS/s (peak)", "sms_per_s", "/s"),
                                ("Video bandwidth (peak)", "egress_gbps", " Gbps"),
                                ("Concurrent video viewers (peak)", "viewers", "")):
        value = number(summary["peaks"][series]["value"]) + unit
        card = rf"{re.escape(label)}</div><div class=\"value\">{re.escape(value)}<"
        assert re.search(card, headline), label
    assert "certified by the deadline" not in headline  # certificates come after it
    assert "Certificates issued" in headline and "93.0% of participants" in headline
    assert "from 2023-01-14, after the deadline" in headline
    for tier in summary["capacity"]:
        assert f"<td>{tier}</td>" in headline
    assert "Capacity needed per tier vs provided" in headline and "SLO compliance" in headline


def test_chinese_report(model_report):
    html = model_report["zh"].read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "关键指标" in html and "峰值请求数/秒" in html and "整个学习期间的每秒请求数" in html


def test_chart_text_falls_back_to_english_without_a_cjk_font(model_results, tmp_path, monkeypatch, capsys):
    import report.build

    drawn = []
    real = report.build._draw
    monkeypatch.setattr(report.build, "find_cjk_font", lambda: None)
    monkeypatch.setattr(report.build, "_draw", lambda data, charts, labels, *rest: drawn.append(labels.lang)
                        or real(data, {"funnel": charts["funnel"]}, labels, *rest))
    assert main(["report", str(model_results), "--lang", "zh", "--out", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert err.count("no CJK font found") == 1 and "install fonts-noto-cjk" in err
    assert drawn == ["en"]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "关键指标" in html and "未找到中文字体" in html  # the page stays Chinese and says why


def test_loadtest_report(loadtest_report):
    html = loadtest_report.read_text(encoding="utf-8")
    assert set(_images(html)) == {"loadtest_throughput", "loadtest_latency", "loadtest_arrivals",
                                  "loadtest_model"}
    assert "Model prediction vs measurement" in html
    assert "<td>heartbeat</td>" in html
    # the model's rate for the stretch (x scale x compress) beside the measured one (0.97 of it)
    assert re.search(r"<td>req/s heartbeat</td><td>[0-9.]+</td><td>[0-9.]+</td><td>0\.97×</td>", html)
    assert "<td>rate(errors)</td>" in html  # a metric both summaries have


def test_report_command_prints_the_path(model_results, tmp_path, capsys, monkeypatch):
    import report.build
    from report import model_charts

    monkeypatch.setattr(model_charts, "CHARTS", {"attempts": model_charts.attempts})
    out = tmp_path / "x" / "report.html"
    assert main(["report", str(model_results), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report written: {out}"
    assert report.build.default_out(model_results) == model_results / "report" / "report.html"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "no such results folder"),
        (lambda d: (d / "timeseries.csv").unlink(), "timeseries.csv: missing"),
        (lambda d: (d / "summary.json").write_text('{"kind": "other", "metrics": {}}'), "kind: expected"),
        (lambda d: (d / "summary.json").unlink(), "summary.json: missing"),
    ],
)
def test_bad_results_are_one_line_and_exit_2(model_results, tmp_path, capsys, damage, message):
    folder = tmp_path / "copy"
    shutil.copytree(model_results, folder, ignore=shutil.ignore_patterns("report"))
    damage(folder)
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_verdict_leads_the_page_in_both_languages(model_report, model_results):
    summary = json.loads((model_results / "summary.json").read_text(encoding="utf-8"))
    en = model_report["en"].read_text(encoding="utf-8")
    assert en.index('id="verdict"') < en.index('id="headline"')
    verdict = _text(en[en.index('id="verdict"'):en.index('id="headline"')])
    participants = summary.get("participants") or summary["outcomes"]["participants"]
    assert f"{participants:,}" in verdict
    assert "take part between 2023-01-03 and the deadline 2023-01-12" in verdict
    assert "The load peaks at" in verdict and "Provision with a 25% margin" in verdict
    for tier in summary["capacity"]:
        assert f"{tier} holds" in verdict or f"{tier} MISSES" in verdict or f"{tier} is SHORT" in verdict
    assert "single run" in verdict  # what the model is unsure of
    zh = _text(model_report["zh"].read_text(encoding="utf-8"))
    assert "结论" in zh and "负载峰值出现在" in zh and "建议在最忙时刻所需基础上留 25% 余量" in zh


def test_cards_name_their_denominator_and_date(model_report):
    headline = _text(model_report["en"].read_text(encoding="utf-8"))
    assert "Teachers taking part" in headline and "of 2,000 teachers · 2023-01-03 – 2023-01-12" in headline
    assert "Completed by the deadline" in headline and "of participants · by 2023-01-12" in headline


def test_slo_table_shows_worst_minute_and_rule(model_report):
    html = model_report["en"].read_text(encoding="utf-8")
    assert "Worst judged minute p95" in html and "Judged minutes" in html
    assert "Judging rule: a minute is judged when the tier serves at least 1 request/s" in html


def test_chinese_report_is_beside_the_english_one_not_over_it(model_results, tmp_path):
    import report.build

    folder = tmp_path / "r"
    shutil.copytree(model_results, folder, ignore=shutil.ignore_patterns("report"))
    assert main(["report", str(folder)]) == 0
    assert main(["report", str(folder), "--lang", "zh"]) == 0
    en, zh = folder / "report" / "report.html", folder / "report" / "report.zh.html"
    assert report.build.default_out(folder, "zh") == zh
    assert '<html lang="en">' in en.read_text(encoding="utf-8")
    page = zh.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    text = _text(page)
    for english in (" teachers ", " servers", " seed ", "容量 video_cdn", "Verdict"):
        assert english not in text, english


@pytest.mark.parametrize(("value", "shown"), [(2.8e-72, "0"), (9.306e-09, "0"), (0.000612, "0.000612"),
                                              (12.345, "12.3"), (1234.5, "1,234"), (float("inf"), "–")])
def test_numbers_as_a_person_writes_them(value, shown):
    from report.numbers import figure

    assert figure(value) == shown


def test_units_are_singular_for_one_and_intervals_never_negative():
    from report.i18n import Labels
    from report.numbers import amount, interval

    en, zh = Labels("en"), Labels("zh")
    assert amount(1, "servers", en) == "1 server" and amount(75, "servers", en) == "75 servers"
    assert amount(75, "servers", zh) == "75 台服务器" and amount(None, "servers", en).startswith("unbounded")
    assert interval(-2.784, 10.98) == "[0, 11]" and interval(-2.0, -1.0, non_negative=False) == "[-2, -1]"


def test_the_model_line_spans_the_replayed_stretch_on_locust_s_clock(loadtest_results, tmp_path):
    """The model's rates start at the origin, lead_s + set_up_s after Locust's first history
    row, and the last minute's step is closed at its end (60 / compress s later)."""
    import numpy as np

    from records import LoadtestSummary, read_summary
    from report.data import load_loadtest

    folder = tmp_path / "lt"
    shutil.copytree(loadtest_results, folder)
    summary = read_summary(folder, LoadtestSummary).model_copy(update={"lead_s": 1.5, "set_up_s": 20.0})
    line = load_loadtest(folder, summary).prediction
    assert line is not None
    minute_s = 60.0 / summary.compress
    assert line["elapsed_s"][0] == pytest.approx(21.5)
    steps = np.diff(line["elapsed_s"])
    assert np.allclose(steps, minute_s)
    assert line["elapsed_s"][-1] == pytest.approx(21.5 + summary.duration_s, abs=minute_s)
    assert line["rps.total"][-1] == line["rps.total"][-2]  # the last step closed at its end
