from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from reference.api.deps import ReadSessionDep
from reference.models import School
from reference.schemas.common import Keyword, SubPlatform
from reference.schemas.schools import Redirect, SchoolOut, SchoolSearch

router = APIRouter(prefix="/schools", tags=["schools"])

SUB_PLATFORM_NAMES = {
    "basic": "basic education",
    "higher": "higher education",
    "vocational": "vocational education",
}


def _out(school: School) -> SchoolOut:
    return SchoolOut.model_validate(school, from_attributes=True)


@router.get("", name="school_search")
def search(
    session: ReadSessionDep,
    sub_platform: SubPlatform,
    q: Annotated[Keyword, Query(description="part of the school's name")] = "",
    province: Annotated[Keyword | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SchoolSearch:
    """Schools of a sub-platform whose name contains the keyword, the province's
    "other / temporary unit", and a redirect when the keyword matches only schools of
    another sub-platform."""
    real = select(School).where(School.temporary.is_(False))
    if q:
        real = real.where(School.name.contains(q, autoescape=True))
    if province:
        real = real.where(School.province == province)
    found = session.scalars(
        real.where(School.sub_platform == sub_platform).order_by(School.id).limit(limit)
    ).all()
    schools = [_out(s) for s in found]
    redirect = None
    if not found and q:
        other = session.scalars(
            real.where(School.sub_platform != sub_platform).order_by(School.id).limit(1)
        ).first()
        if other is not None:
            redirect = Redirect(
                sub_platform=other.sub_platform,
                message=f"{other.name} belongs to the {SUB_PLATFORM_NAMES[other.sub_platform]} "
                f"sub-platform; register there",
            )
    if province:
        fallback = session.scalars(
            select(School).where(
                School.temporary.is_(True),
                School.province == province,
                School.sub_platform == sub_platform,
            )
        ).all()
        schools += [_out(s) for s in fallback]
    return SchoolSearch(schools=schools, redirect=redirect)
