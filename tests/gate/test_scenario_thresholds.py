"""Thresholds are checked when a scenario loads: one line naming thresholds[i], exit 2."""

from __future__ import annotations

import pytest

from domain.scenario import ScenarioError, load_scenario
from yanxiu.cli import main


def test_scenario_files_thresholds_parse(smoke, winter):
    assert smoke.thresholds and winter.thresholds


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        (["p95(latency.api) < 300ms", "rate(errors) < 1 xs"], "thresholds[1]: unknown unit 'xs'"),
        (["p95 < 300"], "thresholds[0]: expected fn(metric)"),
        (["nope(latency.api) < 1"], "thresholds[0]: unknown function 'nope'"),
    ],
)
def test_malformed_threshold_fails_at_load(scenario_with, capsys, thresholds, message):
    path = scenario_with(thresholds)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path}: {message}" in str(info.value)
    assert main(["validate", str(path)]) == 2
    assert message in capsys.readouterr().err
