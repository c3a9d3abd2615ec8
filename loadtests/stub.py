"""A tiny, fast stand-in for the platform: canned JSON answers on raw asyncio HTTP/1.1.

For checking the harness itself, not a system under test: the benchmark needs a target that
is never the bottleneck, and the tests need a "staging system" whose paths differ from the
reference's (give it the same ``--route-map`` as the load test). It answers every endpoint
the journeys use in the shape docs/api.md gives, marks tests with a fixed key (question
``i``'s answer is ``i % 4``; ``--answers-out`` writes it as answers.json), serves
``GET /hello`` for a hello-world user, and counts requests per endpoint at
``GET /__stats``. It stops by itself after ``--max-seconds``.

    python -m loadtests.stub --port 8089 [--route-map map.yaml] [--scenario s.yaml]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
from collections import Counter

from loadtests.routes import Route, route_table

QUESTIONS = 10
NOW = "2023-01-05T12:00:00+08:00"
HELLO = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
STATUS = {200: "OK", 201: "Created", 202: "Accepted", 404: "Not Found"}


class Stub:
    def __init__(self, routes: dict[str, Route], courses: list[dict], campaign: str = "stub",
                 delay_s: float = 0.0) -> None:
        self.counts: Counter[str] = Counter()
        self.delay_s = delay_s
        self.courses, self.campaign = courses, campaign
        # what the page says was studied in each resource's course before this session
        self.studied_before = {r["id"]: c["studied_s"] for c in courses for r in c["resources"]}
        self.table = [(r.method, _pattern(r.path), name) for name, r in routes.items()]

    def answer(self, method: str, target: str, body: bytes) -> bytes:
        path = target.split("?", 1)[0]
        if path == "/hello":
            self.counts["hello"] += 1
            return HELLO
        if path == "/__stats":
            return _response(200, dict(self.counts))
        for m, pattern, name in self.table:
            if m == method and (match := pattern.match(path)):
                self.counts[name] += 1
                status, data = self.handle(name, match.groupdict(), body)
                return _response(status, data)
        self.counts["unknown"] += 1
        return _response(404, {"detail": f"no route {method} {path}"})

    def handle(self, name: str, params: dict, body: bytes) -> tuple[int, dict]:
        data = json.loads(body) if body else {}
        if name == "sms_send":
            return 202, {"sent": True, "retry_after_s": 60}
        if name == "school_search":
            return 200, {"schools": [{"id": 1, "name": "测试学校", "province": "P", "county": "C",
                                      "sub_platform": "basic"}], "redirect": None}
        if name in ("register", "login"):
            n = self.counts[name]
            status = 201 if name == "register" else 200
            return status, {"teacher_id": n, "token": f"t{n}", "role": "teacher"}
        if name == "enrol":
            return 201, {"campaign": self.campaign, "enrolled_at": NOW, "created": True}
        if name == "campaign_page":
            return 200, {"campaign": self.campaign, "now": NOW, "enrolled": True, "courses": self.courses,
                         "studied_hours": 0.0, "credited_hours": 0.0, "complete": False}
        if name == "heartbeat":
            position = float(data.get("position_s", 0.0))
            before = self.studied_before.get(str(data.get("resource_id")), 0.0)
            return 200, {"recorded_s": float(data.get("elapsed_s", 0.0)),
                         "course_studied_s": before + position, "resource_watched_s": position}
        if name == "test_fetch":
            return 200, {"course_id": int(params.get("course_id", 1)), "questions": [
                {"id": i, "text": f"question {i}", "choices": ["a", "b", "c", "d"]}
                for i in range(1, QUESTIONS + 1)]}
        if name == "test_submit":
            answers = data.get("answers", {})
            correct = sum(1 for q, a in answers.items() if int(a) == int(q) % 4)
            return 200, {"attempt": 1, "correct": correct, "questions": QUESTIONS,
                         "passed": correct == QUESTIONS, "credited_hours": 1.0}
        if name == "certificate":
            return 404, {"detail": "certificates are issued after the campaign"}
        if name == "admin_progress":
            return 200, {"teachers": 40, "enrolled": 30, "completed": 10}
        return 200, {"status": "ok"}


def stub_courses(scenario=None) -> list[dict]:
    """The campaign page's courses: the scenario's, or one course of two resources; the
    studied time sits ten minutes short of the credit minimum, so a teacher watches a
    resource or two (heartbeats), then takes the test."""
    if scenario is None:
        specs = [(1, 2100.0, [("1.1", 910.0), ("1.2", 598.0)])]
    else:
        specs = [(c.id, max(0.0, c.credit.min_study_minutes * 60.0 - 600.0),
                  [(r.id, float(r.duration_s)) for r in c.resources]) for c in scenario.courses]
    return [{"id": cid, "name": f"course {cid}", "opens": "2022-12-02", "open": True,
             "credit_hours_max": 1.0, "min_study_s": studied + 600.0, "studied_s": studied,
             "credited_hours": 0.0,
             "resources": [{"id": rid, "title": rid, "duration_s": d, "watched_s": 0.0, "percent": 0.0}
                           for rid, d in resources],
             "test": {"unlocked": True, "passed": False, "attempts": 0}} for cid, studied, resources in specs]


def answers_key() -> dict[str, int]:
    return {str(i): i % 4 for i in range(1, QUESTIONS + 1)}


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


def _response(status: int, data) -> bytes:
    body = json.dumps(data, ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {STATUS.get(status, 'OK')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, stub: Stub) -> None:
        self.stub, self.buffer = stub, b""
        self.pending: asyncio.Task | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            method, target = head[0].split(" ")[:2]
            answer = self.stub.answer(method, target, body)
            if self.stub.delay_s > 0 and target != "/__stats":
                # a slow system: answers come late, but in order on this connection
                self.pending = _later(self.pending, self.transport, answer, self.stub.delay_s)
            else:
                self.transport.write(answer)


def _later(previous, transport, answer: bytes, delay_s: float) -> asyncio.Task:
    async def write() -> None:
        if previous is not None:
            await previous
        await asyncio.sleep(delay_s)
        if not transport.is_closing():
            transport.write(answer)

    return asyncio.get_running_loop().create_task(write())


async def serve(stub: Stub, host: str, port: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(stub), host, port, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"stub listening on http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    except TimeoutError:
        pass
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--route-map", help="paths of a staging system (YAML/JSON)")
    parser.add_argument("--scenario", help="scenario whose courses the campaign page shows")
    parser.add_argument("--answers-out", help="write the answer key here (answers.json)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer this late (a slow system)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop after this long")
    args = parser.parse_args(argv)
    scenario = None
    if args.scenario:
        from domain.scenario import load_scenario

        scenario = load_scenario(args.scenario)
    routes = route_table(scenario.platform.endpoints if scenario else (), args.route_map)
    if args.answers_out:
        with open(args.answers_out, "w") as handle:
            json.dump(answers_key(), handle)
    stub = Stub(routes, stub_courses(scenario), scenario.name if scenario else "stub", args.delay_ms / 1000)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(stub, args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
