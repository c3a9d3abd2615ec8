"""Scenario files: load a campaign YAML, fill defaults, cross-check, build typed objects.

Everything after ``load_scenario`` works on these frozen models, never on raw dicts.
A bad file raises ``ScenarioError`` whose message names the file, the field path
and what is wrong, in one line.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.behaviour import Behaviour
from domain.documents import BEHAVIOUR_FILE_SECTIONS as BEHAVIOUR_FILE_SECTIONS
from domain.documents import compose_document as compose_document
from domain.documents import first_impossible_number, format_error
from domain.documents import read_document as read_document
from domain.failures import Failures, check_maintenance
from domain.fields import SHARE_TOLERANCE as SHARE_TOLERANCE
from domain.fields import SUB_PLATFORMS as SUB_PLATFORMS
from domain.fields import (
    Day,
    Device,
    Moment,
    ScenarioError,
    Seconds,
    Share,
    Strict,
    SubPlatform,
    check_shares,
)
from domain.platform_spec import BandwidthTier as BandwidthTier
from domain.platform_spec import Bitrate as Bitrate
from domain.platform_spec import Endpoint as Endpoint
from domain.platform_spec import Platform, ServiceLevels, Workload
from domain.platform_spec import PoolTier as PoolTier
from domain.platform_spec import SyncWork as SyncWork
from domain.platform_spec import ThreadWriter as ThreadWriter
from domain.platform_spec import Tier as Tier
from domain.platform_spec import TierSlo as TierSlo
from domain.platform_spec import WorkerThreads as WorkerThreads
from domain.zones import localise

# --- calendar -------------------------------------------------------------------------------


class DateRange(Strict):
    name: str = ""
    start: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


class Calendar(Strict):
    timezone: str = "Asia/Shanghai"
    start: Moment
    end: Moment
    winter_break: DateRange
    holidays: list[DateRange] = []
    makeup_workdays: list[Day] = []
    # Maintenance closures and gaps between windows: access is shut, nobody can use the system.
    closures: list[DateRange] = []
    # Days a stage of the campaign ends on (e.g. an online application window); they must be
    # working days of this calendar (the qualification notice forbids weekends and holidays).
    deadlines: list[Day] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @model_validator(mode="after")
    def _ordered(self) -> Calendar:
        if self.end_at <= self.start_at:  # localized: either may carry its own UTC offset
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def localize(self, moment: dt.datetime) -> dt.datetime:
        return localise(moment, self.zone)

    @property
    def start_at(self) -> dt.datetime:
        return self.localize(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """Exclusive end of the study window."""
        return self.localize(self.end)

    @property
    def window_seconds(self) -> float:
        return (self.end_at - self.start_at).total_seconds()

    def is_holiday(self, day: dt.date) -> bool:
        return any(h.contains(day) for h in self.holidays)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and not self.is_holiday(day)

    def is_closed(self, day: dt.date) -> bool:
        return any(c.contains(day) for c in self.closures)


# --- population -----------------------------------------------------------------------------


class Province(Strict):
    name: str
    weight: PositiveFloat


class Population(Strict):
    teachers: PositiveInt
    # An input, or None when behaviour.participation is "emergent" (then it is an outcome).
    participation: Share | None = None
    returning_share: Share
    sub_platforms: dict[SubPlatform, Share]
    devices: dict[Device, Share]
    provinces: list[Province] = Field(min_length=1)
    schools: PositiveInt

    _shares = field_validator("sub_platforms", "devices")(check_shares)

    @property
    def participants(self) -> int | None:
        """Participants when participation is an input; None when it is an outcome."""
        if self.participation is None:
            return None
        return round(self.teachers * self.participation)


# --- courses --------------------------------------------------------------------------------


class Resource(Strict):
    id: str
    title: str
    duration_s: Seconds = Field(gt=0)


class CreditRule(Strict):
    hours: PositiveFloat
    min_study_minutes: PositiveFloat


class CourseTest(Strict):
    questions: PositiveInt
    attempt_minutes: PositiveFloat
    unlock_after_minutes: NonNegativeFloat | None = None
    full_marks_probability: list[Share] = Field(min_length=1)


class Course(Strict):
    id: PositiveInt
    name: str
    name_zh: str = ""
    opens: Day
    resources: list[Resource] = Field(min_length=1)
    credit: CreditRule
    test: CourseTest
    # False for a course whose "resources" are forms rather than videos (no player, no
    # heartbeats, no video bytes), e.g. the qualification application.
    video: bool = True


class Rules(Strict):
    credit_cap_hours: PositiveFloat
    completion_hours: PositiveFloat
    completion_courses: list[PositiveInt] | Literal["all"] = "all"
    certificates_issued: Moment
    credit_hour_seconds: PositiveFloat = 2700
    # Anti-cheating (domain.campaign.Campaign.play_credit). estimate: players offer 0.5-2x speed;
    # a faster position advance is a seek and earns nothing.
    max_playback_rate: float = Field(default=2.0, ge=1, le=16)
    # estimate: a resource earns at most this many times its length (one re-watch allowed).
    max_credit_multiple: float = Field(default=2.0, ge=1, le=100)
    # One study clock per teacher: plays open at once are credited once (the person is one).
    one_study_clock: bool = True


# --- the whole scenario ---------------------------------------------------------------------


class Scenario(Strict):
    name: str
    description: str = ""
    seed: NonNegativeInt = 0
    calendar: Calendar
    population: Population
    courses: list[Course] = Field(min_length=1)
    rules: Rules
    behaviour: Behaviour
    platform: Platform
    service_levels: ServiceLevels
    thresholds: list[str] = []
    workload: Workload | None = None
    failures: Failures = Failures()  # issue 14's failure modes, all off by default (domain.failures)
    # the fitted behaviour file merged in (load_scenario resolves the path), with its posterior
    behaviour_file: str | None = None

    @field_validator("thresholds")
    @classmethod
    def _parse_thresholds(cls, texts: list[str]) -> list[str]:
        from domain.thresholds import check_texts  # the gate evaluates what this language states

        return check_texts(texts)

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        _cross_check(self)
        return self

    def course(self, course_id: int) -> Course:
        for course in self.courses:
            if course.id == course_id:
                return course
        raise KeyError(course_id)


def _fail(path: str, message: str) -> None:
    raise ValueError(f"@{path}: {message}")


def _cross_check(s: Scenario) -> None:
    """Checks that span sections; each names the field path it is about."""
    window_days = s.calendar.window_seconds / 86400
    if s.behaviour.deadline_rush.days > window_days:
        _fail("behaviour.deadline_rush.days", f"{s.behaviour.deadline_rush.days:g} days is longer than the "
              f"window ({window_days:g} days)")
    ids = [c.id for c in s.courses]
    if len(set(ids)) != len(ids):
        _fail("courses", f"duplicate course ids {sorted(ids)}")
    window = (s.calendar.start.date(), s.calendar.end.date())
    for i, course in enumerate(s.courses):
        if not window[0] <= course.opens < window[1]:
            _fail(f"courses[{i}].opens", f"{course.opens} is outside the window {window[0]}..{window[1]}")
    if s.rules.completion_courses != "all":
        for cid in s.rules.completion_courses:
            if cid not in ids:
                _fail("rules.completion_courses", f"unknown course id {cid}")
    if s.calendar.localize(s.rules.certificates_issued) < s.calendar.end_at:
        _fail("rules.certificates_issued", "certificates are issued only after the window ends")
    _check_participation(s)
    provinces = {p.name for p in s.population.provinces}
    for i, wave in enumerate(s.behaviour.waves):
        for name in wave.provinces:
            if name not in provinces:
                _fail(f"behaviour.waves[{i}].provinces", f"unknown province {name!r}")
        for cid in wave.courses:
            if cid not in ids:
                _fail(f"behaviour.waves[{i}].courses", f"unknown course id {cid}")
    tiers = {t.name for t in s.platform.tiers}
    for i, endpoint in enumerate(s.platform.endpoints):
        for tier in endpoint.demand_ms:
            if tier not in tiers:
                _fail(f"platform.endpoints[{i}].demand_ms", f"unknown tier {tier!r}")
    for tier in s.service_levels.tiers:
        if tier not in tiers:
            _fail("service_levels.tiers", f"unknown tier {tier!r}")
    for sub in s.population.sub_platforms:
        if sub not in s.platform.heartbeat_interval_s:
            _fail("platform.heartbeat_interval_s", f"missing sub-platform {sub!r}")
    _check_closures(s)
    check_maintenance(s.failures, s.calendar.start, s.calendar.end)
    endpoints = {e.name for e in s.platform.endpoints}
    for name in s.behaviour.session_requests:
        if name not in endpoints:
            _fail("behaviour.session_requests", f"unknown endpoint {name!r}")
    if s.workload is not None:
        _check_workload(s)


def _check_workload(s: Scenario) -> None:
    workload = s.workload
    assert workload is not None
    field = "workload.endpoint" if workload.rates_per_s is None else "workload.rates_per_s"
    names = [e.name for e in s.platform.endpoints]
    pools = {t.name for t in s.platform.tiers if t.kind == "pool"}
    for endpoint in workload.rates:
        if endpoint not in names:
            _fail(field, f"unknown endpoint {endpoint!r}")
        demand = s.platform.endpoint(endpoint).demand_ms
        if not any(ms > 0 and tier in pools for tier, ms in demand.items()):
            _fail(field, f"{endpoint!r} has no demand on any pool tier")


def _check_participation(s: Scenario) -> None:
    given = s.population.participation is not None
    if s.behaviour.participation == "input" and not given:
        _fail("population.participation", "missing (needed unless behaviour.participation is emergent)")
    if s.behaviour.participation == "emergent" and given:
        _fail("population.participation", "must be null when behaviour.participation is emergent "
              "(participation is then an outcome)")


def _check_closures(s: Scenario) -> None:
    cal = s.calendar
    first, last = cal.start.date(), cal.end.date()
    for i, closure in enumerate(cal.closures):
        if closure.start < first or closure.end >= last:
            _fail(f"calendar.closures[{i}]", f"{closure.start}..{closure.end} is outside the window "
                  f"{first}..{last}")
    for i, day in enumerate(cal.deadlines):
        if not first <= day < last:
            _fail(f"calendar.deadlines[{i}]", f"{day} is outside the window {first}..{last}")
        if not cal.is_workday(day) or cal.is_closed(day):
            _fail(f"calendar.deadlines[{i}]", f"{day} is not a working day")


# --- loading --------------------------------------------------------------------------------


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: <top>: expected a mapping of sections, got {type(data).__name__}")
    if (found := first_impossible_number(data)) is not None:
        raise ScenarioError(f"{source}: {found[0]}: {found[1]}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {format_error(exc.errors()[0])}") from None


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(compose_document(path), str(path))
