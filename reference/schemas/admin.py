from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Scope(BaseModel):
    level: Literal["school", "county", "province"]
    province: str
    county: str | None
    school_id: int | None


class CourseCounts(BaseModel):
    course_id: int
    studying: int
    unlocked: int
    passed: int


class AdminProgress(BaseModel):
    campaign: str
    scope: Scope
    teachers: int
    verified: int
    enrolled: int
    completed: int
    studied_hours: float
    credited_hours: float
    courses: list[CourseCounts]


class TeacherChanged(BaseModel):
    teacher_id: int
    school_id: int | None
    verified: bool
