from __future__ import annotations

import asyncio
from functools import partial

from fastapi import APIRouter

from reference.api.deps import CurrentTeacher, StateDep
from reference.schemas.common import Problem
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.services.progress import apply_heartbeat, check_heartbeat

router = APIRouter(prefix="/progress", tags=["progress"])


@router.post(
    "/heartbeat",
    name="heartbeat",
    responses={403: {"model": Problem}, 404: {"model": Problem}, 409: {"model": Problem}},
)
async def heartbeat(body: Heartbeat, claims: CurrentTeacher, state: StateDep) -> HeartbeatResult:
    """The player's periodic report; credits at most the server-clock time since the last
    accepted beat of this resource (see reference.services.progress). Answered only after
    the group commit that wrote it (see reference.committer)."""
    resource = check_heartbeat(state.catalogue, body)
    job = partial(
        apply_heartbeat,
        catalogue=state.catalogue,
        resource=resource,
        teacher_id=claims.account_id,
        beat=body,
        now=state.clock.now(),
    )
    return await asyncio.wrap_future(state.committer.submit(job))
