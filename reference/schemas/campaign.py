from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class ResourceView(BaseModel):
    id: str
    title: str
    duration_s: float
    watched_s: float
    percent: float


class TestState(BaseModel):
    unlocked: bool
    passed: bool
    attempts: int


class CourseView(BaseModel):
    id: int
    name: str
    opens: dt.date
    open: bool
    credit_hours_max: float
    min_study_s: float
    resources: list[ResourceView]
    studied_s: float
    credited_hours: float
    test: TestState


class CampaignPage(BaseModel):
    campaign: str
    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    enrolled: bool
    courses: list[CourseView]
    studied_hours: float
    credited_hours: float
    complete: bool


class Enrolled(BaseModel):
    campaign: str
    enrolled_at: dt.datetime
    created: bool
