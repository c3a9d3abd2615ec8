"""Platform scenarios: several campaign files on one platform, and the contradictions refused."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from domain.platform import load_any, load_platform
from domain.scenario import Scenario, ScenarioError

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"


def smoke() -> dict:
    return yaml.safe_load(SMOKE.read_text(encoding="utf-8"))


def second_campaign() -> dict:
    """Smoke renamed, its courses renumbered 11 and 12; resource 1.1 stays shared with smoke."""
    data = smoke()
    data["name"] = "second"
    for course in data["courses"]:
        course["id"] += 10
        for r in course["resources"]:
            if r["id"] != "1.1":
                r["id"] = "b" + r["id"]
    data["rules"]["completion_courses"] = "all"
    data["behaviour"]["waves"] = []
    return data


def write_platform(tmp_path: Path, first: dict, second: dict, **changes) -> Path:
    (tmp_path / "first.yaml").write_text(yaml.safe_dump(first), encoding="utf-8")
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    base = smoke()
    doc = {"kind": "platform", "name": "both", "seed": 3, "campaigns": ["first.yaml", "second.yaml"],
           "platform": base["platform"], "service_levels": base["service_levels"]}
    doc.update(changes)
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_campaigns_load_with_the_platform_section(tmp_path):
    first = smoke()
    first["platform"]["tiers"][0]["servers"] = 999  # a campaign's own platform is replaced
    plan = load_platform(write_platform(tmp_path, first, second_campaign()))
    assert [s.name for s in plan.campaigns] == ["smoke", "second"]
    assert all(s.platform == plan.platform for s in plan.campaigns)
    assert plan.platform.tier("api").servers == 4
    assert plan.shared_credit().accepting("1.1") == (("smoke", 1), ("second", 11))


def test_load_any_keeps_single_campaign_files():
    assert isinstance(load_any(SMOKE), Scenario)


def refusal(tmp_path, first, second, **changes) -> str:
    with pytest.raises(ScenarioError) as info:
        load_platform(write_platform(tmp_path, first, second, **changes))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_shared_resource_with_two_lengths_is_refused(tmp_path):
    second = second_campaign()
    second["courses"][0]["resources"][0]["duration_s"] = "15:11"
    message = refusal(tmp_path, smoke(), second)
    assert "campaigns[1] (second)" in message
    assert "courses[0].resources[0].duration_s: shared resource '1.1' lasts 911 s here but 910 s" in message


def test_overlapping_course_ids_are_refused(tmp_path):
    second = second_campaign()
    second["courses"][1]["id"] = 2
    second["behaviour"]["waves"] = []
    assert "courses[1].id: course id 2 is also a course of smoke" in refusal(tmp_path, smoke(), second)


def test_a_sub_platform_not_on_the_platform_is_refused(tmp_path):
    base = smoke()
    platform = copy.deepcopy(base["platform"])
    del platform["heartbeat_interval_s"]["vocational"]
    first = smoke()
    first["population"]["sub_platforms"] = {"basic": 0.9, "higher": 0.1}
    message = refusal(tmp_path, first, second_campaign(), platform=platform)
    assert "campaigns[1] (second.yaml): population.sub_platforms: sub-platform 'vocational' is not on" \
        in message


def test_two_campaigns_with_one_name_are_refused(tmp_path):
    second = second_campaign()
    second["name"] = "smoke"
    assert "name: campaign name 'smoke' is used twice" in refusal(tmp_path, smoke(), second)


def test_an_unknown_platform_field_names_its_path(tmp_path):
    assert ": platform.heartbeat_interval_s: missing field" in refusal(tmp_path, smoke(), second_campaign(),
                                                                     platform={"tiers": "none"})


def overlapping(tmp_path, *overlaps: dict, first: dict | None = None) -> str:
    return refusal(tmp_path, first or smoke(), second_campaign(), overlaps=list(overlaps))


def test_an_overlap_of_teachers_loads(tmp_path):
    path = write_platform(tmp_path, smoke(), second_campaign(),
                          overlaps=[{"campaign": "second", "also_in": "smoke", "share": 0.4}])
    (overlap,) = load_platform(path).overlaps
    assert (overlap.campaign, overlap.also_in, overlap.share) == ("second", "smoke", 0.4)


@pytest.mark.parametrize(("overlaps", "expected"), [
    ([{"campaign": "third", "also_in": "smoke", "share": 0.5}],
     "overlaps[0].campaign: 'third' is not a campaign of this platform (smoke, second)"),
    ([{"campaign": "smoke", "also_in": "smoke", "share": 0.5}],
     "overlaps[0].also_in: a campaign cannot overlap itself"),
    ([{"campaign": "second", "also_in": "smoke", "share": 0.5},
      {"campaign": "smoke", "also_in": "second", "share": 0.5}],
     "overlaps[1].campaign: 'smoke' is already in overlaps (as also_in); a teacher in three campaigns"),
    ([{"campaign": "second", "also_in": "smoke", "share": 1.5}],
     "overlaps[0].share: Input should be less than or equal to 1"),
    ([{"campaign": "second", "also_in": "smoke", "share": 0}],
     "overlaps[0].share: Input should be greater than 0"),
])
def test_contradicting_overlaps_are_refused(tmp_path, overlaps, expected):
    assert expected in overlapping(tmp_path, *overlaps)


def test_more_teachers_in_both_than_the_other_campaign_has_is_refused(tmp_path):
    first = smoke()
    first["population"]["teachers"] = 10
    first["population"]["schools"] = 2
    message = overlapping(tmp_path, {"campaign": "second", "also_in": "smoke", "share": 0.5}, first=first)
    assert "overlaps[0].share: " in message and "teachers in both is more than smoke's" in message


def test_teachers_of_a_province_the_other_campaign_lacks_are_refused(tmp_path):
    first = smoke()
    first["population"]["provinces"] = first["population"]["provinces"][:1]
    message = overlapping(tmp_path, {"campaign": "second", "also_in": "smoke", "share": 0.5}, first=first)
    assert "overlaps[0].also_in: province" in message and "is not a province of smoke" in message


def test_validate_refuses_an_overlap_in_one_line(tmp_path, capsys):
    from yanxiu.cli import main

    path = write_platform(tmp_path, smoke(), second_campaign(),
                          overlaps=[{"campaign": "second", "also_in": "nobody", "share": 0.5}])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "overlaps[0].also_in: 'nobody' is not a campaign" in err


def test_validate_says_who_is_in_both_campaigns(tmp_path, capsys):
    from yanxiu.cli import main

    path = write_platform(tmp_path, smoke(), second_campaign(),
                          overlaps=[{"campaign": "second", "also_in": "smoke", "share": 0.5}])
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "in both     50% of second's participants (" in out and "also take part in smoke" in out
    write_platform(tmp_path, smoke(), second_campaign())
    assert main(["validate", str(path)]) == 0
    assert "no overlaps stated: no teacher is in two campaigns" in capsys.readouterr().out
