"""A small stand-in for an API of the real platform's shape, for ``uc_example``'s test and for
trying the adapter by hand. Not the real platform: a shape to load-test an adapter against.

The shape (public client scripts of the real platform): sign-in ``POST /uc/v1/tokens``
answers an access token and a user id; the course catalogue is static JSON on a CDN path;
the player reports ``PUT …/resource_learning_positions/{resource_id}/{user_id}`` and a
``POST …/study_details`` blob of the furthest positions; training progress is computed
asynchronously (begin a task, then poll it); ids are UUIDs. Study time is credited as the
furthest position reached in each resource; a test passes with every answer right (the
key: ``--answers-out``). Users come from an accounts CSV (``loadtests.accounts``), each
with study time ten minutes short of every course's credit minimum, so that sessions
watch a little and take tests. ``GET /__stats`` counts requests per route.

    python -m loadtests.adapters.uc_standin --port 8090 --scenario scenarios/smoke.yaml \\
        --accounts accounts.csv --clock-start 2023-01-05T19:00 --answers-out answers.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import uuid
from collections import Counter
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Request

NS = uuid.UUID("6f1c2b1e-0000-4000-8000-000000000016")
QUESTIONS = 10
TASK_READY_S = 0.15  # the asynchronous progress computation takes this long
Token = Annotated[str | None, Header(alias="X-Access-Token")]


def uid(*parts: object) -> str:
    return str(uuid.uuid5(NS, "/".join(map(str, parts))))


def correct_option(question_id: str) -> int:
    return uuid.UUID(question_id).int % 4


class World:
    """The stand-in's state: catalogue, users, positions, exams, progress tasks."""

    def __init__(self, scenario: Any, accounts: list, clock_start: dt.datetime, clock_rate: float,
                 sms_code: str) -> None:
        self.campaign, self.sms_code = scenario.name, sms_code
        self.clock_start, self.clock_rate, self.started = clock_start, clock_rate, time.time()
        self.catalogue = [{"course_id": uid("course", c.id), "sort_order": k + 1, "title": c.name,
                           "resources": [{"resource_id": uid("resource", r.id),
                                          "duration": float(r.duration_s)} for r in c.resources]}
                          for k, c in enumerate(scenario.courses)]
        self.head_start = {uid("course", c.id): max(0.0, c.credit.min_study_minutes * 60.0 - 600.0)
                           for c in scenario.courses}
        self.users = {a.mobile: {"user_id": uid("user", a.mobile), "password": a.password, "role": a.role}
                      for a in accounts}
        self.tokens: dict[str, str] = {}
        self.positions: dict[tuple[str, str], float] = {}  # (user, resource) -> furthest position
        self.exams: dict[tuple[str, str], dict] = {}  # (user, course) -> passed, attempts
        self.tasks: dict[str, tuple[str, float]] = {}  # task id -> (user, ready at)
        self.counts: Counter[str] = Counter()

    def now(self) -> dt.datetime:
        return self.clock_start + dt.timedelta(seconds=(time.time() - self.started) * self.clock_rate)

    def sign_in(self, mobile: str) -> dict:
        user = self.users[mobile]["user_id"]
        token = uuid.uuid4().hex
        self.tokens[token] = user
        return {"access_token": token, "user_id": user, "expires_in": 7200}

    def progress(self, user: str) -> dict:
        courses = []
        for course in self.catalogue:
            cid = course["course_id"]
            positions = {r["resource_id"]: self.positions.get((user, r["resource_id"]), 0.0)
                         for r in course["resources"]}
            studied = self.head_start[cid] + sum(positions.values())
            courses.append({"course_id": cid, "studied_seconds": studied, "positions": positions,
                            "exam": self.exams.get((user, cid), {"passed": False, "attempts": 0})})
        return {"now": self.now().isoformat(), "enrolled": True, "courses": courses}


