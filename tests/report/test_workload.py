"""`yanxiu report` on an open-workload queueing experiment (a `workload:` scenario)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import ROOT
from yanxiu.cli import main

MM4 = ROOT / "tests" / "scenarios" / "erlang-mm4-rho75.yaml"


@pytest.fixture(scope="module")
def workload_results(tmp_path_factory):
    """erlang-mm4-rho75 on a tenth of its run (4 x 220 s, ~53,000 requests)."""
    folder = tmp_path_factory.mktemp("workload")
    data = yaml.safe_load(MM4.read_text(encoding="utf-8"))
    data["workload"]["duration_s"] = 220
    data["workload"]["replications"] = 4
    scenario = folder / "mm4-short.yaml"
    scenario.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = folder / "mm4"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    return out


def test_workload_run_writes_summary_with_metrics_and_replications(workload_results):
    summary = json.loads((workload_results / "summary.json").read_text())
    assert summary["kind"] == "workload" and summary["scenario_path"].endswith("mm4-short.yaml")
    server = summary["tiers"]["server"]
    assert summary["metrics"]["max(utilisation.server)"] == server["utilisation"]["mean"]
    assert summary["metrics"]["p95(latency.server)"] == pytest.approx(server["p95_s"]["mean"] * 1000)
    assert len((workload_results / "replications.csv").read_text().splitlines()) == 1 + 4


def test_workload_report_shows_each_figure_against_erlang_c(workload_results, capsys):
    assert main(["report", str(workload_results)]) == 0
    page = workload_results / "report" / "report.html"
    assert f"report written: {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert "Queueing experiment: erlang-mm4-rho75" in html
    assert "Tier server: measured vs queueing theory (Erlang C / Allen-Cunneen)" in html
    server = json.loads((workload_results / "summary.json").read_text())["tiers"]["server"]
    # theory column: the exact M/M/4 figures at rho = 0.75 (25.47 ms mean wait)
    row = re.search(r"<td>mean wait</td><td>([\d.]+) ms</td><td>\[([\d.]+) ms, ([\d.]+) ms\]</td>"
                    r"<td>([\d.]+) ms</td>", html)
    assert row, "mean-wait row"
    measured, lo, hi, theory = (float(x) for x in row.groups())
    assert theory == pytest.approx(25.47, abs=0.01)
    assert measured == pytest.approx(server["mean_wait_s"]["mean"] * 1000, rel=1e-3)
    assert [lo, hi] == pytest.approx([x * 1000 for x in server["mean_wait_s"]["ci95"]], rel=1e-3)
    assert "<td>75%</td>" in html  # theoretical utilisation
    png = page.parent / "workload_replications.png"
    assert png.stat().st_size > 10_000 and 'data-chart="workload_replications"' in html


def test_workload_report_in_chinese(workload_results, tmp_path):
    assert main(["report", str(workload_results), "--lang", "zh", "--out",
                 str(tmp_path / "zh" / "report.html")]) == 0
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert "排队实验" in html and "理论值" in html


def test_workload_results_pass_the_gate_on_their_own_metrics(workload_results, tmp_path, capsys):
    data = yaml.safe_load(MM4.read_text(encoding="utf-8"))
    data["thresholds"] = ["max(utilisation.server) < 0.8", "p95(latency.server) < 150ms"]
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["check", str(workload_results), "--scenario", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "pass  max(utilisation.server) < 0.8" in out and "FAIL  p95(latency.server) < 150ms" in out


def test_older_workload_results_without_metrics_still_get_a_report(workload_results, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(workload_results, old, ignore=shutil.ignore_patterns("report"))
    summary = json.loads((old / "summary.json").read_text())
    del summary["metrics"], summary["scenario_path"]
    (old / "summary.json").write_text(json.dumps(summary))
    (old / "replications.csv").unlink()
    assert main(["report", str(old)]) == 0
    html = (old / "report" / "report.html").read_text(encoding="utf-8")
    assert "Tier server: measured vs queueing theory" in html
    assert "replications.csv: missing: no per-replication chart" in html
    assert main(["check", str(old)]) == 2  # the gate does need the metrics
