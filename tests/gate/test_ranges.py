"""`yanxiu check` on a `yanxiu run --ranges` run: a threshold on a figure with a range passes or
fails at the end of its 90% interval that matters (gate.evaluate.ENDS), not at its central
value; thresholds on figures without a range are judged as before."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from domain.thresholds import parse_threshold
from gate.evaluate import evaluate
from records.model import Range
from tests.report.builder import write_model_results
from yanxiu.cli import main

PEAK = Range(central=4740.0, p05=4580.0, p95=10490.0, driver="heartbeat_basic_s",
             sensitivity={"heartbeat_basic_s": -0.9})
SHARE = Range(central=0.93, p05=0.85, p95=0.96)


def _judge(text: str, figure: Range = PEAK, central: float = 4740.0):
    threshold = parse_threshold(text)
    return evaluate([threshold], {threshold.metric: central}, ranges={threshold.metric: figure})[0]


@pytest.mark.parametrize("text, passed, end, actual", [
    ("peak(rps.total) < 8000", False, "p95", 10490.0),  # holds at the central 4,740, not at p95
    ("peak(rps.total) <= 10490", True, "p95", 10490.0),
    ("peak(rps.total) < 11k", True, "p95", 10490.0),
    ("peak(rps.total) > 4600", False, "p05", 4580.0),  # a lower limit: the low end matters
    ("peak(rps.total) >= 4580", True, "p05", 4580.0),
    ("peak(rps.total) == 4740", False, "p05 and p95", 4580.0),  # both ends: the first that fails
    ("peak(rps.total) != 5000", True, "p05 and p95", 10490.0),
])
def test_a_limit_is_judged_at_the_end_that_matters(text, passed, end, actual):
    outcome = _judge(text)
    assert (outcome.passed, outcome.judged_at, outcome.actual) == (passed, end, actual)
    assert outcome.range == PEAK


def test_a_share_passes_at_its_central_value_but_fails_at_p05():
    assert not _judge("share(certified) > 90%", SHARE, 0.93).passed
    assert _judge("share(certified) > 80%", SHARE, 0.93).passed


def test_a_figure_without_a_range_is_judged_at_its_value():
    threshold = parse_threshold("rate(errors) < 1%")
    outcome = evaluate([threshold], {"rate(errors)": 0.0}, ranges={"peak(rps.total)": PEAK})[0]
    assert outcome.passed and outcome.range is None and outcome.actual == 0.0


def _with_ranges(folder, figures: dict[str, Range]):
    path = folder / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["ranges"] = {"draws": 20, "posterior": "fitted.behaviour.yaml", "parameters": ["heartbeat_basic_s"],
                      "figures": {k: r.model_dump() for k, r in figures.items()}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_the_gate_fails_a_run_whose_central_value_passes_but_p95_does_not(tmp_path, scenario_with, capsys):
    results = write_model_results(tmp_path / "run")
    central = json.loads((results / "summary.json").read_text())["metrics"]["peak(rps.total)"]
    limit = central * 1.5
    ranged = Range(central=central, p05=central * 0.9, p95=central * 2.0)
    scenario = scenario_with([f"peak(rps.total) < {limit:.6g}", "rate(errors) < 1%"])
    assert main(["check", str(results), "--scenario", str(scenario), "--skip-slo"]) == 0  # no ranges
    capsys.readouterr()
    _with_ranges(results, {"peak(rps.total)": ranged})
    junit = tmp_path / "gate.xml"
    assert main(["check", str(results), "--scenario", str(scenario), "--skip-slo",
                 "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "judged at the end of its 90% interval that matters" in out
    assert f"FAIL  peak(rps.total) < {limit:.6g}" in out and "at p95" in out
    assert "pass  rate(errors) < 1%" in out and "actual 0" in out  # no range: its value
    assert "1 of 2 checks pass; GATE FAILS" in out
    failure = ET.parse(junit).getroot().find(".//failure")
    assert failure is not None and "at p95 of its 90% range" in failure.get("message", "")


def test_the_gate_passes_when_even_p95_is_within_the_limit(tmp_path, scenario_with, capsys):
    results = write_model_results(tmp_path / "run")
    central = json.loads((results / "summary.json").read_text())["metrics"]["peak(rps.total)"]
    _with_ranges(results, {"peak(rps.total)": Range(central=central, p05=central * 0.9, p95=central * 1.2)})
    scenario = scenario_with([f"peak(rps.total) < {central * 1.5:.6g}"])
    assert main(["check", str(results), "--scenario", str(scenario), "--skip-slo"]) == 0
    assert "pass  peak(rps.total)" in capsys.readouterr().out
