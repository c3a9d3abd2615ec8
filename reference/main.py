"""The reference platform's ASGI app: ``create_app()`` (uvicorn: ``--factory``)."""

from __future__ import annotations

from argon2 import PasswordHasher
from fastapi import FastAPI

from reference import errors
from reference.api.routes import ROUTERS, health
from reference.bootstrap import bootstrap
from reference.catalogue import Catalogue
from reference.clock import Clock
from reference.committer import GroupCommitter
from reference.db import Database
from reference.metrics import MetricsMiddleware
from reference.security import TokenSigner, password_hasher
from reference.settings import Settings
from reference.state import AppState
from sim.scenario import load_scenario


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, init_db: bool | None = None
) -> FastAPI:
    settings = settings or Settings.from_env()
    catalogue = Catalogue(load_scenario(settings.scenario))
    db = Database(settings.database_url)
    if init_db if init_db is not None else settings.init_db:
        bootstrap(db, catalogue)
    hasher: PasswordHasher = password_hasher(settings)
    state = AppState(
        settings,
        db,
        catalogue,
        clock or Clock(settings.clock_start, settings.clock_origin, catalogue.rules.zone,
                       settings.clock_rate),
        TokenSigner(settings.secret, settings.token_ttl_s),
        hasher,
        GroupCommitter(db),
    )
    # Metrics go to Prometheus (reference.metrics); FastAPI's native OpenTelemetry hook would
    # otherwise look up the global providers on every request.
    app = FastAPI(
        title="yanxiu reference platform",
        version="1",
        docs_url="/docs",
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.yanxiu = state
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    errors.install(app)
    app.add_middleware(MetricsMiddleware)
    return app
