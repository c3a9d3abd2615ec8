"""Identifiability: targets produced by a model run with known parameters, and the fit finds
those parameters again (smoke campaign: ten days, small sample, national weights).

Stated tolerance: the fitted central value within 25% of the truth for both parameters, and
the truth inside the posterior's range. The targets' bands are +-10%, the sample 400 teachers,
so seed noise alone moves a figure by a few per cent; 25% leaves room for the two parameters'
trade-off (longer sessions, fewer of them) that the two figures only partly separate."""

import pytest

from domain.targets import parse_targets
from fit import params
from fit.fitting import FitOptions, fit
from fit.simulations import Job, evaluate

NAMES = ["session_minutes_mean", "gap_hours_mean"]
TRUTH = {"session_minutes_mean": 30.0, "gap_hours_mean": 20.0}


def _unit(values: dict) -> tuple[float, ...]:
    return tuple(params.BY_NAME[n].to_unit(values[n]) for n in NAMES)


def _targets(figures: dict) -> list:
    common = {"relation": "match", "why": "made by a run with known parameters",
              "source": {"document": "tests/fit/test_identifiability.py", "where": "TRUTH"},
              "uncertainty": {"relative": 0.1}}
    return parse_targets({"campaign": "smoke", "targets": [
        {**common, "name": name, "metric": name, "value": figures[name]}
        for name in ("mean_session_minutes", "sessions_per_participant")]})


@pytest.mark.slow  # three smoke runs: ~8 s quiet, ~30 s on a shared machine
def test_the_figures_respond_to_their_parameters(smoke):
    """Each target metric moves with the parameter meant to identify it (the fast check of the
    sampler itself is tests/fit/test_abc.py, on a stand-in simulator)."""
    base = params.fit_data(smoke)
    short = evaluate(base, NAMES, [], 200, Job(_unit({**TRUTH, "session_minutes_mean": 15.0}), 1, 9e9))
    long = evaluate(base, NAMES, [], 200, Job(_unit({**TRUTH, "session_minutes_mean": 60.0}), 1, 9e9))
    assert long["mean_session_minutes"] > 1.5 * short["mean_session_minutes"]
    rare = evaluate(base, NAMES, [], 200, Job(_unit({**TRUTH, "gap_hours_mean": 80.0}), 1, 9e9))
    assert rare["sessions_per_participant"] < short["sessions_per_participant"]


@pytest.mark.slow
def test_fit_recovers_known_parameters(smoke):
    base = params.fit_data(smoke)
    figures = evaluate(base, NAMES, [], 1600, Job(_unit(TRUTH), 99, 9e9))
    options = FitOptions(tuple(NAMES), particles=8, budget=80, generations=5, max_simulated=400,
                         seed=5, workers=2)
    document = fit(smoke, _targets(figures), options, progress=lambda line: None)
    for row in document["posterior"]["parameters"]:
        truth = TRUTH[row["name"]]
        assert row["central"] == pytest.approx(truth, rel=0.25), row
        sample = [r[document["posterior"]["names"].index(row["name"])]
                  for r in document["posterior"]["sample"]]
        assert min(sample) <= truth * 1.1 and max(sample) >= truth * 0.9, row
