from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from reference.api.deps import CurrentAdmin, ReadSessionDep, SessionDep, StateDep, served
from reference.models import Teacher
from reference.schemas.admin import AdminProgress, TeacherChanged
from reference.schemas.common import CampaignName, DbId, Keyword, Problem, Responses
from reference.services.admin import own_teacher, progress, resolve_scope

router = APIRouter(prefix="/admin", tags=["admin"])
ERRORS: Responses = {403: {"model": Problem}, 404: {"model": Problem}}
TeacherId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/progress", name="admin_progress", responses=ERRORS)
def show_progress(
    admin: CurrentAdmin,
    state: StateDep,
    session: ReadSessionDep,
    school_id: Annotated[DbId | None, Query()] = None,
    county: Annotated[Keyword | None, Query()] = None,
    province: Annotated[Keyword | None, Query()] = None,
    campaign: Annotated[CampaignName | None, Query()] = None,
) -> AdminProgress:
    """Aggregated progress of the teachers in the caller's school, county or province, in one
    campaign (default: the server's first)."""
    catalogue = served(state, campaign)
    scope = resolve_scope(session, admin, school_id, county, province)
    return progress(session, catalogue, scope)


@router.post("/teachers/{teacher_id}/verify", name="admin_verify", responses=ERRORS)
def verify(teacher_id: TeacherId, admin: CurrentAdmin, session: SessionDep) -> TeacherChanged:
    """Confirm a teacher of one's own school; locks the teacher's profile."""
    teacher = own_teacher(session, admin, teacher_id)
    teacher.verified = True
    session.commit()
    return TeacherChanged(teacher_id=teacher.id, school_id=teacher.school_id, verified=True)


@router.delete("/teachers/{teacher_id}", name="admin_remove", responses=ERRORS)
def remove(teacher_id: TeacherId, admin: CurrentAdmin, session: SessionDep) -> TeacherChanged:
    """Take a teacher out of one's school; unlocks the profile for correction and revokes the
    teacher's tokens (signing in again gives a new one)."""
    teacher = own_teacher(session, admin, teacher_id)
    teacher.school_id, teacher.verified = None, False
    teacher.token_version = Teacher.token_version + 1
    session.commit()
    return TeacherChanged(teacher_id=teacher.id, school_id=None, verified=False)
