"""Operational endpoints, outside /api/v1: liveness, metrics, and a hello-world baseline
(no database, no auth) that benchmarks compare the real endpoints with."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from sqlalchemy.exc import SQLAlchemyError

from reference import metrics
from reference.api.deps import StateDep
from reference.errors import ApiError

router = APIRouter(tags=["operations"])


@router.get("/healthz", name="health")
def health(state: StateDep) -> dict[str, str | list[str]]:
    try:
        state.db.ping()
    except SQLAlchemyError:  # a balancer or client retries a 503 after Retry-After, as elsewhere
        raise ApiError(503, "database unreachable", retry_after_s=1) from None
    return {"status": "ok", "campaign": state.catalogue.name, "campaigns": state.campaigns.names()}


@router.get("/metrics", name="metrics", response_class=Response)
async def prometheus() -> Response:
    # On the loop's own executor, not on one of the 40 threads the sync routes share: a worker
    # whose routes are all busy still answers (issue 12: a stalled worker's /metrics went
    # unanswered, so the load test had no figures for it).
    body, content_type = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=content_type)


@router.get("/hello", name="hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
