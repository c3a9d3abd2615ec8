"""Thresholds are checked when a scenario loads: one line naming thresholds[i], exit 2."""

from __future__ import annotations

import pytest

from domain.scenario import ScenarioError, load_scenario
from yanxiu.cli import main


@pytest.mark.parametrize("name", ["smoke", "winter"])
def test_scenario_files_thresholds_mean_what_they_say(request, name):
    """The CI gate's limits as written in both scenario files: API p95 under 300 ms and errors
    under 1%, judged strictly (the limit itself fails)."""
    from gate.evaluate import evaluate, parse_all

    thresholds = parse_all(request.getfixturevalue(name).thresholds)
    assert [(t.metric, t.op, t.value) for t in thresholds][:2] == [
        ("p95(latency.api)", "<", 300.0), ("rate(errors)", "<", 0.01)]
    judged = {
        (299.9, 0.0099): [True, True],
        (300.0, 0.0): [False, True],
        (1.0, 0.01): [True, False],
    }
    for (latency, errors), passed in judged.items():
        metrics = {"p95(latency.api)": latency, "rate(errors)": errors}
        assert [o.passed for o in evaluate(thresholds[:2], metrics)] == passed


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
