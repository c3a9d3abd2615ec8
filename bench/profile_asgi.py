"""In-process ASGI calls for bench/profile_heartbeat.py: requests handed straight to the app
(no socket, no uvicorn), a round's beats concurrent so that the committer batches them."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time


def _scope(path: str, method: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"bench"), *headers], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80), "state": {}}


async def _call(app, scope: dict, body: bytes) -> int:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


async def _beats(app, beats: list[tuple[str, bytes]]) -> list[int]:
    calls = []
    for token, raw in beats:
        headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode()),
                   (b"content-length", str(len(raw)).encode())]
        calls.append(_call(app, _scope("/api/v1/progress/heartbeat", "POST", headers), raw))
    return await asyncio.gather(*calls)


_loop: asyncio.AbstractEventLoop | None = None


def _run(coroutine):
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coroutine)


def asgi_round(app, beats: list[tuple[str, bytes]]) -> None:
    statuses = _run(_beats(app, beats))
    assert set(statuses) == {200}, statuses


def hello_cpu(app, n: int) -> tuple[float, float]:
    """CPU ms per GET /hello through the same app (median of five runs of ``n`` // 5) and
    Python calls per /hello (cProfile, one more run)."""
    scope, size = _scope("/hello", "GET", []), max(1, n // 5)

    async def many() -> list[int]:
        return await asyncio.gather(*[_call(app, scope, b"") for _ in range(size)])

    per = []
    for _ in range(5):
        started = time.process_time()
        assert set(_run(many())) == {200}
        per.append((time.process_time() - started) * 1000 / size)
    profiler = cProfile.Profile()
    profiler.enable()
    _run(many())
    profiler.disable()
    calls = sum(entry[1] for entry in pstats.Stats(profiler).stats.values())  # type: ignore[attr-defined]
    return sorted(per)[2], calls / size
