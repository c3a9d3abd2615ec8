"""`yanxiu report`: one self-contained page with the PNGs beside it, headline first."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from report.headline import number
from yanxiu.cli import main

MODEL_CHARTS = {"requests_window", "heatmap", "concurrency", "utilisation", "latency", "funnel",
                "certified_by_day", "attempts"}


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
    assert "Teachers certified by the deadline" in headline and "93.0%" in headline
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
