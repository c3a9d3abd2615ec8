"""A scenario's ``behaviour`` section: how teachers arrive and study (profiles, waves, the
deadline rush, sessions), how they react to overload, register, and what administrators do."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from domain.distributions import Distribution
from domain.fields import Day, Seconds, Share, Strict


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
