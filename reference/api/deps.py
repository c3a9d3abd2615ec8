"""Reusable dependencies: sessions, the app state, the caller's identity."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from reference.catalogue import CampaignUnknown, Catalogue
from reference.db import WRITING_ENDPOINT
from reference.errors import ApiError
from reference.metrics import GATE_HELD, GATE_WAIT
from reference.models import Teacher
from reference.security import TOKEN_REVOKED, Claims, TokenError
from reference.state import AppState


async def get_state(request: Request) -> AppState:
    return request.app.state.yanxiu


StateDep = Annotated[AppState, Depends(get_state)]


def served(state: AppState, name: str | None) -> Catalogue:
    """The campaign a request names (the server's default when it names none), or 404."""
    try:
        return state.campaigns.get(name)
    except CampaignUnknown as exc:
        raise ApiError(404, f"campaign: {exc}") from None


# endpoint -> its gate histograms' children (labels() validates and locks on every call).
_gate_timers: dict[str, tuple[Any, Any]] = {}


def _timers(request: Request) -> tuple[Any, Any]:
    name = getattr(request.scope.get("route"), "name", None) or "unmatched"
    WRITING_ENDPOINT.set(name)  # the label of its own write transaction's lock hold (reference.db)
    timers = _gate_timers.get(name)
    if timers is None:
        timers = _gate_timers[name] = (GATE_WAIT.labels(name), GATE_HELD.labels(name))
    return timers


async def _slot(state: StateDep, request: Request) -> AsyncIterator[None]:
    # One slot per request (FastAPI caches a dependency within a request), taken on the event
    # loop before any session, given back after the sessions closed (reference.session_gate).
    # Timed (wait, then held) per endpoint: issue 12's sync routes are slow inside the app.
    wait, held = _timers(request)
    asked = time.perf_counter()
    semaphore = await state.session_gate.acquire()
    got = time.perf_counter()
    wait.observe(got - asked)
    try:
        yield
    finally:
        semaphore.release()
        held.observe(time.perf_counter() - got)


SlotDep = Annotated[None, Depends(_slot)]


def _write_session(state: StateDep, _slot: SlotDep) -> Iterator[Session]:
    # Routes commit explicitly before answering, so an acknowledged write is durable;
    # anything left uncommitted (an error) is rolled back when the session closes.
    with state.db.writer() as session:
        yield session


def _read_session(state: StateDep, _slot: SlotDep) -> Iterator[Session]:
    with state.db.reader() as session:
        yield session


SessionDep = Annotated[Session, Depends(_write_session)]
ReadSessionDep = Annotated[Session, Depends(_read_session)]

_bearer = HTTPBearer(auto_error=False, description="token from /api/v1/auth/login")


def bearer_claims(request: Request) -> Claims:
    """The caller's claims from ``Authorization: Bearer <token>``, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
    try:
        return request.app.state.yanxiu.signer.read(token)
    except TokenError as exc:
        raise ApiError(401, str(exc)) from None


async def _claims(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    return bearer_claims(request)


# For the hot path: the same check without the dependency machinery; a route using it
# declares the security scheme in its OpenAPI entry instead.
BEARER_OPENAPI: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


Model = TypeVar("Model", bound=BaseModel)
# FastAPI's own 422 schema (in the document because other routes declare their bodies).
VALIDATION_ERROR = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
}


def json_body_openapi(model: type[BaseModel]) -> dict:
    """The OpenAPI entry of a body that a route reads itself with ``read_body``."""
    schema = {"content": {"application/json": {"schema": model.model_json_schema()}}, "required": True}
    return {"requestBody": schema}


async def read_body(request: Request, model: type[Model]) -> Model:
    """The body validated by pydantic-core straight from the JSON bytes (one pass, no
    ``json.loads`` and no dependency solving); bad input is the same 422 as FastAPI's."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = ("body", *error["loc"])
            if isinstance(error.get("input"), bytes):  # not JSON at all: echo what can be read
                error["input"] = error["input"].decode(errors="replace")
        raise RequestValidationError(errors) from None


def _current(claims: Annotated[Claims, Depends(_claims)], session: ReadSessionDep) -> Claims:
    """The claims, if the account still has the token version they were issued under."""
    version = session.scalar(select(Teacher.token_version).where(Teacher.id == claims.account_id))
    # End the read now: its connection goes back to the pool instead of being held, idle in
    # transaction, while the request waits for a thread to run its route (issue 12).
    session.commit()
    if version != claims.version:
        raise ApiError(401, TOKEN_REVOKED)
    return claims


# The heartbeat does the same check inside its write (reference.services.heartbeat).
CurrentTeacher = Annotated[Claims, Depends(_current)]


def _admin(claims: CurrentTeacher, session: ReadSessionDep) -> Teacher:
    if claims.role == "teacher":
        raise ApiError(403, "administrators only")
    admin = session.get(Teacher, claims.account_id)
    session.commit()  # as in _current; expire_on_commit=False keeps the row loaded
    if admin is None or admin.role != claims.role:
        raise ApiError(403, "administrator account no longer valid")
    return admin


CurrentAdmin = Annotated[Teacher, Depends(_admin)]
