from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, Response

from reference.api.deps import BEARER_OPENAPI, bearer_claims
from reference.schemas.common import Problem
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.services.progress import apply_heartbeat, check_heartbeat

router = APIRouter(prefix="/progress", tags=["progress"])


@router.post(
    "/heartbeat",
    name="heartbeat",
    response_model=HeartbeatResult,
    openapi_extra=BEARER_OPENAPI,
    responses={
        401: {"model": Problem},
        403: {"model": Problem},
        404: {"model": Problem},
        409: {"model": Problem},
    },
)
async def heartbeat(body: Heartbeat, request: Request) -> Response:
    """The player's periodic report; credits at most the server-clock time since the last
    accepted beat of this resource (see reference.services.progress). Answered only after
    the group commit that wrote it (see reference.committer). The hot path: the app state
    comes from the request rather than a dependency and the answer skips FastAPI's response
    re-validation (each saves a measurable share of the request's CPU)."""
    claims = bearer_claims(request)
    state = request.app.state.yanxiu
    resource = check_heartbeat(state.catalogue, body)
    job = partial(
        apply_heartbeat,
        catalogue=state.catalogue,
        resource=resource,
        teacher_id=claims.account_id,
        beat=body,
        now=state.clock.now(),
    )
    result: HeartbeatResult = await state.committer.submit(job)
    return Response(result.model_dump_json(), media_type="application/json")
