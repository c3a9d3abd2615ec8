"""Report and gate on a real `yanxiu run` of the smoke scenario, not only on synthetic folders."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from report.headline import number
from yanxiu.cli import main


def test_report_of_a_real_run_has_every_chart_and_its_peaks(real_results, real_report):
    html = real_report.read_text(encoding="utf-8")
    summary = json.loads((real_results / "summary.json").read_text(encoding="utf-8"))
    charts = set(re.findall(r'<img data-chart="([^"]+)"', html))
    assert charts == {"requests_window", "heatmap", "concurrency", "utilisation", "latency", "funnel",
                      "activity", "certified_by_day", "attempts"}
    assert {p.name.removesuffix(".zh.png") for p in real_report.parent.glob("*.zh.png")} == charts
    assert f'<div class="value">{number(summary["peaks"]["rps.total"]["value"])}/s<' in html
    for tier in summary["capacity"]:
        assert f"<td>{tier}</td>" in html
    assert "no calendar markers" not in html  # the scenario named in summary.json was found
    # the request-level check of the peak minute, one row per tier it saw
    peak = summary["confirmation"]["minutes"][0]
    assert "请求级仿真核对" in html and peak["at"][:16].replace("T", " ") in html
    util = peak["tiers"]["api"]["utilisation"]
    assert f"<td>{util['model']:.2%} / {util['simulated']:.2%}</td>" in html


def test_gate_on_a_real_run(real_results, capsys, tmp_path):
    assert main(["check", str(real_results)]) == 0
    out = capsys.readouterr().out
    assert "pass  p95(latency.api) < 300ms" in out and "pass  rate(errors) < 1%" in out
    assert main(["check", str(real_results), "--baseline", str(real_results),
                 "--junit", str(tmp_path / "gate.xml")]) == 0
    assert "FAIL" not in capsys.readouterr().out


@pytest.mark.slow
def test_report_and_gate_of_a_real_load_test(real_results, tmp_path, capsys):
    """`yanxiu loadtest` against the reference platform (about a minute), then report and gate."""
    from tests.conftest import SMOKE

    out = tmp_path / "lt"
    # In a child process: Locust monkey-patches the interpreter it runs in.
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "loadtest", str(SMOKE), "--model-results",
                           str(real_results), "--duration", "20", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert main(["report", str(out)]) == 0
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert set(re.findall(r'<img data-chart="([^"]+)"', html)) >= {"loadtest_throughput", "loadtest_latency",
                                                                    "loadtest_arrivals"}
    assert main(["check", str(out), "--allow-missing"]) == 0
    assert "pass  rate(errors) < 1%" in capsys.readouterr().out
