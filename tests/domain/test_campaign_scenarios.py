"""The campaign scenarios of the multi-campaign platform: they load, every number says where it
comes from, their calendars agree with chinese-calendar, the qualification deadlines fall on
working days, and the combined platform winter 2023 composes them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import chinese_calendar
import pytest

from domain.platform import load_platform
from domain.scenario import ScenarioError, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CAMPAIGNS = ("exempt-2023", "students", "qualification-2020", "summer-2023")
SOURCED = re.compile(r"#.*(\[[\w-]+\]|estimate|as \[|as winter|arbitrary|derived)", re.IGNORECASE)


@pytest.mark.parametrize("name", CAMPAIGNS)
def test_every_number_is_cited_or_an_estimate(name):
    """A line that states a number carries a source or an estimate mark, or belongs to a block
    (a profile, a list of provinces) whose key line does."""
    for number, line in enumerate((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if re.match(r"\s*(name|description|name_zh):", line):
            continue  # text, not figures
        values = re.sub(r'"[^"]*"', "", line.split("#")[0])
        values = re.sub(r"\b(name|description|name_zh|title|id|path|method): [^,}]*", "", values)
        if re.search(r"\d", values) and not SOURCED.search(line):
            assert _block_sourced(name, number), f"{name}.yaml:{number}: {line.strip()}"


def _block_sourced(name: str, line_number: int) -> bool:
    """Whether the nearest less-indented line above (the block's key) cites a source."""
    lines = (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    indent = len(lines[line_number - 1]) - len(lines[line_number - 1].lstrip())
    for line in reversed(lines[: line_number - 1]):
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            if SOURCED.search(line):
                return True
            indent = len(line) - len(line.lstrip())
            if indent == 0:
                return False
    return False


@pytest.mark.parametrize("name", CAMPAIGNS)
def test_the_calendar_agrees_with_chinese_calendar(name):
    cal = load_scenario(SCENARIOS / f"{name}.yaml").calendar
    day = cal.start.date()
    while day < cal.end.date():
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), (name, day)
        day += dt.timedelta(days=1)


def test_qualification_deadlines_fall_on_working_days():
    cal = load_scenario(SCENARIOS / "qualification-2020.yaml").calendar
    assert cal.deadlines == [dt.date(2020, 7, 24), dt.date(2020, 12, 25)]
    for day in cal.deadlines:
        assert chinese_calendar.is_workday(day) and day.weekday() < 5, day
        assert not cal.is_closed(day)


def test_each_qualification_window_lasts_at_least_ten_working_days():
    """[qual]: an online application window lasts at least 10 working days."""
    cal = load_scenario(SCENARIOS / "qualification-2020.yaml").calendar
    windows = ((dt.date(2020, 3, 20), dt.date(2020, 7, 24)), (dt.date(2020, 9, 11), dt.date(2020, 12, 25)))
    for start, end in windows:
        open_days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        working = [d for d in open_days if chinese_calendar.is_workday(d) and not cal.is_closed(d)]
        assert len(working) >= 10


def test_the_qualification_closures_are_the_notices():
    cal = load_scenario(SCENARIOS / "qualification-2020.yaml").calendar
    assert [(c.start, c.end) for c in cal.closures] == [
        (dt.date(2020, 6, 1), dt.date(2020, 6, 7)), (dt.date(2020, 7, 25), dt.date(2020, 9, 10)),
        (dt.date(2020, 10, 1), dt.date(2020, 10, 8))]
    upload = load_scenario(SCENARIOS / "qualification-2020.yaml").platform.endpoint("photo_upload")
    assert upload.request_kb == 200


def test_a_deadline_on_a_weekend_is_refused():
    import yaml

    data = yaml.safe_load((SCENARIOS / "qualification-2020.yaml").read_text(encoding="utf-8"))
    data["calendar"]["deadlines"] = [dt.date(2020, 7, 25)]  # a Saturday (and closed)
    with pytest.raises(ScenarioError, match=r"calendar.deadlines\[0\]: 2020-07-25 is not a working day"):
        parse_scenario(data, "q.yaml")


def test_platform_winter_2023_composes_three_campaigns_that_share_resources():
    plan = load_platform(SCENARIOS / "platform-winter-2023.yaml")
    assert [s.name for s in plan.campaigns] == ["winter-2023", "exempt-2023", "students"]
    exempt = plan.campaign("exempt-2023")
    assert exempt.calendar.start == dt.datetime(2023, 1, 5) and exempt.calendar.end == dt.datetime(2023, 4, 1)
    assert set(exempt.population.sub_platforms) == {"higher", "vocational"}
    assert len(exempt.courses) == 4
    assert set(plan.campaign("students").population.sub_platforms) == {"basic"}
    credit = plan.shared_credit()
    assert credit.accepting("2.1") == (("winter-2023", 2), ("exempt-2023", 12))
    summer = load_scenario(SCENARIOS / "summer-2023.yaml")
    assert summer.rules.credit_cap_hours == 10
    window = (summer.calendar.start.date(), summer.calendar.end.date())
    assert window == (dt.date(2023, 7, 14), dt.date(2023, 9, 1))
