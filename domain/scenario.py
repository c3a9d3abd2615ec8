"""Scenario files: load a campaign YAML, fill defaults, cross-check, build typed objects.

Everything after ``load_scenario`` works on these frozen models, never on raw dicts.
A bad file raises ``ScenarioError`` whose message names the file, the field path
and what is wrong, in one line.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.distributions import Distribution, ServiceShape
from domain.failures import Failures, check_maintenance
from domain.zones import localise

SubPlatform = Literal["basic", "higher", "vocational"]
SUB_PLATFORMS: tuple[SubPlatform, ...] = ("basic", "higher", "vocational")
Device = Literal["app", "web"]
SHARE_TOLERANCE = 1e-6


class ScenarioError(ValueError):
    """A scenario file that cannot be used; str() is the one-line message."""


def _parse_duration(value: object) -> object:
    """Accept seconds (number) or 'MM:SS' / 'HH:MM:SS' as the seeds print them."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+(:\d{1,2}){1,2}", value.strip()):
        sign = -1 if value.strip().startswith("-") else 1
        seconds = 0
        for part in value.strip().lstrip("-").split(":"):
            seconds = seconds * 60 + int(part)
        return sign * seconds
    return value


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"negative duration {value}")
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), AfterValidator(_non_negative)]


def _not_a_number(value: object) -> object:
    """Pydantic reads a bare number as seconds since 1970; in a scenario it is always a slip."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"expected a date such as 2023-01-03, got the number {value!r}")
    return value


Day = Annotated[dt.date, BeforeValidator(_not_a_number)]
Moment = Annotated[dt.datetime, BeforeValidator(_not_a_number)]
Share = Annotated[float, Field(ge=0, le=1)]


def _check_shares(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
        raise ValueError(f"shares must sum to 1 (got {total:g})")
    return shares


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    _shares = field_validator("sub_platforms", "devices")(_check_shares)

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


# --- behaviour ------------------------------------------------------------------------------


class Wave(Strict):
    name: str
    start: Day
    days: PositiveFloat
    share: Share
    provinces: list[str] = []
    courses: list[PositiveInt] = []


class DeadlineRush(Strict):
    days: PositiveFloat
    factor: float = Field(ge=1)


class Sessions(Strict):
    length_minutes: Distribution
    gap_hours: Distribution
    resources_per_session: Distribution


class OverloadReaction(Strict):
    abandon_after_s: Seconds
    retry_probability: Share
    max_retries: NonNegativeInt
    come_back_after_hours: Distribution
    sms_resend_after_s: Seconds


class Registration(Strict):
    code_entry_s: Distribution
    school_searches: Distribution
    form_s: Distribution


class Administrators(Strict):
    per_school: NonNegativeFloat
    progress_views_per_day: NonNegativeFloat


class Behaviour(Strict):
    daily_profile: list[NonNegativeFloat] = Field(min_length=24, max_length=24)
    weekly_profile: list[NonNegativeFloat] = Field(min_length=7, max_length=7)
    winter_break_factor: PositiveFloat
    holiday_factor: PositiveFloat
    opening_boost: PositiveFloat
    opening_decay_days: PositiveFloat
    waves: list[Wave] = []
    start_delay_days: Distribution
    # "input": population.participation says who takes part and every participant starts.
    # "emergent": every teacher may take part; one whose procrastination (start_delay_days)
    # outlasts the window and whom no wave pushes never starts (sim.population.teachers).
    participation: Literal["input", "emergent"] = "input"
    # Multiplies every wave's share (capped at 1): how hard administrators push, relative to the
    # shares the waves state; fitted (docs/fit.md), so one fitted value carries to any campaign.
    wave_scale: NonNegativeFloat = 1.0
    deadline_rush: DeadlineRush
    dropout: Share
    password_login_share: Share
    sessions: Sessions
    registration: Registration
    overload: OverloadReaction
    administrators: Administrators
    # Requests every session makes besides the study journey (endpoint -> requests per
    # session), e.g. the qualification application's photo upload.
    session_requests: dict[str, NonNegativeFloat] = {}

    @field_validator("daily_profile", "weekly_profile")
    @classmethod
    def _some_activity(cls, profile: list[float]) -> list[float]:
        if sum(profile) <= 0:
            raise ValueError("profile has no activity (all weights are 0)")
        return profile


# --- platform -------------------------------------------------------------------------------


_SHAPES: TypeAdapter = TypeAdapter(ServiceShape)


def _service(value: object) -> object:
    """``service:`` as one clear message: a name, or a shape mapping checked on its own."""
    if isinstance(value, str):
        if value not in ("exponential", "deterministic"):
            raise ValueError(f"expected exponential, deterministic or a shape mapping "
                             f"{{kind: lognormal|gamma|hyperexponential|empirical, ...}} (got {value!r})")
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a name or a mapping (got {type(value).__name__})")
    try:
        return _SHAPES.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


class PoolTier(Strict):
    """Servers (cores, connections, gateway channels) that each serve one request at a time."""

    name: str
    kind: Literal["pool"] = "pool"
    servers: PositiveInt
    # Service-time distribution of a request around its endpoint's demand_ms (the mean):
    # exponential, deterministic, or a mean-1 shape scaled to each endpoint's demand,
    # e.g. {kind: lognormal, scv: 4}, {kind: gamma, scv: 0.5}, {kind: hyperexponential, scv: 4},
    # {kind: empirical, samples: [measured times]} (domain.distributions).
    service: Annotated[Literal["exponential", "deterministic"] | ServiceShape,
                       PlainValidator(_service)] = "exponential"
    # fcfs: each server holds one request at a time; processor-sharing: the servers are cores
    # split evenly among all requests present (an async worker's event loop; sim/tiers/sharing.py);
    # group-commit: each server is a writer that takes every waiting write as one batch and pays
    # commit_ms once per batch (a database's group commit; sim/tiers/batching.py)
    discipline: Literal["fcfs", "processor-sharing", "group-commit"] = "fcfs"
    commit_ms: NonNegativeFloat = 0.0

    @model_validator(mode="after")
    def _commit_needs_batches(self) -> PoolTier:
        if self.commit_ms and self.discipline != "group-commit":
            raise ValueError(f"commit_ms: only for discipline group-commit (got {self.discipline})")
        return self


class BandwidthTier(Strict):
    name: str
    kind: Literal["bandwidth"] = "bandwidth"
    capacity_gbps: PositiveFloat


Tier = Annotated[PoolTier | BandwidthTier, Field(discriminator="kind")]


class Endpoint(Strict):
    name: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    demand_ms: dict[str, NonNegativeFloat]
    # Bytes each request carries (e.g. a photo upload), counted on the bandwidth tiers.
    request_kb: NonNegativeFloat = 0


class Bitrate(Strict):
    name: str
    kbps: PositiveFloat
    share: Share


class Platform(Strict):
    heartbeat_interval_s: dict[SubPlatform, Seconds]
    video_bitrates: list[Bitrate] = Field(min_length=1)
    audio_kbps: NonNegativeFloat = 0
    tiers: list[Tier] = Field(min_length=1)
    endpoints: list[Endpoint] = Field(min_length=1)

    @field_validator("video_bitrates")
    @classmethod
    def _bitrate_shares(cls, rates: list[Bitrate]) -> list[Bitrate]:
        _check_shares({r.name: r.share for r in rates})
        return rates

    def tier(self, name: str) -> PoolTier | BandwidthTier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)

    def endpoint(self, name: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(name)


class TierSlo(Strict):
    p50_ms: PositiveFloat | None = None
    p95_ms: PositiveFloat | None = None
    p99_ms: PositiveFloat | None = None
    max_utilisation: Annotated[float, Field(gt=0, le=1)] = 0.8


class ServiceLevels(Strict):
    tiers: dict[str, TierSlo]
    error_rate: Share


class Workload(Strict):
    """Open workload for queueing experiments: Poisson arrivals at one endpoint (``endpoint``
    and ``rate_per_s``) or at several (``rates_per_s: {endpoint: rate}``), served by the tiers
    at request level (``sim.tiers.requestsim``) instead of simulating the teacher population."""

    kind: Literal["poisson"] = "poisson"
    rate_per_s: PositiveFloat | None = None
    endpoint: str | None = None
    rates_per_s: dict[str, PositiveFloat] | None = None
    duration_s: Seconds = Field(gt=0)
    warmup_s: Seconds = 0
    replications: PositiveInt = 10

    @model_validator(mode="after")
    def _one_form(self) -> Workload:
        single = self.endpoint is not None or self.rate_per_s is not None
        if single and self.rates_per_s is not None:
            raise ValueError("give either endpoint + rate_per_s or rates_per_s, not both")
        if self.rates_per_s is None and (self.endpoint is None or self.rate_per_s is None):
            raise ValueError("needs endpoint and rate_per_s (or rates_per_s for several endpoints)")
        if self.rates_per_s is not None and not self.rates_per_s:
            raise ValueError("rates_per_s: names no endpoint")
        return self

    @property
    def rates(self) -> dict[str, float]:
        """Arrival rate per endpoint (requests/s)."""
        if self.rates_per_s is not None:
            return dict(self.rates_per_s)
        return {str(self.endpoint): float(self.rate_per_s or 0.0)}


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


def _format_error(error: Mapping[str, Any]) -> str:
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error["loc"])
    path = path.replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith("@"):  # a cross-check that names its own path
        path, message = message[1:].split(": ", 1)
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "missing field"
    elif "input" in error and error["type"] not in ("value_error",) and not isinstance(
        error["input"], dict | list
    ):
        message = f"{message} (got {error['input']!r})"
    # Discriminated unions add the chosen tag to the path; it is not a field name.
    return f"{path or '<top>'}: {message}"


# No scenario figure comes near this (13.72 M teachers, 3,000 Gbps, seconds of a window); larger
# ones are slips, and they overflow date and power arithmetic (timedelta, sd**2) in validators.
LARGEST_FIGURE = 1e12


def _impossible_number(value: object) -> str | None:
    if isinstance(value, str):  # pydantic reads "inf" or "1e200" in a number field as a number
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number, got NaN or infinity"
    if abs(value) > LARGEST_FIGURE:
        return f"{float(value):g} is too large for a scenario figure (limit {LARGEST_FIGURE:g})"
    return None


def _first_impossible_number(value: object, path: str = "") -> tuple[str, str] | None:
    """The path of the first NaN, infinity or absurdly large number, and what is wrong. NaN and
    infinity pass pydantic's float bounds (inf > 0); no scenario number means any of them, so
    they are refused before validation, wherever they sit."""
    if (problem := _impossible_number(value)) is not None:
        return path or "<top>", problem
    if isinstance(value, dict):
        # a seed is any integer numpy takes, however large
        children = [(f"{path}.{key}".lstrip("."), child) for key, child in value.items()
                    if not (key == "seed" and isinstance(child, int))]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", child) for i, child in enumerate(value)]
    else:
        children = []
    for child_path, child in children:
        if (found := _first_impossible_number(child, child_path)) is not None:
            return found
    return None


def parse_scenario(data: object, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: <top>: expected a mapping of sections, got {type(data).__name__}")
    if (found := _first_impossible_number(data)) is not None:
        raise ScenarioError(f"{source}: {found[0]}: {found[1]}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_format_error(exc.errors()[0])}") from None


class _ScenarioLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML whose impossible dates (``2023-13-05``) stay text, so the field they sit in
    names the problem instead of the YAML library raising ValueError from deep inside."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> object:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return self.construct_scalar(node)  # type: ignore[arg-type]


_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _ScenarioLoader.construct_yaml_timestamp)


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(compose_document(path), str(path))


# Sections of a fitted behaviour file (``yanxiu fit``) that a scenario takes over; the rest of
# that file (provenance, posterior, fit) is the fit's record, read by ``yanxiu run --ranges``.
BEHAVIOUR_FILE_SECTIONS = ("behaviour", "platform", "population")


def compose_document(path: str | Path, _seen: tuple[Path, ...] = ()) -> object:
    """A scenario's YAML with its includes resolved: ``extends: FILE`` (a base scenario, merged
    under this one) and ``behaviour_file: FILE`` (a fitted behaviour file, merged over the base
    and under this file's own keys); paths are relative to the including file. Mappings merge
    key by key, anything else is replaced."""
    path = Path(path)
    data = read_document(path)
    if not isinstance(data, dict) or not ({"extends", "behaviour_file"} & data.keys()):
        return data
    if path.resolve() in _seen:
        raise ScenarioError(f"{path}: extends: includes itself (cycle)")
    seen = (*_seen, path.resolve())
    own = dict(data)
    base: dict = {}
    if "extends" in own:
        base = _included(path, own.pop("extends"), "extends", seen)
    if own.get("behaviour_file") is not None:
        fitted = _included(path, own["behaviour_file"], "behaviour_file", seen)
        unknown = set(fitted) - set(BEHAVIOUR_FILE_SECTIONS) - {"provenance", "posterior", "fit"}
        if unknown:
            raise ScenarioError(f"{path}: behaviour_file: {sorted(unknown)[0]}: unknown section")
        base = _merge(base, {k: fitted[k] for k in BEHAVIOUR_FILE_SECTIONS if k in fitted})
        own["behaviour_file"] = str((path.parent / str(own["behaviour_file"])).resolve())
    return _merge(base, own)


def _included(path: Path, name: object, key: str, seen: tuple[Path, ...]) -> dict:
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{path}: {key}: expected a file path")
    try:
        data = compose_document(path.parent / name, seen)
    except ScenarioError as exc:  # name the including file first: that is the one the user gave
        raise ScenarioError(f"{path}: {key}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: {key}: {name} is not a mapping")
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_document(path: str | Path) -> object:
    """A scenario file's YAML as plain data (``ScenarioError`` naming the file when unreadable)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - safe: a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ScenarioError(f"{path}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}") from None
    return data
