"""What `yanxiu loadtest` prints of a comparison: the coverage of a tier's measured figure and
a machine busier than the calibration's must reach the engineer, not only summary.json."""

from __future__ import annotations

from records.prediction import Prediction
from yanxiu.commands.loadtest import _print_prediction


def test_partial_coverage_and_a_busier_machine_are_printed(capsys):
    comparison = Prediction(
        comparable=True, reason="", calibrated_target="a", tested_target="a",
        tiers={"database": {"predicted": 0.3, "measured": 0.28, "error_pp": 2.0}},
        coverage={"database": "measured over 62% of the replay only (other databases worked: x)"},
        background={"busier": True, "test_other_cores": 1.1,
                    "note": "the test ran beside 1.10 cores of other work"})
    _print_prediction(comparison)
    out = capsys.readouterr().out
    assert "utilisation database: measured over 62% of the replay only" in out
    assert "the machine: the test ran beside 1.10 cores" in out


def test_a_machine_like_the_calibrations_says_nothing_of_it(capsys):
    comparison = Prediction(comparable=True, reason="", calibrated_target="a", tested_target="a",
                            background={"busier": False, "test_other_cores": 0.2})
    _print_prediction(comparison)
    assert "the machine" not in capsys.readouterr().out


def test_requests_off_the_plan_beyond_noise_are_named_on_one_line(capsys):
    from records.loadtest import RequestsVsPlan
    from tests.loadtests.test_requests import _summary
    from yanxiu.commands.loadtest import _print_plan

    row = RequestsVsPlan(planned=60.0, achieved=77, ratio=77 / 60, in_stretch=72.0, stretch_ratio=1.2,
                         on_plan=False, judgement="whole stretch 1.20x, NOT within 10%, beyond noise")
    summary = _summary({"test_submit": 77}).model_copy(update={
        "requests_vs_plan": {"test_submit": row}, "requests_off_plan": [f"test_submit: {row.judgement}"]})
    _print_plan(summary)
    out = capsys.readouterr().out
    assert "test_submit            72 /      60.0 (1.20x): whole stretch 1.20x" in out  # not Locust's 77
    assert "requests   NOT on the model's plan beyond sampling noise: test_submit" in out
