"""Admission control sheds what exceeds the in-flight bound at once (503, Retry-After in real
seconds, counted in /metrics) and serves the rest; /metrics is never shed."""

from __future__ import annotations

import asyncio
import json

from reference.admission import SHED, AdmissionControl


def _scope(path: str) -> dict:
    return {"type": "http", "path": path, "method": "POST", "headers": []}


def test_requests_past_the_bound_are_shed_and_the_rest_served():
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    gate = AdmissionControl(slow_app, max_in_flight=2, names={"/api/v1/progress/heartbeat": "heartbeat"})
    before = SHED.labels("heartbeat")._value.get()

    async def call(path: str) -> tuple[int, dict, bytes]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        await gate(_scope(path), None, send)
        head = sent[0]
        return head["status"], dict(head["headers"]), sent[1]["body"]

    async def scenario():
        admitted = [asyncio.create_task(call("/api/v1/progress/heartbeat")) for _ in range(2)]
        await asyncio.sleep(0)
        shed = await call("/api/v1/progress/heartbeat")
        metrics = asyncio.create_task(call("/metrics"))  # never shed, even now
        await asyncio.sleep(0)
        release.set()
        return [await t for t in admitted], shed, await metrics

    admitted, shed, metrics = asyncio.run(scenario())
    assert [a[0] for a in admitted] == [200, 200] and metrics[0] == 200
    status, headers, body = shed
    assert status == 503 and headers[b"retry-after"] == b"1"
    assert json.loads(body) == {"detail": "server busy: request shed, retry after 1 s", "shed": True,
                                "retry_after_s": 1}
    assert SHED.labels("heartbeat")._value.get() == before + 1
    assert gate.in_flight == 0


def test_the_app_sheds_only_when_a_bound_is_set(settings, clock):
    from fastapi.testclient import TestClient

    from reference.main import create_app

    unbounded = create_app(settings, clock)
    assert all(type(m.cls).__name__ != "AdmissionControl" and m.cls is not AdmissionControl
               for m in unbounded.user_middleware)
    bounded = create_app(settings.model_copy(update={"max_in_flight": 8}), clock)
    assert any(m.cls is AdmissionControl for m in bounded.user_middleware)
    with TestClient(bounded) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/hello").json() == {"hello": "world"}
    unbounded.state.yanxiu.db.dispose()
    bounded.state.yanxiu.db.dispose()


def test_shed_requests_are_counted_under_their_endpoint_names(settings, clock):
    from reference.admission import endpoint_names
    from reference.main import create_app

    app = create_app(settings, clock)
    names = endpoint_names(app)
    assert names["/api/v1/progress/heartbeat"] == "heartbeat" and names["/api/v1/auth/login"] == "login"
    assert names["/metrics"] == "metrics" and not any("{" in path for path in names)
    app.state.yanxiu.db.dispose()
