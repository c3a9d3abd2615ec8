"""Errors as JSON: every refusal is a 4xx whose body says what is wrong.

``ApiError`` carries a status, a ``detail`` and optional extra fields (e.g. ``retry_after_s``).
Database errors that bad input can still provoke (a unique key taken by a concurrent request,
a value the database refuses) become 409/422 instead of a 500; a database that is
unavailable or locked too long becomes 503 with Retry-After (a fault of the server, not of
the request, but still an answer a client can act on).
"""

from __future__ import annotations

import logging
import math
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

log = logging.getLogger("reference")
_E = TypeVar("_E", bound=Exception)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


def _expect(error: Exception, kind: type[_E]) -> _E:
    """Starlette hands every handler a plain ``Exception``; each is registered for one kind."""
    if not isinstance(error, kind):
        raise TypeError(f"{kind.__name__} handler called with {type(error).__name__}") from error
    return error


def _api_error(_request: Request, error: Exception) -> JSONResponse:
    exc = _expect(error, ApiError)
    headers = {}
    if "retry_after_s" in exc.extra:
        headers["Retry-After"] = str(int(float(str(exc.extra["retry_after_s"]))))
    return JSONResponse({"detail": exc.detail, **exc.extra}, exc.status, headers=headers)


def _finite(value: object) -> object:
    """NaN and infinities (Python's JSON reader accepts them) cannot be echoed back as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _invalid(_request: Request, error: Exception) -> JSONResponse:
    exc = _expect(error, RequestValidationError)
    return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, 422)


def _integrity(_request: Request, error: Exception) -> JSONResponse:
    exc = _expect(error, IntegrityError)
    log.info("integrity error: %s", exc.orig)
    return JSONResponse({"detail": "conflicts with existing data (duplicate or missing key)"}, 409)


def _data(_request: Request, error: Exception) -> JSONResponse:
    exc = _expect(error, DataError)
    log.info("data error: %s", exc.orig)
    return JSONResponse({"detail": "a value is not acceptable to the database"}, 422)


def _unavailable(_request: Request, error: Exception) -> JSONResponse:
    exc = _expect(error, OperationalError)
    log.warning("database unavailable: %s", exc.orig)
    return JSONResponse(
        {"detail": "database busy or unavailable, retry later"}, 503, headers={"Retry-After": "1"}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(OperationalError, _unavailable)
