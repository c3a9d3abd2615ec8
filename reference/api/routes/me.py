from __future__ import annotations

from fastapi import APIRouter

from reference.api.deps import CurrentTeacher, ReadSessionDep, SessionDep
from reference.api.routes.auth import school_for
from reference.errors import ApiError
from reference.models import School, Teacher
from reference.schemas.common import Problem
from reference.schemas.profile import Profile, ProfilePatch
from reference.validation import check_id_number

router = APIRouter(prefix="/me", tags=["me"])


def _profile(session, teacher: Teacher) -> Profile:
    school = session.get(School, teacher.school_id) if teacher.school_id else None
    return Profile(
        teacher_id=teacher.id,
        mobile=teacher.mobile,
        real_name=teacher.real_name,
        id_type=teacher.id_type,
        id_number=teacher.id_number,
        sub_platform=teacher.sub_platform,
        school_id=teacher.school_id,
        school_name=school.name if school else None,
        province=teacher.province,
        county=teacher.county,
        role=teacher.role,
        verified=teacher.verified,
    )


def _account(session, claims) -> Teacher:
    teacher = session.get(Teacher, claims.account_id)
    if teacher is None:
        raise ApiError(401, "account no longer exists")
    return teacher


@router.get("", name="profile", responses={401: {"model": Problem}})
def show(claims: CurrentTeacher, session: ReadSessionDep) -> Profile:
    return _profile(session, _account(session, claims))


@router.patch("", name="profile_edit", responses={409: {"model": Problem}, 422: {"model": Problem}})
def edit(body: ProfilePatch, claims: CurrentTeacher, session: SessionDep) -> Profile:
    """Edit the profile; refused (409) once a school administrator verified the teacher."""
    teacher = _account(session, claims)
    if teacher.verified:
        raise ApiError(
            409,
            "profile is locked: verified by the school administrator, "
            "who must remove you from the school first",
        )
    if body.id_number is not None:
        try:
            teacher.id_number = check_id_number(body.id_type or teacher.id_type, body.id_number)
        except ValueError as exc:
            raise ApiError(422, f"id_number: {exc}") from None
        teacher.id_type = body.id_type or teacher.id_type
    if body.real_name is not None:
        teacher.real_name = body.real_name
    if body.school_id is not None:
        school = school_for(session, body.school_id, teacher.sub_platform)
        teacher.school_id, teacher.province, teacher.county = (
            school.id,
            school.province,
            school.county,
        )
    session.commit()
    return _profile(session, teacher)
