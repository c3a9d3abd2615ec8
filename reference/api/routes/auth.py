from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from reference.api.deps import ReadSessionDep, SessionDep, StateDep
from reference.errors import ApiError
from reference.models import School, Teacher
from reference.schemas.auth import Done, LoggedIn, Login, Register, Registered, ResetPassword
from reference.schemas.common import Problem, Responses
from reference.security import hash_password, verify_password
from reference.services.sms import verify_code
from reference.waiting_room import TICKET_HEADER

router = APIRouter(prefix="/auth", tags=["auth"])
ERRORS: Responses = {
    400: {"model": Problem},
    401: {"model": Problem},
    409: {"model": Problem},
    404: {"model": Problem},
}
LOGIN_ERRORS: Responses = {**ERRORS, 429: {"model": Problem}, 503: {"model": Problem}}


def school_for(session, school_id: int, sub_platform: str) -> School:
    school = session.get(School, school_id)
    if school is None:
        raise ApiError(404, f"school_id: no school {school_id}")
    if school.sub_platform != sub_platform:
        raise ApiError(
            409,
            f"school_id: school {school_id} belongs to the {school.sub_platform} "
            f"sub-platform; register there",
            redirect=school.sub_platform,
        )
    return school


@router.post("/register", name="register", status_code=201, responses=ERRORS)
def register(body: Register, state: StateDep, session: SessionDep) -> Registered:
    """Create a teacher account after checking the SMS code. Whether the mobile is taken is
    told only after its code is verified (the caller then owns the phone)."""
    # Hash before touching the database: on SQLite the first query takes the write lock.
    password_hash = hash_password(state.hasher, body.password)
    school = school_for(session, body.school_id, body.sub_platform)
    verify_code(session, state.settings, body.mobile, "register", body.code, state.clock.now())
    if session.scalar(select(Teacher.id).where(Teacher.mobile == body.mobile)) is not None:
        session.commit()  # the code is used up all the same
        raise ApiError(409, "mobile: already registered; log in or reset the password")
    teacher = Teacher(
        mobile=body.mobile,
        password_hash=password_hash,
        real_name=body.real_name,
        id_type=body.id_type,
        id_number=body.id_number,
        sub_platform=body.sub_platform,
        school_id=school.id,
        province=school.province,
        county=school.county,
        role="teacher",
        verified=False,
        created_at=state.clock.now(),
        token_version=0,
    )
    session.add(teacher)
    session.commit()
    token = state.signer.issue(teacher.id, teacher.role, version=teacher.token_version)
    return Registered(teacher_id=teacher.id, token=token)


@router.post("/login", name="login", responses=LOGIN_ERRORS)
def login(body: Login, request: Request, state: StateDep, session: ReadSessionDep) -> LoggedIn:
    """Log in with mobile and password, or mobile and an SMS code (purpose login). With a
    waiting room (reference.waiting_room), a login past its rate is queued first: 429 with a
    position and a ticket to send back in ``X-Queue-Ticket`` after ``Retry-After``."""
    if state.waiting_room is not None:  # before any hashing: the hash is what the room rations
        state.waiting_room.admit(body.mobile, request.headers.get(TICKET_HEADER))
    account = session.execute(
        select(Teacher.id, Teacher.password_hash, Teacher.role, Teacher.token_version).where(
            Teacher.mobile == body.mobile
        )
    ).first()
    session.rollback()  # end the read before hashing
    if body.password is not None:
        # Hash even for an unknown mobile, so timing does not reveal which mobiles exist.
        stored = account.password_hash if account else _dummy_hash(state)
        if not verify_password(state.hasher, stored, body.password) or account is None:
            raise ApiError(401, "wrong mobile or password")
    else:
        # The code first, whether or not the mobile has an account (codes are sent to any
        # phone): a wrong code answers the same either way.
        assert body.code is not None  # Login accepts exactly one of password and code
        with state.db.writer() as writer:
            verify_code(writer, state.settings, body.mobile, "login", body.code, state.clock.now())
            writer.commit()
        if account is None:
            raise ApiError(404, "mobile: no account with this mobile; register first")
    token = state.signer.issue(account.id, account.role, version=account.token_version)
    return LoggedIn(teacher_id=account.id, role=account.role, token=token)


def _dummy_hash(state) -> str:
    if not hasattr(state, "_dummy_hash"):
        state._dummy_hash = hash_password(state.hasher, "not-a-password")
    return state._dummy_hash


@router.post("/reset-password", name="password_reset", responses=ERRORS)
def reset_password(body: ResetPassword, state: StateDep, session: SessionDep) -> Done:
    """Set a new password after checking an SMS code (purpose reset); whether the mobile has
    an account is told only after its code is verified."""
    password_hash = hash_password(state.hasher, body.new_password)
    verify_code(session, state.settings, body.mobile, "reset", body.code, state.clock.now())
    account = session.scalars(select(Teacher).where(Teacher.mobile == body.mobile)).first()
    if account is None:
        session.commit()  # the code is used up all the same
        raise ApiError(404, "mobile: no account with this mobile; register first")
    account.password_hash = password_hash
    session.commit()
    return Done()
