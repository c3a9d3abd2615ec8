"""A worked adapter for an API of the real platform's shape (the stand-in: ``uc_standin``).

    yanxiu loadtest scenarios/smoke.yaml --host http://127.0.0.1:8090 \\
        --api loadtests.adapters.uc_example:UcAdapter --accounts accounts.csv --answers answers.json

How each of the journeys' operations maps onto that API (docs/loadtests.md, "Staging"):

==================  ==========================================================================
operation           requests (Locust name)
==================  ==========================================================================
send_code           ``POST /uc/v1/sms_codes`` (sms_send)
find_schools        ``GET /uc/v1/schools?keyword=`` (school_search); ``items[].school_id``
register            ``POST /uc/v1/users`` (register): signs in, like the reference
log_in              ``POST /uc/v1/tokens`` ``{login_name, password | sms_code}`` (login):
                    ``access_token`` (sent as ``X-Access-Token``) and ``user_id`` (a UUID)
enrol               ``POST /v1/trainings/{campaign}/enrollments`` (enrol)
study_state         the catalogue, static JSON, once a session (catalogue); then the training
                    progress, computed asynchronously: ``POST …/progress_tasks`` (progress_begin),
                    ``GET /v1/progress_tasks/{task_id}`` until ``done`` (progress_poll);
                    translated into the reference's campaign-page shape
start_play,         ``PUT /v1/resource_learning_positions/{resource_id}/{user_id}``
report_progress     ``{position}`` (heartbeat); at a play's end also ``POST /v1/study_details``
                    with the furthest positions (study_details)
fetch_test          ``GET /v1/exams/{course_id}/paper`` (test_fetch): ``question_id`` → ``id``
submit_test         ``POST /v1/exams/{course_id}/answers`` ``[{question_id, option}]`` (test_submit)
certificate         ``GET /v1/certificates/{user_id}/{campaign}`` (certificate; 404 = none yet)
admin_progress      ``GET /v1/admin/schools/{school_id}/progress`` (admin_progress)
==================  ==========================================================================

The target's courses are UUIDs; the scenario's are numbers. The catalogue's ``sort_order``
says which is which (the k-th course of the catalogue is the scenario's k-th course): a
staging engineer states that correspondence once, here in ``_courses``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from loadtests.adapters import Adapter, Client, Registration, Target

POLL_EVERY_S = 0.05  # wall seconds between polls of the progress task
MAX_POLLS = 100  # a bound: a task not done after this many polls fails the step


class UcAdapter(Adapter):
    def __init__(self, client: Client, target: Target) -> None:
        super().__init__(client, target)
        self.token: str | None = None
        self.user_id: str | None = None
        self.course_uuid: dict[int, str] = {}  # the scenario's course id -> the target's
        self.resources: dict[int, list[dict]] = {}  # the scenario's course id -> catalogue resources
        self.furthest: dict[str, float] = {}  # resource id -> furthest position this session

    def _send(self, name: str, method: str, path: str, body: Any = None, **options: Any) -> Any:
        headers = {"X-Access-Token": self.token} if self.token else None
        return self.client.request(name, method, path, json=body, headers=headers, **options)

    # --- signing in --------------------------------------------------------------------

    def send_code(self, mobile: str, purpose: str) -> bool:
        body = {"mobile": mobile, "purpose": purpose}
        return self._send("sms_send", "POST", "/uc/v1/sms_codes", body) is not None

    def find_schools(self, keyword: str, sub_platform: str) -> list[dict] | None:
        query = urlencode({"keyword": keyword, "sub_platform": sub_platform})
        found = self._send("school_search", "GET", f"/uc/v1/schools?{query}")
        if found is None:
            return None
        return [{"id": s["school_id"], "sub_platform": s.get("sub_platform", sub_platform)}
                for s in found.get("items") or []]

    def register(self, form: Registration) -> bool:
        answer = self._send("register", "POST", "/uc/v1/users", {
            "mobile": form.mobile, "sms_code": form.code, "password": form.password,
            "real_name": form.real_name, "id_number": form.id_number, "school_id": form.school["id"]})
        return self._signed_in(answer)

    def log_in(self, account: Any, password: str | None = None, code: str | None = None) -> bool:
        secret = {"password": password} if code is None else {"sms_code": code}
        return self._signed_in(self._send("login", "POST", "/uc/v1/tokens",
                                          {"login_name": account.mobile, **secret}))

    def _signed_in(self, answer: dict | None) -> bool:
        if not answer or "access_token" not in answer or "user_id" not in answer:
            if answer is not None:
                self.client.fail("login", "answer without access_token and user_id")
            return False
        self.token, self.user_id = answer["access_token"], answer["user_id"]
        return True

    def credentials(self) -> tuple[str | None, str | None]:
        return self.token, self.user_id

    def resume(self, saved: tuple[str | None, str | None]) -> None:
        self.token, self.user_id = saved

    # --- study ---------------------------------------------------------------------------

    def enrol(self) -> bool:
        return self._send("enrol", "POST", f"/v1/trainings/{self.target.campaign}/enrollments") is not None

    def study_state(self) -> dict | None:
        if not self.course_uuid and not self._courses():
            return None
        task = self._send("progress_begin", "POST", f"/v1/trainings/{self.target.campaign}/progress_tasks")
        if task is None:
            return None
        for _ in range(MAX_POLLS):
            status = self._send("progress_poll", "GET", f"/v1/progress_tasks/{task['task_id']}")
            if status is None:
                return None
            if status.get("status") == "done":
                return self._page(status["result"])
            self.client.sleep(POLL_EVERY_S)
        self.client.fail("progress_poll", f"progress task not done after {MAX_POLLS} polls")
        return None

    def _courses(self) -> bool:
        """The catalogue (static JSON on the CDN path), mapped onto the scenario's courses."""
        catalogue = self._send("catalogue", "GET", f"/cdn/trainings/{self.target.campaign}/catalogue.json")
        if catalogue is None:
            return False
        ordered = sorted(catalogue.get("courses") or [], key=lambda c: c["sort_order"])
        for cid, course in zip(self.target.course_ids, ordered, strict=False):
            self.course_uuid[cid] = course["course_id"]
            self.resources[cid] = course.get("resources") or []
        return True

    def _page(self, progress: dict) -> dict:
        """The training progress in the reference's campaign-page shape (``Adapter``)."""
        by_uuid = {c["course_id"]: c for c in progress.get("courses") or []}
        courses = []
        for cid, course_uuid in self.course_uuid.items():
            mine = by_uuid.get(course_uuid)
            if mine is None:
                continue
            positions = mine.get("positions") or {}
            exam = mine.get("exam") or {}
            courses.append({
                "id": cid, "studied_s": float(mine.get("studied_seconds", 0.0)),
                "resources": [{"id": r["resource_id"], "duration_s": float(r["duration"]),
                               "watched_s": float(positions.get(r["resource_id"], 0.0))}
                              for r in self.resources[cid]],
                "test": {"passed": bool(exam.get("passed")), "attempts": int(exam.get("attempts", 0))}})
        return {"now": progress.get("now"), "enrolled": progress.get("enrolled", True), "courses": courses}

    def start_play(self, course_id: int, resource: dict) -> None:
        self._position(resource, 0.0)

    def report_progress(self, course_id: int, resource: dict, position_s: float, elapsed_s: float,
                        last: bool) -> float | None:
        self._position(resource, position_s)
        if last:
            blob = {"user_id": self.user_id, "course_id": self.course_uuid.get(course_id),
                    "details": {rid: round(p, 3) for rid, p in self.furthest.items()}}
            self._send("study_details", "POST", "/v1/study_details", blob, fast=True, parse=False)
        return None  # this API does not answer the course's study time: the journey counts it

    def _position(self, resource: dict, position_s: float) -> None:
        rid = resource["id"]
        self.furthest[rid] = max(self.furthest.get(rid, 0.0), position_s)
        self._send("heartbeat", "PUT", f"/v1/resource_learning_positions/{rid}/{self.user_id}",
                   {"position": round(position_s, 3)}, fast=True, parse=False)

    # --- tests and certificates ------------------------------------------------------------

    def fetch_test(self, course_id: int) -> dict | None:
        paper = self._send("test_fetch", "GET", f"/v1/exams/{self.course_uuid[course_id]}/paper")
        if paper is None:
            return None
        return {"questions": [{"id": q["question_id"], "choices": q.get("options") or []}
                              for q in paper.get("questions") or []]}

    def submit_test(self, course_id: int, answers: dict[str, int]) -> bool | None:
        body = {"answers": [{"question_id": q, "option": a} for q, a in answers.items()]}
        marked = self._send("test_submit", "POST", f"/v1/exams/{self.course_uuid[course_id]}/answers", body)
        return None if marked is None else bool(marked.get("passed"))

    def certificate(self) -> bool:
        self._send("certificate", "GET", f"/v1/certificates/{self.user_id}/{self.target.campaign}",
                   expected=(404,))
        return True

    # --- administrators ----------------------------------------------------------------

    def admin_progress(self, account: Any) -> bool:
        path = f"/v1/admin/schools/{account.school_id}/progress"
        return self._send("admin_progress", "GET", path) is not None
