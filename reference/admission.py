"""Admission control: a bounded number of requests in flight per worker, the rest shed at once.

Past ``max_in_flight`` requests being served by this worker, a new request is answered 503 with
``Retry-After`` (real seconds) and ``{"detail", "shed": true, "retry_after_s"}`` before any
work is done, instead of queueing until every request times out. A shed heartbeat was not
recorded: the player keeps its position and resends it after the wait (its ``seq`` still rises,
so nothing is credited twice). ``/metrics``, ``/healthz`` and ``/hello`` are never shed, so the
platform stays observable. Shed requests are counted in ``yanxiu_shed_total{endpoint}``.
"""

from __future__ import annotations

import json

from fastapi.routing import iter_route_contexts
from prometheus_client import Counter

SHED = Counter("yanxiu_shed_total", "Requests shed by admission control (503, Retry-After)", ["endpoint"])
NEVER_SHED = ("/metrics", "/healthz", "/hello")


class AdmissionControl:
    """ASGI middleware; ``names`` maps request paths to the contract's endpoint names (a
    bounded label set: any other path is counted as ``other``)."""

    def __init__(self, app, max_in_flight: int, retry_after_s: int = 1, names: dict | None = None) -> None:
        self.app = app
        self.limit = max_in_flight
        self.retry_after_s = retry_after_s
        self.names = names or {}
        self.in_flight = 0
        body = {"detail": f"server busy: request shed, retry after {retry_after_s} s", "shed": True,
                "retry_after_s": retry_after_s}
        self._body = json.dumps(body).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            SHED.labels(self.names.get(scope["path"], "other")).inc()
            await self._shed(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _shed(self, send) -> None:
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(self.retry_after_s).encode()),
                   (b"content-length", str(len(self._body)).encode())]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})


def endpoint_names(app) -> dict[str, str]:
    """Static paths of the app's routes and their names (the shed counter's labels). The
    routes of included routers too: FastAPI keeps them inside ``app.routes`` as included
    routers (a plain walk of ``app.routes`` saw only the documentation pages, so every shed
    request was counted as ``other``)."""
    names = {}
    for route in iter_route_contexts(app.routes):
        if route.path and route.name and "{" not in route.path:
            names[route.path] = route.name
    return names
