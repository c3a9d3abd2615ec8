"""reference.admission pinned at its boundary, against the rule its docstring states: at most
``max_in_flight`` requests are served at once by a worker; a request arriving when that many
are in flight is shed (503, ``Retry-After`` in real seconds, a JSON body with its length), and
a request that finishes, answered or failed, frees its place. ``/metrics``, ``/healthz``,
``/hello`` and anything that is not an HTTP request are never shed."""

from __future__ import annotations

import asyncio
import json

import pytest

from reference.admission import SHED, AdmissionControl, endpoint_names


class Held:
    """An app whose requests stay in flight until released (or fail when told to)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[str] = []

    async def __call__(self, scope, receive, send):
        self.seen.append(scope.get("path", scope["type"]))
        await self.release.wait()
        if scope.get("path") == "/boom":
            raise RuntimeError("the app failed")
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})


async def call(gate: AdmissionControl, path: str, kind: str = "http") -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    try:
        await gate({"type": kind, "path": path, "method": "POST", "headers": []}, None, send)
    except RuntimeError:
        return 500, {}, b""
    if not sent:
        return 0, {}, b""
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def run(gate: AdmissionControl, app: Held, holding: list[str], then: list[tuple[str, str]]):
    """``holding`` requests put in flight, then ``then`` (path, kind) sent while they are,
    then everything released: (the held results, the later results)."""

    async def scenario():
        held = [asyncio.create_task(call(gate, p)) for p in holding]
        await asyncio.sleep(0)
        later = [asyncio.create_task(call(gate, p, k)) for p, k in then]
        await asyncio.sleep(0)
        app.release.set()
        return [await t for t in held], [await t for t in later]

    return asyncio.run(scenario())


@pytest.mark.parametrize("limit", [1, 3])
def test_exactly_the_bound_is_served_and_one_more_is_shed(limit):
    app = Held()
    gate = AdmissionControl(app, max_in_flight=limit)
    held, (extra,) = run(gate, app, ["/api/v1/x"] * limit, [("/api/v1/x", "http")])
    assert [h[0] for h in held] == [200] * limit
    assert extra[0] == 503
    assert app.seen == ["/api/v1/x"] * limit  # the shed request never reached the app
    assert gate.in_flight == 0


def test_below_the_bound_nothing_is_shed():
    app = Held()
    gate = AdmissionControl(app, max_in_flight=3)
    held, later = run(gate, app, ["/a"], [("/b", "http")])
    assert [r[0] for r in held + later] == [200, 200]


def test_the_shed_answer_states_its_wait_and_length():
    app = Held()
    gate = AdmissionControl(app, max_in_flight=1, retry_after_s=7)
    _, ((status, headers, body),) = run(gate, app, ["/a"], [("/a", "http")])
    assert status == 503 and headers[b"retry-after"] == b"7"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {"detail": "server busy: request shed, retry after 7 s", "shed": True,
                                "retry_after_s": 7}


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/hello"])
def test_the_observability_paths_are_never_shed(path):
    app = Held()
    gate = AdmissionControl(app, max_in_flight=1)
    _, (result,) = run(gate, app, ["/a"], [(path, "http")])
    assert result[0] == 200


def test_what_is_not_an_http_request_passes_through():
    app = Held()
    gate = AdmissionControl(app, max_in_flight=1)
    _, (result,) = run(gate, app, ["/a"], [("/a", "websocket")])
    assert result[0] == 0 and app.seen == ["/a", "/a"]  # reached the app, not answered 503


def test_a_failed_request_frees_its_place():
    app = Held()
    gate = AdmissionControl(app, max_in_flight=1)
    held, _ = run(gate, app, ["/boom"], [])
    assert held == [(500, {}, b"")] and gate.in_flight == 0
    app.release = asyncio.Event()
    app.release.set()
    assert asyncio.run(call(gate, "/a"))[0] == 200


def test_a_zero_bound_sheds_everything_but_the_observability_paths():
    app = Held()
    app.release.set()
    gate = AdmissionControl(app, max_in_flight=0)
    assert asyncio.run(call(gate, "/a"))[0] == 503
    assert asyncio.run(call(gate, "/healthz"))[0] == 200


def test_shed_requests_are_counted_by_endpoint_name_or_other():
    app = Held()
    gate = AdmissionControl(app, max_in_flight=1, names={"/api/v1/auth/login": "login"})
    login, other = SHED.labels("login")._value.get(), SHED.labels("other")._value.get()
    run(gate, app, ["/a"], [("/api/v1/auth/login", "http"), ("/unnamed", "http"), ("/unnamed", "http")])
    assert SHED.labels("login")._value.get() == login + 1
    assert SHED.labels("other")._value.get() == other + 2


def test_endpoint_names_are_the_static_paths():
    from types import SimpleNamespace

    routes = [SimpleNamespace(path="/api/v1/auth/login", name="login"),
              SimpleNamespace(path="/api/v1/tests/{course_id}", name="test_fetch"),
              SimpleNamespace(name="mounted_without_a_path")]
    assert endpoint_names(SimpleNamespace(routes=routes)) == {"/api/v1/auth/login": "login"}
