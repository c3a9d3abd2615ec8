"""What `yanxiu loadtest` prints of a comparison: the coverage of a tier's measured figure and
a machine busier than the calibration's must reach the engineer, not only summary.json."""

from __future__ import annotations

from calibrate.compare import Comparison
from yanxiu.commands.loadtest import _print_prediction


def test_partial_coverage_and_a_busier_machine_are_printed(capsys):
    comparison = Comparison(
        comparable=True, reason="", calibrated_target="a", tested_target="a",
        tiers={"database": {"predicted": 0.3, "measured": 0.28, "error_pp": 2.0}},
        coverage={"database": "measured over 62% of the replay only (other databases worked: x)"},
        background={"busier": True, "note": "the test ran beside 1.10 cores of other work"})
    _print_prediction(comparison)
    out = capsys.readouterr().out
    assert "utilisation database: measured over 62% of the replay only" in out
    assert "the machine: the test ran beside 1.10 cores" in out


def test_a_machine_like_the_calibrations_says_nothing_of_it(capsys):
    comparison = Comparison(comparable=True, reason="", calibrated_target="a", tested_target="a",
                            background={"busier": False, "test_other_cores": 0.2})
    _print_prediction(comparison)
    assert "the machine" not in capsys.readouterr().out
