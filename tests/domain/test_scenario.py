"""Scenario loading: every kind of bad file gets one line naming file, field path and problem."""

from __future__ import annotations

import copy
import datetime as dt

import chinese_calendar
import pytest
import yaml

from domain.scenario import ScenarioError, load_scenario
from tests.conftest import SMOKE, WINTER
from yanxiu.cli import main

RAW = yaml.safe_load(WINTER.read_text(encoding="utf-8"))


def _write(tmp_path, data, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _mutated(edit):
    data = copy.deepcopy(RAW)
    edit(data)
    return data


BAD_FILES = {
    "missing field": (lambda d: d["population"].pop("teachers"), "population.teachers: missing field"),
    "wrong type": (
        lambda d: d["population"].__setitem__("teachers", "many"),
        "population.teachers: Input should be a valid integer",
    ),
    "unknown key": (
        lambda d: d["calendar"].__setitem__("finish", "2023-03-01"),
        "calendar.finish: unknown field",
    ),
    "end before start": (
        lambda d: d["calendar"].__setitem__("end", dt.datetime(2022, 11, 1)),
        "calendar: end 2022-11-01 00:00:00 is not after start",
    ),
    "negative duration": (
        lambda d: d["courses"][0]["resources"][0].__setitem__("duration_s", "-01:00"),
        "courses[0].resources[0].duration_s: Input should be greater than 0 (got -60)",
    ),
    "negative wait": (
        lambda d: d["behaviour"]["overload"].__setitem__("abandon_after_s", -5),
        "behaviour.overload.abandon_after_s: negative duration -5",
    ),
    "shares do not sum to 1": (
        lambda d: d["population"]["sub_platforms"].__setitem__("basic", 0.5),
        "population.sub_platforms: shares must sum to 1",
    ),
    "course opens outside window": (
        lambda d: d["courses"][1].__setitem__("opens", dt.date(2023, 4, 1)),
        "courses[1].opens: 2023-04-01 is outside the window",
    ),
    "unknown tier": (
        lambda d: d["platform"]["endpoints"][0]["demand_ms"].__setitem__("cache", 1),
        "platform.endpoints[0].demand_ms: unknown tier 'cache'",
    ),
    "wave in unknown province": (
        lambda d: d["behaviour"]["waves"][2].__setitem__("provinces", ["Atlantis"]),
        "behaviour.waves[2].provinces: unknown province 'Atlantis'",
    ),
    "profile of wrong length": (
        lambda d: d["behaviour"].__setitem__("daily_profile", [1] * 23),
        "behaviour.daily_profile: List should have at least 24 items",
    ),
    "share above 1": (
        lambda d: d["population"].__setitem__("participation", 1.5),
        "population.participation: Input should be less than or equal to 1",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gets_one_line_and_exit_2(case, tmp_path, capsys):
    edit, expected = BAD_FILES[case]
    path = _write(tmp_path, _mutated(edit))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert str(path) in err and expected in err, err
    assert "Traceback" not in err


def test_unreadable_and_non_yaml_files(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "broken.yaml"
    bad.write_text("calendar: {start: [\n")
    assert main(["validate", str(bad)]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    assert main(["validate", str(scalar)]) == 2
    assert "expected a mapping" in capsys.readouterr().err


def test_validate_prints_summary(capsys):
    assert main(["validate", str(WINTER)]) == 0
    out = capsys.readouterr().out
    for needle in ("2022-12-02", "2023-03-01", "13,720,987", "教师直播教学安全", "9 resources",
                   "2 h after 90 min", "certificates issued", "Spring Festival"):
        assert needle in out


def test_durations_match_the_seed(winter):
    course1 = winter.course(1)
    assert len(course1.resources) == 9
    durations = {r.id: r.duration_s for r in course1.resources}
    assert durations["1.1"] == 15 * 60 + 10 and durations["1.2"] == 9 * 60 + 58
    assert durations["2"] == 11 * 60 + 15 and durations["3"] == 25 * 60 + 47
    clips = [durations[f"1.3.{i}"] for i in range(1, 6)]
    assert sum(clips) == 25 * 60 + 47 and min(clips) == 119


def test_calendar_agrees_with_chinese_calendar(winter):
    cal = winter.calendar
    day = cal.start.date()
    while day < cal.end.date():
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_smoke_scenario_loads():
    scenario = load_scenario(SMOKE)
    assert scenario.population.participants == 1800


def test_error_is_a_value_error_with_the_path(tmp_path):
    path = _write(tmp_path, _mutated(lambda d: d.pop("platform")))
    with pytest.raises(ScenarioError, match=r"bad.yaml: platform: missing field"):
        load_scenario(path)
