"""Platform scenarios: several campaign files served by one platform at once.

A platform scenario (``kind: platform``) names its campaign files and states the shared
``platform:`` (tiers, endpoints, sub-platforms as the keys of ``heartbeat_interval_s``) and
``service_levels:`` once; each campaign file keeps its own calendar, population, courses,
rules and behaviour (a ``platform:`` section it carries for running alone is replaced by the
platform scenario's). Campaign files are found relative to the platform file.

Contradictions between the campaigns are refused in one line naming the file and the field:
two campaigns with one name, different time zones, a course id in two campaigns, a shared
resource (the same id) with two lengths, a sub-platform that is not on the platform.
Credit on shared resources is shared: ``domain.campaign.SharedCredit``.

``overlaps:`` states which teachers are in two campaigns at once: a ``share`` of one
campaign's participants (``campaign``) also take part in another (``also_in``); their study
on a shared resource counts in both (sim.campaigns). Refused in one line: an unknown or the
same campaign, a campaign overlapping twice or on both sides (a teacher in three campaigns is
not modelled), more teachers in both than ``also_in`` has participants, a province of
``campaign`` that ``also_in`` does not have.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeInt, ValidationError, field_validator

from domain.campaign import Campaign, SharedCredit
from domain.scenario import (
    Platform,
    Scenario,
    ScenarioError,
    ServiceLevels,
    Strict,
    format_error,
    load_scenario,
    parse_scenario,
    read_document,
)


class Overlap(Strict):
    """A ``share`` of ``campaign``'s participants who also take part in ``also_in``."""

    campaign: str
    also_in: str
    share: float = Field(gt=0, le=1)


class PlatformSection(Strict):
    """The platform scenario file itself, before its campaigns are read."""

    kind: Literal["platform"]
    name: str
    description: str = ""
    seed: NonNegativeInt = 0
    campaigns: list[str] = Field(min_length=1)
    platform: Platform
    service_levels: ServiceLevels
    thresholds: list[str] = []  # the CI gate's, on the platform's results (yanxiu check)
    overlaps: list[Overlap] = []  # teachers in two campaigns at once

    @field_validator("thresholds")
    @classmethod
    def _parse_thresholds(cls, texts: list[str]) -> list[str]:
        from domain.thresholds import check_texts

        return check_texts(texts)


@dataclass(frozen=True)
class PlatformScenario:
    """Campaigns on one platform; every campaign's ``platform`` and ``service_levels`` are
    the platform scenario's."""

    name: str
    description: str
    seed: int
    platform: Platform
    service_levels: ServiceLevels
    campaigns: tuple[Scenario, ...]
    files: tuple[str, ...]
    thresholds: tuple[str, ...] = ()
    overlaps: tuple[Overlap, ...] = ()

    def shared_credit(self) -> SharedCredit:
        return SharedCredit(Campaign(s) for s in self.campaigns)

    def campaign(self, name: str) -> Scenario:
        for scenario in self.campaigns:
            if scenario.name == name:
                return scenario
        raise KeyError(name)


def is_platform_document(data: object) -> bool:
    return isinstance(data, dict) and data.get("kind") == "platform"


def load_any(path: str | Path) -> Scenario | PlatformScenario:
    """A campaign scenario, or a platform scenario when the file says ``kind: platform``."""
    data = read_document(path)
    if isinstance(data, dict) and is_platform_document(data):
        return parse_platform(data, Path(path))
    # a campaign scenario with its includes (extends:, behaviour_file:) resolved, as
    # load_scenario reads it (a calibrated platform file extends its scenario)
    return load_scenario(path)


def load_platform(path: str | Path) -> PlatformScenario:
    data = read_document(path)
    if not isinstance(data, dict) or not is_platform_document(data):
        raise ScenarioError(f"{path}: kind: expected 'platform' for a platform scenario")
    return parse_platform(data, Path(path))


def parse_platform(data: dict, path: Path) -> PlatformScenario:
    source = str(path)
    try:
        section = PlatformSection.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {format_error(dict(exc.errors()[0]))}") from None
    subs: set[str] = set(section.platform.heartbeat_interval_s)
    scenarios = []
    for i, name in enumerate(section.campaigns):
        where = f"{source}: campaigns[{i}] ({name})"
        try:
            scenarios.append(_campaign(path.parent / name, data, subs, where))
        except ScenarioError as exc:  # one line that names the platform file and the campaign
            message = str(exc)
            raise ScenarioError(message if message.startswith(where) else f"{where}: {message}") from None
    _cross_check(scenarios, source)
    _check_overlaps(section.overlaps, scenarios, source)
    return PlatformScenario(section.name, section.description, section.seed, section.platform,
                            section.service_levels, tuple(scenarios), tuple(section.campaigns),
                            tuple(section.thresholds), tuple(section.overlaps))


