from __future__ import annotations

from fastapi import APIRouter, Request, Response

from reference.api.deps import (
    BEARER_OPENAPI,
    VALIDATION_ERROR,
    bearer_claims,
    json_body_openapi,
    read_body,
)
from reference.catalogue import CampaignUnknown
from reference.errors import ApiError
from reference.schemas.common import Problem
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.services.heartbeat import BeatWrite, check_heartbeat

router = APIRouter(prefix="/progress", tags=["progress"])


@router.post(
    "/heartbeat",
    name="heartbeat",
    response_model=HeartbeatResult,
    openapi_extra=BEARER_OPENAPI | json_body_openapi(Heartbeat),
    responses={
        401: {"model": Problem},
        403: {"model": Problem},
        404: {"model": Problem},
        409: {"model": Problem},
        422: VALIDATION_ERROR,
    },
)
async def heartbeat(request: Request) -> Response:
    """The player's periodic report; credits at most the server-clock time since the last
    accepted beat of this resource (see reference.services.heartbeat). Answered only after
    the group commit that wrote it (see reference.committer). The hot path: the token, the
    body and the app state are read without FastAPI's dependency machinery and the answer
    skips response re-validation (each saves a measurable share of the request's CPU)."""
    claims = bearer_claims(request)
    body = await read_body(request, Heartbeat)
    state = request.app.state.yanxiu
    now = state.clock.now()
    campaign = body.campaign
    if campaign is None and request.scope["query_string"]:  # ?campaign= (a load test's route map)
        campaign = request.query_params.get("campaign")
    try:  # one campaign and no name given: the campaign itself, no look-up
        catalogue = state.campaigns.for_beat(campaign, body.resource_id)
    except CampaignUnknown as exc:
        raise ApiError(404, f"campaign: {exc}") from None
    resource = check_heartbeat(catalogue, body, now)
    job = BeatWrite(catalogue, resource, claims.account_id, body, now, claims.version)
    result: HeartbeatResult = await state.committer.submit(job)
    return Response(result.model_dump_json(), media_type="application/json")
