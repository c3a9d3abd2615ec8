"""The reference platform's ASGI app: ``create_app()`` (uvicorn: ``--factory``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI

from reference import errors, gc_policy, loop_lag
from reference.admission import AdmissionControl, endpoint_names
from reference.api.main import include_api
from reference.api.routes import health
from reference.clock import Clock
from reference.metrics import MetricsMiddleware
from reference.settings import Settings
from reference.state import AppState


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, init_db: bool | None = None
) -> FastAPI:
    settings = settings or Settings.from_env()
    loop_lag.set_switch_interval(settings.switch_interval_s)
    gc_policy.install_timer()  # yanxiu_gc_pause_seconds from the app's build on
    # Metrics go to Prometheus (reference.metrics); FastAPI's native OpenTelemetry hook would
    # otherwise look up the global providers on every request.
    app = FastAPI(
        title="yanxiu reference platform",
        version="1",
        docs_url="/docs",
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=_lifespan(settings),
    )
    app.state.yanxiu = AppState.build(settings, clock, init_db)
    include_api(app)
    app.include_router(health.router)
    errors.install(app)
    settings = app.state.yanxiu.settings
    app.add_middleware(MetricsMiddleware, route_cpu=settings.route_cpu)
    limit = settings.max_in_flight
    if limit:  # outermost: a shed request costs no routing, no metrics middleware, no database
        app.add_middleware(AdmissionControl, max_in_flight=limit, names=endpoint_names(app))
    return app


def _lifespan(settings: Settings) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The worker's start and stop: its collector's policy once it is up (everything imported
    and built, before its first request), then the loop's lag probe while it serves."""
    probing = loop_lag.lifespan(settings.loop_lag_interval_s)

    @contextlib.asynccontextmanager
    async def serving(app: Any) -> AsyncIterator[None]:
        gc_policy.apply(settings.gc_policy)
        async with probing(app):
            yield

    return serving
