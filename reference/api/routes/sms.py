from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from reference.api.deps import SessionDep, StateDep
from reference.errors import ApiError
from reference.models import Teacher
from reference.schemas.common import Problem, RateLimited
from reference.schemas.sms import SmsSend, SmsSent
from reference.services.sms import RecordingGateway, issue_code

router = APIRouter(prefix="/sms", tags=["sms"])
gateway = RecordingGateway()


@router.post(
    "/send",
    name="sms_send",
    status_code=202,
    responses={409: {"model": Problem}, 404: {"model": Problem}, 429: {"model": RateLimited}},
)
def send_code(body: SmsSend, state: StateDep, session: SessionDep) -> SmsSent:
    """Send a verification code: one per phone per minute, a daily cap per phone."""
    exists = session.scalar(select(Teacher.id).where(Teacher.mobile == body.mobile)) is not None
    if body.purpose == "register" and exists:
        raise ApiError(409, "mobile: already registered; log in or reset the password")
    if body.purpose != "register" and not exists:
        raise ApiError(404, "mobile: no account with this mobile; register first")
    issue_code(
        session,
        state.settings,
        state.catalogue.rules.zone,
        body.mobile,
        body.purpose,
        state.clock.now(),
        gateway,
    )
    session.commit()
    return SmsSent(sent=True, retry_after_s=int(state.settings.sms_interval_s))
