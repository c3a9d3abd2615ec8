"""The honesty checks of a run: generator saturation."""

from __future__ import annotations

from loadtests.summary import cpu_figures


def test_three_seconds_above_ninety_percent_is_saturated():
    assert cpu_figures({"w1": [20, 95, 96, 97, 30], "w2": [10, 10]})["saturated"]


def test_a_single_spike_is_not_saturation():
    figures = cpu_figures({"w1": [20, 99, 40, 98, 30]})
    assert not figures["saturated"] and figures["max"] == 99


def test_no_samples():
    assert cpu_figures({}) == {"max": None, "mean": None, "saturated": False, "processes": 0,
                               "threshold_pct": 90.0}
