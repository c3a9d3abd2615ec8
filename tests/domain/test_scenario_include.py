"""Scenario includes (extends:, behaviour_file:) and participation as an outcome."""

import pytest
import yaml

from domain.scenario import ScenarioError, load_scenario
from tests.conftest import WINTER


def _write(path, data):
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path):
    child = _write(tmp_path / "child.yaml", {
        "extends": str(WINTER), "name": "winter-basic",
        "population": {"teachers": 1000, "sub_platforms": {"basic": 1.0, "higher": 0.0, "vocational": 0.0}},
        "behaviour": {"waves": []}})
    s, base = load_scenario(child), load_scenario(WINTER)
    assert s.name == "winter-basic" and s.population.teachers == 1000
    assert s.population.sub_platforms["basic"] == 1.0
    assert s.population.devices == base.population.devices  # merged, not replaced
    assert s.behaviour.waves == [] and s.behaviour.dropout == base.behaviour.dropout


def test_behaviour_file_makes_participation_an_outcome(tmp_path):
    fitted = _write(tmp_path / "fitted.yaml", {
        "provenance": {"method": "test"}, "posterior": {"names": []},
        "behaviour": {"participation": "emergent", "dropout": 0.1},
        "population": {"participation": None}})
    child = _write(tmp_path / "child.yaml", {"extends": str(WINTER), "behaviour_file": "fitted.yaml"})
    s = load_scenario(child)
    assert s.behaviour.participation == "emergent" and s.population.participation is None
    assert s.population.participants is None and s.behaviour.dropout == 0.1
    assert s.behaviour_file == str(fitted.resolve())


@pytest.mark.parametrize("data, message", [
    ({"extends": "missing.yaml"}, "extends: "),
    ({"extends": "self.yaml"}, "cycle"),
    ({"extends": 5}, "extends: expected a file path"),
])
def test_bad_includes_are_one_line_naming_the_file(tmp_path, data, message):
    path = _write(tmp_path / "self.yaml", data)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_participation_input_xor_outcome(tmp_path):
    emergent_with_input = _write(tmp_path / "a.yaml", {"extends": str(WINTER),
                                                       "behaviour": {"participation": "emergent"}})
    with pytest.raises(ScenarioError, match="population.participation: must be null"):
        load_scenario(emergent_with_input)
    input_without = _write(tmp_path / "b.yaml", {"extends": str(WINTER),
                                                "population": {"participation": None}})
    with pytest.raises(ScenarioError, match="population.participation: missing"):
        load_scenario(input_without)
