"""The session gate's timers (reference.api.deps._slot): each request with a session is counted
once per endpoint, its wait for a slot and the time it held one."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import REGISTRY


def _count(name: str, endpoint: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_count", {"endpoint": endpoint}) or 0.0


def _counts() -> tuple[float, float]:
    page = "campaign_page"
    return _count("yanxiu_gate_wait_seconds", page), _count("yanxiu_gate_held_seconds", page)


def _sum(name: str, endpoint: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_sum", {"endpoint": endpoint}) or 0.0


def test_each_request_is_timed_once_at_the_gate(client, platform):
    teacher = platform.enrolled_teacher()
    before = _counts()
    for _ in range(3):
        assert client.get("/api/v1/campaign", headers=teacher["headers"]).status_code == 200
    after = _counts()
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)


def test_a_request_that_found_the_gate_full_records_its_wait(app, platform):
    # One slot, taken by the test for 0.2 s: the page waits that long at the gate, then holds
    # its own slot for its reads only.
    teacher = platform.enrolled_teacher()
    gate = app.state.yanxiu.session_gate

    async def scenario() -> int:
        gate.size = 1
        held = await gate.acquire()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            call = asyncio.ensure_future(client.get("/api/v1/campaign", headers=teacher["headers"]))
            await asyncio.sleep(0.2)
            held.release()
            return (await call).status_code

    waited = _sum("yanxiu_gate_wait_seconds", "campaign_page")
    assert asyncio.run(scenario()) == 200
    waited = _sum("yanxiu_gate_wait_seconds", "campaign_page") - waited
    assert 0.15 <= waited < 1.0  # from when the request reached the gate, after the test began its 0.2 s


def test_a_route_s_own_write_transaction_is_timed_under_its_endpoint(client, platform, database_url):
    """The gate's dependency names the request's endpoint for the pool thread
    (reference.db.WRITING_ENDPOINT): an enrolment's hold of SQLite's write lock is counted as
    the enrolment's (issue 12: the routes' holds per endpoint for the writer's model)."""
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL has no single write lock to time
    teacher = platform.register(platform.school())
    before = _count("yanxiu_write_lock_held_seconds", "enrol")
    assert client.post("/api/v1/campaigns/smoke/enrol", headers=teacher["headers"]).status_code == 201
    assert _count("yanxiu_write_lock_held_seconds", "enrol") - before == 1