def build_app(world: World) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def count(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        route = request.scope.get("route")
        world.counts[getattr(route, "path", "unknown")] += 1
        return response

    def user_of(token: str | None) -> str:
        if token not in world.tokens:
            raise HTTPException(401, "invalid or missing X-Access-Token")
        return world.tokens[token]

    @app.get("/__stats")
    async def stats() -> dict:
        return dict(world.counts)

    @app.post("/uc/v1/sms_codes", status_code=201)
    async def sms(body: dict) -> dict:
        return {"mobile": body.get("mobile"), "expires_in": 300}

    @app.get("/uc/v1/schools")
    async def schools(keyword: str = "", sub_platform: str = "basic") -> dict:
        return {"items": [{"school_id": uid("school", sub_platform, k), "name": f"第{k}{keyword}",
                           "sub_platform": sub_platform} for k in range(1, 4)]}

    @app.post("/uc/v1/users", status_code=201)
    async def sign_up(body: dict) -> dict:
        if body.get("sms_code") != world.sms_code:
            raise HTTPException(400, "sms_code: wrong or expired")
        mobile = body["mobile"]
        world.users[mobile] = {"user_id": uid("user", mobile), "password": body.get("password"),
                               "role": "teacher"}
        return world.sign_in(mobile)

    @app.post("/uc/v1/tokens", status_code=201)
    async def tokens(body: dict) -> dict:
        user = world.users.get(body.get("login_name", ""))
        good = user is not None and (body.get("password") == user["password"]
                                     or body.get("sms_code") == world.sms_code)
        if not good:
            raise HTTPException(401, "login_name or password wrong")
        return world.sign_in(body["login_name"])

    @app.post("/v1/trainings/{campaign}/enrollments", status_code=201)
    async def enrol(campaign: str, token: Token = None) -> dict:
        return {"training_id": campaign, "user_id": user_of(token)}

    @app.get("/cdn/trainings/{campaign}/catalogue.json")
    async def catalogue(campaign: str) -> dict:
        return {"training": campaign, "courses": world.catalogue}

    @app.post("/v1/trainings/{campaign}/progress_tasks", status_code=202)
    async def begin(campaign: str, token: Token = None) -> dict:
        task = str(uuid.uuid4())
        world.tasks[task] = (user_of(token), time.time() + TASK_READY_S)
        return {"task_id": task}

    @app.get("/v1/progress_tasks/{task_id}")
    async def poll(task_id: str, token: Token = None) -> dict:
        user_of(token)
        if task_id not in world.tasks:
            raise HTTPException(404, "no such task")
        user, ready_at = world.tasks[task_id]
        if time.time() < ready_at:
            return {"status": "running"}
        del world.tasks[task_id]
        return {"status": "done", "result": world.progress(user)}

    @app.put("/v1/resource_learning_positions/{resource_id}/{user_id}")
    async def position(resource_id: str, user_id: str, body: dict, token: Token = None) -> dict:
        if user_of(token) != user_id:
            raise HTTPException(403, "not your position")
        key = (user_id, resource_id)
        world.positions[key] = max(world.positions.get(key, 0.0), float(body.get("position", 0.0)))
        return {"position": world.positions[key]}

    @app.post("/v1/study_details")
    async def details(body: dict, token: Token = None) -> dict:
        user_of(token)
        return {"saved": len(body.get("details") or {})}

    @app.get("/v1/exams/{course_id}/paper")
    async def paper(course_id: str, token: Token = None) -> dict:
        user_of(token)
        return {"questions": [{"question_id": uid("question", course_id, k), "options": ["A", "B", "C", "D"]}
                              for k in range(1, QUESTIONS + 1)]}

    @app.post("/v1/exams/{course_id}/answers")
    async def answers(course_id: str, body: dict, token: Token = None) -> dict:
        user = user_of(token)
        given = body.get("answers", [])
        right = sum(int(a.get("option", -1)) == correct_option(a["question_id"]) for a in given)
        exam = world.exams.setdefault((user, course_id), {"passed": False, "attempts": 0})
        exam["attempts"] += 1
        exam["passed"] = exam["passed"] or right == QUESTIONS
        return {"score": 100 * right // QUESTIONS, "passed": right == QUESTIONS}

    @app.get("/v1/certificates/{user_id}/{campaign}")
    async def certificate(user_id: str, campaign: str, token: Token = None) -> dict:
        user_of(token)
        raise HTTPException(404, "certificates are issued after the training")

    @app.get("/v1/admin/schools/{school_id}/progress")
    async def admin(school_id: str, token: Token = None) -> dict:
        user_of(token)
        return {"school_id": school_id, "teachers": 40, "completed": 10}

    return app


def answer_key(scenario: Any) -> dict[str, int]:
    """answers.json for this stand-in: every question of every course, by its UUID."""
    return {(q := uid("question", uid("course", c.id), k)): correct_option(q)
            for c in scenario.courses for k in range(1, QUESTIONS + 1)}


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from domain.scenario import load_scenario
    from loadtests.accounts import load_accounts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--scenario", default="scenarios/smoke.yaml")
    parser.add_argument("--accounts", required=True, help="accounts.csv (loadtests.accounts columns)")
    parser.add_argument("--clock-start", default="2023-01-05T19:00", help="campaign instant at start (local)")
    parser.add_argument("--clock-rate", type=float, default=1.0, help="campaign seconds per second")
    parser.add_argument("--sms-code", default="246810")
    parser.add_argument("--answers-out", help="write the answer key here (answers.json)")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    zone = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime.fromisoformat(args.clock_start).replace(tzinfo=zone)
    world = World(scenario, load_accounts(args.accounts), start, args.clock_rate, args.sms_code)
    if args.answers_out:
        with open(args.answers_out, "w") as handle:
            json.dump(answer_key(scenario), handle)
    uvicorn.run(build_app(world), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
