from __future__ import annotations

from fastapi import APIRouter

from reference.api.deps import SessionDep, StateDep
from reference.schemas.common import RateLimited
from reference.schemas.sms import SmsSend, SmsSent
from reference.services.sms import issue_code

router = APIRouter(prefix="/sms", tags=["sms"])


@router.post(
    "/send",
    name="sms_send",
    status_code=202,
    responses={429: {"model": RateLimited}},
)
def send_code(body: SmsSend, state: StateDep, session: SessionDep) -> SmsSent:
    """Send a verification code: one per phone per minute, a daily cap per phone. The answer
    is the same whether or not the phone has an account (202, or 429 by the same limits):
    only the phone's owner, who reads the code, learns that (from the register, login or reset
    that follows), so the endpoint cannot be used to find out which phones are registered."""
    zone = state.catalogue.rules.zone
    issue_code(session, state.settings, zone, body.mobile, body.purpose, state.clock, state.sms_gateway)
    session.commit()
    return SmsSent(sent=True, retry_after_s=state.clock.real_seconds(state.settings.sms_interval_s))
