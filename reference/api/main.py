"""The /api/v1 router: one router per area (``reference.api.routes``)."""

from fastapi import APIRouter

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

api_router = APIRouter()
# The heartbeat first: routes are matched in order and it is by far the most frequent.
for area in (progress, sms, schools, auth, me, campaign, quizzes, certificates, admin):
    api_router.include_router(area.router)
