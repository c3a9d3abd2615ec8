"""One router per area; ``ROUTERS`` is what the app factory mounts under /api/v1."""

from reference.api.routes import (
    admin,
    auth,
    campaign,
    certificates,
    me,
    progress,
    schools,
    sms,
    tests,
)

ROUTERS = [
    sms.router,
    schools.router,
    auth.router,
    me.router,
    campaign.router,
    progress.router,
    tests.router,
    certificates.router,
    admin.router,
]
