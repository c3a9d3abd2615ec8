"""Shared credit in the rules module: one study second counts in every campaign that accepts it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from domain.campaign import Campaign, SharedCredit
from domain.scenario import parse_scenario

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
ZONE = dt.timezone(dt.timedelta(hours=8))


def campaigns() -> tuple[Campaign, Campaign]:
    """smoke (2023-01-03..01-12, resource 1.1 in course 1) and a later campaign (2023-01-08..
    01-20) that has 1.1 in its course 11, which opens 01-10."""
    first = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    second = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    second["name"] = "later"
    second["calendar"].update(start=dt.datetime(2023, 1, 8), end=dt.datetime(2023, 1, 21))
    second["calendar"]["winter_break"] = {"start": dt.date(2023, 1, 9), "end": dt.date(2023, 1, 12)}
    second["rules"]["certificates_issued"] = dt.datetime(2023, 1, 22, 9)
    second["behaviour"]["waves"] = []
    for course, opens in zip(second["courses"], (dt.date(2023, 1, 10), dt.date(2023, 1, 8)), strict=True):
        course["id"] += 10
        course["opens"] = opens
        for r in course["resources"]:
            r["id"] = r["id"] if r["id"] == "1.1" else "x" + r["id"]
    return Campaign(parse_scenario(first)), Campaign(parse_scenario(second))


def at(day: int, hour: int = 20) -> dt.datetime:
    return dt.datetime(2023, 1, day, hour, tzinfo=ZONE)


def test_a_second_counts_in_every_campaign_whose_rules_accept_it():
    credit = SharedCredit(campaigns())
    both = credit.route("1.1", 60.0, at(11), at(11) + dt.timedelta(minutes=1))
    assert both == {"smoke": (1, 60.0), "later": (11, 60.0)}


def test_not_before_the_other_campaigns_course_opens():
    credit = SharedCredit(campaigns())
    assert credit.route("1.1", 60.0, at(9), at(9) + dt.timedelta(minutes=1)) == {"smoke": (1, 60.0)}


def test_not_after_a_window_closes():
    credit = SharedCredit(campaigns())
    assert credit.route("1.1", 60.0, at(15), at(15) + dt.timedelta(minutes=1)) == {"later": (11, 60.0)}


def test_a_claim_across_a_closing_is_cut_for_that_campaign_only():
    credit = SharedCredit(campaigns())
    end = dt.datetime(2023, 1, 13, tzinfo=ZONE)
    routed = credit.route("1.1", 600.0, end - dt.timedelta(seconds=200), end + dt.timedelta(seconds=400))
    assert routed == {"smoke": (1, 200.0), "later": (11, 600.0)}


def test_unshared_resources_count_once():
    credit = SharedCredit(campaigns())
    assert credit.route("2.1", 60.0, at(11), at(11) + dt.timedelta(minutes=1)) == {"smoke": (2, 60.0)}
    assert credit.accepting("nothing") == ()


def test_shared_courses_give_the_shared_share_and_the_accepting_span():
    smoke, later = campaigns()
    routes = SharedCredit([smoke, later]).shared_courses("smoke")
    assert routes[2] == []
    (route,) = routes[1]
    course_s = 910 + 598 + 675 + 1547  # 15:10, 09:58, 11:15, 25:47
    assert route.campaign == "later" and route.course_id == 11
    assert route.fraction == pytest.approx(910 / course_s)
    assert (route.opens_at, route.closes_at) == later.recordable_span(11)


def test_a_campaign_given_twice_is_refused():
    smoke, _ = campaigns()
    with pytest.raises(ValueError, match="given twice"):
        SharedCredit([smoke, smoke])
