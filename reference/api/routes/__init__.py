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

# The heartbeat first: routes are matched in order and it is by far the most frequent.
ROUTERS = [
    progress.router,
    sms.router,
    schools.router,
    auth.router,
    me.router,
    campaign.router,
    tests.router,
    certificates.router,
    admin.router,
]
