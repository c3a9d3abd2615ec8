"""Cross-validation both ways (fit.crossval, ``yanxiu fit --cross-validate``)."""

import pytest

from domain.scenario import Scenario
from domain.targets import parse_targets
from fit import params
from fit.crossval import Campaign, carried, cross_validate
from fit.fitting import FitOptions
from fit.simulations import Job, evaluate
from records.crossval import CrossValidation
from tests.conftest import ROOT, WINTER
from yanxiu.cli import main

SUMMER = ROOT / "scenarios" / "summer-2022.yaml"
TARGETS = ROOT / "scenarios" / "targets"
NAMES = ("session_minutes_mean",)


def test_the_same_campaign_twice_is_refused(capsys):
    assert main(["fit", str(WINTER), "--targets", str(TARGETS / "winter-2023.yaml"), "--cross-validate",
                 str(WINTER), str(TARGETS / "winter-2023.yaml")]) == 2
    assert "both campaigns are 'winter-2023'" in capsys.readouterr().err


def test_the_other_campaigns_targets_must_be_its_own(capsys):
    assert main(["fit", str(WINTER), "--targets", str(TARGETS / "winter-2023.yaml"), "--cross-validate",
                 str(SUMMER), str(TARGETS / "winter-2023.yaml")]) == 2
    err = capsys.readouterr().err
    assert "targets are for campaign 'winter-2023', the scenario is 'summer-2022'" in err
    assert err.count("\n") == 1


def test_the_returning_share_stays_with_its_campaign():
    assert "returning_share" not in carried(tuple(p.name for p in params.PARAMETERS))
    assert "heartbeat_basic_s" in carried(tuple(p.name for p in params.PARAMETERS))


def _campaign(scenario: Scenario, minutes: float) -> Campaign:
    """Targets made by a run of ``scenario`` whose mean session is ``minutes`` long."""
    unit = (params.BY_NAME[NAMES[0]].to_unit(minutes),)
    figures = evaluate(params.fit_data(scenario), list(NAMES), [], 200, Job(unit, 9, 9e9))
    targets = parse_targets({"campaign": scenario.name, "targets": [{
        "name": "minutes", "metric": "mean_session_minutes", "value": figures["mean_session_minutes"],
        "relation": "match", "uncertainty": {"relative": 0.1}, "why": "made by a run",
        "source": {"document": "tests/fit/test_crossval.py", "where": f"{minutes} minutes"}}]})
    return Campaign(scenario, targets, f"{scenario.name}.yaml", f"{scenario.name}-targets.yaml")


@pytest.mark.slow  # two tiny fits and four smoke runs: ~1.5 min quiet
def test_each_direction_predicts_the_other_and_sees_a_different_behaviour(smoke, tmp_path):
    """Two copies of the smoke campaign whose teachers' sessions last 30 and 60 minutes on average
    (measured: about 28 and 40, sessions end early when a teacher completes): each fit agrees in
    sample and misses the other campaign by about the ratio of the two figures."""
    other = Scenario.model_validate({**smoke.model_dump(mode="json", by_alias=True), "name": "smoke-b"})
    a, b = _campaign(smoke, 30.0), _campaign(other, 60.0)
    ratio = a.targets.targets[0].value / b.targets.targets[0].value
    options = FitOptions(NAMES, particles=4, budget=24, generations=3, max_simulated=100, seed=3, workers=1)
    record = cross_validate(a, b, options, tmp_path, lambda line: None)
    assert CrossValidation.model_validate_json(record.to_text()) == record  # round-trips
    there, back = record.directions
    assert (there.fitted_on, there.predicted, back.fitted_on, back.predicted) == \
        ("smoke", "smoke-b", "smoke-b", "smoke")
    for direction, error in ((there, ratio - 1), (back, 1 / ratio - 1)):
        assert direction.converged and direction.in_sample[0].agrees
        assert (tmp_path / f"{direction.fitted_on}.behaviour.yaml").is_file()
        predicted = direction.out_of_sample[0]
        # seed noise and the fit's +-10% band leave a few percent either way
        assert not predicted.agrees and predicted.error == pytest.approx(error, abs=0.08)
