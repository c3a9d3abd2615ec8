"""The /api/v1 routes: one router per area (``reference.api.routes``), each included straight
into the app under ``/api/v1``.

Not one ``/api/v1`` router holding the areas' routers: FastAPI (0.165) resolves a request
through every level of included routers, checking each level's routes version, so the
extra level cost every request a quarter of its Python calls (measured in process with
``bench/profile_heartbeat.py --asgi``: 752 calls per heartbeat nested, 563 flat).
"""

from fastapi import FastAPI

from reference.api.routes import (
    admin,
    auth,
    campaign,
    certificates,
    me,
    progress,
    quizzes,
    schools,
    sms,
)

PREFIX = "/api/v1"
# The heartbeat first: routes are matched in order and it is by far the most frequent.
AREAS = (progress, sms, schools, auth, me, campaign, quizzes, certificates, admin)


def include_api(app: FastAPI) -> None:
    for area in AREAS:
        app.include_router(area.router, prefix=PREFIX)