def _campaign(file: Path, data: dict, subs: set[str], where: str) -> Scenario:
    raw = read_document(file)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{file}: <top>: expected a mapping of sections")
    _check_sub_platforms(raw, subs, where)
    raw = copy.deepcopy(raw)
    raw["platform"] = data["platform"]
    raw["service_levels"] = data["service_levels"]
    return parse_scenario(raw, str(file))


def _check_sub_platforms(raw: dict, subs: set[str], where: str) -> None:
    population = raw.get("population")
    shares = population.get("sub_platforms") if isinstance(population, dict) else None
    for sub, share in (shares.items() if isinstance(shares, dict) else ()):
        if share and sub not in subs:
            raise ScenarioError(f"{where}: population.sub_platforms: sub-platform {sub!r} is not on "
                                "the platform (platform.heartbeat_interval_s)")


def _cross_check(scenarios: list[Scenario], source: str) -> None:
    """Contradictions between campaigns, each in one line."""
    seen_names: dict[str, int] = {}
    courses: dict[int, str] = {}
    resources: dict[str, tuple[float, str]] = {}
    zone = scenarios[0].calendar.timezone
    for i, s in enumerate(scenarios):
        where = f"{source}: campaigns[{i}] ({s.name})"
        if s.name in seen_names:
            raise ScenarioError(f"{where}: name: campaign name {s.name!r} is used twice")
        seen_names[s.name] = i
        if s.calendar.timezone != zone:
            raise ScenarioError(f"{where}: calendar.timezone: {s.calendar.timezone} differs from "
                                f"{zone} (one platform, one clock)")
        for j, course in enumerate(s.courses):
            if course.id in courses:
                raise ScenarioError(f"{where}: courses[{j}].id: course id {course.id} is also a course "
                                    f"of {courses[course.id]}")
            courses[course.id] = s.name
            for k, r in enumerate(course.resources):
                length, owner = resources.get(r.id, (r.duration_s, s.name))
                if length != r.duration_s:
                    raise ScenarioError(
                        f"{where}: courses[{j}].resources[{k}].duration_s: shared resource {r.id!r} "
                        f"lasts {r.duration_s:g} s here but {length:g} s in {owner}")
                resources[r.id] = (length, owner)


def participants(scenario: Scenario) -> float:
    """A campaign's participants as stated (teachers x participation; every teacher when
    participation is an outcome of behaviour)."""
    return scenario.population.teachers * float(scenario.population.participation or 1.0)


def _check_overlaps(overlaps: list[Overlap], scenarios: list[Scenario], source: str) -> None:
    by_name = {s.name: s for s in scenarios}
    sides: dict[str, str] = {}
    for i, overlap in enumerate(overlaps):
        where = f"{source}: overlaps[{i}]"
        for field in ("campaign", "also_in"):
            name = getattr(overlap, field)
            if name not in by_name:
                raise ScenarioError(f"{where}.{field}: {name!r} is not a campaign of this platform "
                                    f"({', '.join(by_name)})")
        if overlap.campaign == overlap.also_in:
            raise ScenarioError(f"{where}.also_in: a campaign cannot overlap itself")
        for field, side in (("campaign", "campaign"), ("also_in", "also_in")):
            name = getattr(overlap, field)
            if name in sides:
                raise ScenarioError(f"{where}.{field}: {name!r} is already in overlaps (as {sides[name]}); "
                                    "a teacher in three campaigns is not modelled")
            sides[name] = side
        there = {p.name for p in by_name[overlap.also_in].population.provinces}
        missing = [p.name for p in by_name[overlap.campaign].population.provinces if p.name not in there]
        if missing:
            raise ScenarioError(f"{where}.also_in: province {missing[0]!r} of {overlap.campaign} is not "
                                f"a province of {overlap.also_in} (its teachers are in both)")
        both = overlap.share * participants(by_name[overlap.campaign])
        room = participants(by_name[overlap.also_in])
        if both > room:
            raise ScenarioError(f"{where}.share: {both:,.0f} teachers in both is more than "
                                f"{overlap.also_in}'s {room:,.0f} participants")
