from __future__ import annotations

from pydantic import BaseModel

from reference.schemas.common import SubPlatform


class SchoolOut(BaseModel):
    id: int
    name: str
    province: str
    county: str
    sub_platform: SubPlatform
    temporary: bool


class Redirect(BaseModel):
    sub_platform: SubPlatform
    message: str


class SchoolSearch(BaseModel):
    schools: list[SchoolOut]
    redirect: Redirect | None
