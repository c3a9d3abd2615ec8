from __future__ import annotations

from fastapi import APIRouter

from reference.api.deps import CurrentTeacher, SessionDep, StateDep
from reference.schemas.common import Problem
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.services.progress import record_heartbeat

router = APIRouter(prefix="/progress", tags=["progress"])


@router.post(
    "/heartbeat",
    name="heartbeat",
    responses={403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem}},
)
def heartbeat(
    body: Heartbeat, claims: CurrentTeacher, state: StateDep, session: SessionDep
) -> HeartbeatResult:
    """The player's periodic report; credits at most the server-clock time since the last
    accepted beat of this resource (see reference.services.progress)."""
    return record_heartbeat(session, state.catalogue, claims.account_id, body, state.clock.now())
