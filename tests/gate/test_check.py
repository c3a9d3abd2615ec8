"""`yanxiu check`: pass, breach, regression, malformed and missing input, JUnit XML."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import SMOKE
from tests.report.builder import write_model_results
from yanxiu.cli import main


def test_passing_results_exit_0_and_print_a_table(passing, capsys):
    assert main(["check", str(passing)]) == 0
    out = capsys.readouterr().out
    assert "pass  p95(latency.api) < 300ms" in out
    assert "pass  rate(errors) < 1%" in out
    assert "pass  slo(api)" in out and "met: 100.00% of" in out  # the service levels, gated by default
    assert "5 of 5 checks pass" in out


def test_a_breach_exits_1_and_names_it(tmp_path, capsys):
    slow = write_model_results(tmp_path / "slow", metrics={"p95(latency.api)": 450.0})
    assert main(["check", str(slow)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  p95(latency.api) < 300ms" in out and "actual 450ms" in out
    assert "GATE FAILS" in out


def test_scenario_option_overrides_the_one_in_the_summary(passing, scenario_with, capsys):
    strict = scenario_with(["share(certified) > 95%", "peak(sms_per_s) < 2000",
                            "max(utilisation.api) < 0.75"])
    assert main(["check", str(passing), "--scenario", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  share(certified) > 95%" in out and "actual 93%" in out
    assert "pass  peak(sms_per_s) < 2000" in out


def test_a_regression_against_the_baseline_exits_1(passing, tmp_path, capsys):
    heavier = write_model_results(tmp_path / "heavier", load=1.3)
    assert main(["check", str(heavier), "--baseline", str(passing), "--max-regression", "10%"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  peak(rps.total)" in out and "worse by 30.0%" in out
    # direction: more certified teachers is better, so share(certified) did not regress
    assert "pass  share(certified)" in out
    # the same folder against itself, or a looser limit, passes
    assert main(["check", str(passing), "--baseline", str(passing)]) == 0
    assert main(["check", str(heavier), "--baseline", str(passing), "--max-regression", "80%"]) == 0


def test_fewer_certified_is_a_regression(passing, tmp_path, capsys):
    worse = write_model_results(tmp_path / "worse", certified_share=0.80)
    assert main(["check", str(worse), "--baseline", str(passing), "--max-regression", "5%"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  share(certified)" in out


def test_a_malformed_threshold_is_bad_input(passing, scenario_with, capsys):
    bad = scenario_with(["p95(latency.api) < 300ms", "rate(errors) < 1 xs"])
    assert main(["check", str(passing), "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "thresholds[1]: unknown unit 'xs'" in err and "rate(errors) < 1 xs" in err


def test_an_unknown_metric_names_the_threshold(passing, scenario_with, capsys):
    odd = scenario_with(["p95(latency.nowhere) < 300ms"])
    assert main(["check", str(passing), "--scenario", str(odd)]) == 2
    err = capsys.readouterr().err
    assert "thresholds[0] 'p95(latency.nowhere) < 300ms': no metric 'p95(latency.nowhere)'" in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nowhere", "no such results folder"),
        (lambda d: d, "summary.json: missing"),
    ],
)
def test_missing_results_are_bad_input(tmp_path, capsys, make, message):
    assert main(["check", str(make(tmp_path))]) == 2
    assert message in capsys.readouterr().err


def test_bad_summary_and_options_are_bad_input(passing, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(passing, broken)
    (broken / "summary.json").write_text("{not json", encoding="utf-8")
    assert main(["check", str(broken)]) == 2
    assert "not readable JSON" in capsys.readouterr().err
    (broken / "summary.json").write_text(json.dumps({"kind": "model"}), encoding="utf-8")
    assert main(["check", str(broken)]) == 2
    assert "no version (written before versioned records)" in capsys.readouterr().err
    summary = json.loads((passing / "summary.json").read_text(encoding="utf-8"))
    del summary["metrics"]
    (broken / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(["check", str(broken)]) == 2
    assert "summary.json: metrics: Field required" in capsys.readouterr().err
    (broken / "summary.json").write_text(json.dumps({**summary, "version": 2}), encoding="utf-8")
    assert main(["check", str(broken)]) == 2
    assert "version 2; this yanxiu reads version 1" in capsys.readouterr().err
    assert main(["check", str(passing), "--baseline", str(passing), "--max-regression", "lots"]) == 2
    assert "--max-regression" in capsys.readouterr().err
    assert main(["check", str(passing), "--baseline", str(tmp_path / "gone")]) == 2
    assert "no such results folder" in capsys.readouterr().err


def test_the_recorded_scenario_file_is_read_and_never_guessed_from_the_name(passing, tmp_path, capsys):
    named = tmp_path / "named"
    shutil.copytree(passing, named)
    summary = json.loads((named / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario_path"] == str(SMOKE)
    assert main(["check", str(named)]) == 0
    summary["scenario_path"] = str(tmp_path / "moved.yaml")  # scenarios/smoke.yaml exists: not used
    (named / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(["check", str(named)]) == 2
    assert "moved.yaml not found" in capsys.readouterr().err
    assert main(["check", str(named), "--scenario", str(SMOKE)]) == 0


def test_junit_xml_has_one_testcase_per_check(passing, tmp_path):
    slow = write_model_results(tmp_path / "slow", metrics={"p95(latency.api)": 450.0})
    report = tmp_path / "ci" / "gate.xml"
    assert main(["check", str(slow), "--baseline", str(passing), "--junit", str(report)]) == 1
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    thresholds = [c for c in cases if c.get("classname") == "thresholds"]
    regressions = [c for c in cases if c.get("classname") == "regression"]
    assert [c.get("name") for c in thresholds] == ["p95(latency.api) < 300ms", "rate(errors) < 1%"]
    failure = thresholds[0].find("failure")
    assert failure is not None and "450ms" in failure.get("message")
    assert thresholds[1].find("failure") is None
    failed = {c.get("name") for c in regressions if c.find("failure") is not None}
    assert failed == {"p95(latency.api)"}  # 60 ms -> 450 ms; everything else is unchanged
    assert len(regressions) == len(json.loads((passing / "summary.json").read_text())["metrics"])
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == 2
    assert root.get("failures") == "2"


def test_load_test_results_are_gated_alike(passing, scenario_with, tmp_path, capsys):
    from tests.report.builder import write_loadtest_results

    measured = write_loadtest_results(tmp_path / "lt", passing)
    both = scenario_with(["p95(latency.all) < 300ms", "rate(errors) < 1%", "share(certified) > 90%"])
    report = tmp_path / "gate.xml"
    # no --allow-missing needed: a load test skips the model's metrics it does not measure
    argv = ["check", str(measured), "--scenario", str(both), "--junit", str(report)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pass  p95(latency.all) < 300ms" in out and "actual 57ms" in out
    assert "skip  share(certified) > 90%" in out and "2 of 2 checks pass, 1 skipped" in out
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == ["share(certified) > 90%"]
    strict = scenario_with(["p95(latency.all) < 50ms"], name="strict.yaml")
    assert main(["check", str(measured), "--scenario", str(strict)]) == 1


def test_an_unknown_metric_message_is_short_and_suggests(passing, scenario_with, capsys):
    typo = scenario_with(["p95(latency.apii) < 300ms"])
    assert main(["check", str(passing), "--scenario", str(typo)]) == 2
    err = capsys.readouterr().err
    assert "did you mean p95(latency.api)" in err and len(err) < 300, err


@pytest.mark.parametrize(("text", "ok"), [("10%", 0.10), ("0.10", 0.10), ("0.5", 0.5), ("0%", 0.0),
                                          ("10", None), ("1", None), ("-5%", None), ("nan", None)])
def test_max_regression_takes_a_percentage_or_a_fraction_never_a_bare_10(text, ok):
    from gate.evaluate import GateError, parse_fraction

    if ok is None:
        with pytest.raises(GateError, match="--max-regression"):
            parse_fraction(text)
    else:
        assert parse_fraction(text) == pytest.approx(ok)


def test_bare_10_is_refused_as_ambiguous(passing, capsys):
    assert main(["check", str(passing), "--baseline", str(passing), "--max-regression", "10"]) == 2
    err = capsys.readouterr().err
    assert "ambiguous" in err and "10%" in err and "0.1" in err


def test_an_improvement_is_reported_as_one(passing, tmp_path, capsys):
    lighter = write_model_results(tmp_path / "lighter", load=0.8)
    assert main(["check", str(lighter), "--baseline", str(passing)]) == 0
    out = capsys.readouterr().out
    assert "pass  peak(rps.total)" in out and "better by 20.0%" in out
    assert "worse by -" not in out


def test_a_missed_service_level_fails_the_gate(tmp_path, capsys):
    summary_path = write_model_results(tmp_path / "missed") / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["slo"]["database"].update(compliant=False, compliant_minutes_share=0.5537,
                                      worst_minute_p95_ms=119.8)
    summary_path.write_text(json.dumps(summary))
    junit_file = tmp_path / "gate.xml"
    assert main(["check", str(summary_path.parent), "--junit", str(junit_file)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  slo(database)" in out and "MISSED: 55.37% of" in out and "119.8 ms vs 50 ms" in out
    slo_cases = {c.get("name"): c for c in ET.parse(junit_file).getroot().iter("testcase")
                 if c.get("classname") == "slo"}
    assert slo_cases["slo(database)"].find("failure") is not None
    assert slo_cases["slo(api)"].find("failure") is None
    assert main(["check", str(summary_path.parent), "--skip-slo"]) == 0


def test_a_change_of_seed_passes_and_a_real_regression_fails(tmp_path, capsys):
    """With replications, each metric moves within its 95% interval when only the seed changes
    (here ±15%: more than the 10% limit, so a plain relative rule would fail)."""
    base = write_model_results(tmp_path / "base", seed=1, noise=0.15)
    reseeded = write_model_results(tmp_path / "reseeded", seed=2, noise=0.15)
    assert main(["check", str(reseeded), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "within seed noise" in out and "replication means" in out and "note: no replication" not in out
    heavier = write_model_results(tmp_path / "heavier", seed=3, noise=0.15, load=1.6)
    assert main(["check", str(heavier), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  peak(rps.total)" in out and "GATE FAILS" in out
    # the same two single runs without intervals: the seed's noise alone breaks a 10% limit
    plain_base = write_model_results(tmp_path / "plain-base", seed=1)
    plain_now = write_model_results(tmp_path / "plain-now", seed=1, metrics={"peak(rps.total)": 9.9})
    assert main(["check", str(plain_now), "--baseline", str(plain_base)]) == 1
    assert "note: no replication intervals" in capsys.readouterr().out


def test_write_baseline_creates_and_refreshes_it(passing, tmp_path, capsys):
    target = tmp_path / "baseline"
    assert main(["check", str(passing), "--write-baseline", str(target)]) == 0
    assert (target / "summary.json").read_text() == (passing / "summary.json").read_text()
    assert main(["check", str(passing), "--baseline", str(target)]) == 0
    slow = write_model_results(tmp_path / "slow", metrics={"p95(latency.api)": 450.0})
    assert main(["check", str(slow), "--write-baseline", str(target)]) == 1
    assert "baseline NOT written" in capsys.readouterr().out
    assert (target / "summary.json").read_text() == (passing / "summary.json").read_text()
