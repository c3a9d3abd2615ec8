"""The reference platform's API (docs/api.md), the default adapter.

Every request goes to the route of its endpoint name (``loadtests.routes``: the reference's
paths, the scenario's ``platform.endpoints``, then ``--route-map``), so a staging system
that differs only in paths needs a route map, not an adapter. Route placeholders are filled
from the sign-in (``{teacher_id}``, ``{user_id}``), the campaign and the step
(``{course_id}``, ``{resource_id}``).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from loadtests.adapters import Adapter, Client, Registration, Target


class ReferenceAdapter(Adapter):
    def __init__(self, client: Client, target: Target) -> None:
        super().__init__(client, target)
        self.token: str | None = None
        self.ids: dict[str, object] = {"campaign": target.campaign}  # what placeholders are filled with
        self.seq = 0  # heartbeat sequence numbers rise within a session and across sessions
        self._auth: tuple[str, dict[str, str]] | None = None  # (token, its header), see _headers

    def call(self, endpoint: str, body: Any = None, query: dict | None = None, **options: Any) -> Any:
        """One named request on the endpoint's route, with the bearer token."""
        route = self.target.routes[endpoint]
        course_id, resource_id = options.pop("course_id", None), options.pop("resource_id", None)
        if "{" in route.path:  # a template: filled from the sign-in, the campaign and the step
            values: dict[str, object] = dict(self.ids)
            for key, value in (("course_id", course_id), ("resource_id", resource_id)):
                if value is not None:
                    values[key] = value
            try:
                url = route.url(**values)
            except KeyError as missing:
                raise LookupError(f"{endpoint}: no {{{missing.args[0]}}} to fill in {route.path!r}: "
                                  "the sign-in answer did not give it") from None
        else:
            url = route.path
        if query:  # after a query the route itself has (a route map's ?campaign=...)
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
        return self.client.request(endpoint, route.method, url, json=body, headers=self._headers(), **options)

    def _headers(self) -> dict[str, str] | None:
        """The bearer token's header, made once a token (the client copies it before adding its
        own headers, so one dict serves every request of the session)."""
        if not self.token:
            return None
        if self._auth is None or self._auth[0] != self.token:
            self._auth = (self.token, {"Authorization": f"Bearer {self.token}"})
        return self._auth[1]

    # --- signing in --------------------------------------------------------------------

    def send_code(self, mobile: str, purpose: str) -> bool:
        return self.call("sms_send", {"mobile": mobile, "purpose": purpose}) is not None

    def find_schools(self, keyword: str, sub_platform: str) -> list[dict] | None:
        found = self.call("school_search", query={"q": keyword, "sub_platform": sub_platform, "limit": 20})
        return None if found is None else list(found.get("schools") or [])

    def register(self, form: Registration) -> bool:
        answer = self.call("register", {
            "mobile": form.mobile, "code": form.code, "password": form.password,
            "real_name": form.real_name, "id_type": form.id_type, "id_number": form.id_number,
            "school_id": form.school["id"], "sub_platform": form.sub_platform})
        return answer is not None and self._signed_in(answer, None)

    def log_in(self, account: Any, password: str | None = None, code: str | None = None) -> bool:
        body = {"mobile": account.mobile, **({"password": password} if code is None else {"code": code})}
        answer = self.call("login", body)
        return answer is not None and self._signed_in(answer, account)

    def _signed_in(self, answer: dict, account: Any) -> bool:
        self.token = answer.get("token")
        user_id = answer.get("user_id", answer.get("teacher_id"))
        teacher_id = answer.get("teacher_id")
        if account is not None and account.teacher_id:
            teacher_id = account.teacher_id
        for key, value in (("user_id", user_id), ("teacher_id", teacher_id)):
            if value is not None:
                self.ids[key] = value
        return True

    def credentials(self) -> dict:
        return {"token": self.token, **self.ids}

    def resume(self, saved: dict) -> None:
        self.token = saved["token"]
        self.ids.update({k: v for k, v in saved.items() if k != "token"})

    def resume_issued(self, account: Any) -> bool:
        if not account.token:
            return False
        self.resume({"token": account.token, "user_id": account.teacher_id, "teacher_id": account.teacher_id})
        return True

    # --- study ---------------------------------------------------------------------------

    def enrol(self) -> bool:
        return self.call("enrol") is not None

    def study_state(self) -> dict | None:
        return self.call("campaign_page")

    def start_play(self, course_id: int, resource: dict) -> None:
        # the first beat starts the resource's clock on the server
        self._beat(course_id, resource, 0.0, 0.0, parse=False)

    def report_progress(self, course_id: int, resource: dict, position_s: float, elapsed_s: float,
                        last: bool) -> float | None:
        answer = self._beat(course_id, resource, position_s, elapsed_s, parse=last)
        return float(answer["course_studied_s"]) if last and answer and "course_studied_s" in answer else None

    def _beat(self, course_id: int, resource: dict, position_s: float, elapsed_s: float,
              parse: bool) -> dict | None:
        self.seq = max(self.seq + 1, _tick())
        body = {"resource_id": resource["id"], "position_s": round(position_s, 3),
                "elapsed_s": round(elapsed_s, 3), "seq": self.seq}
        return self.call("heartbeat", body, fast=True, parse=parse, course_id=course_id,
                         resource_id=resource["id"])

    # --- tests and certificates ------------------------------------------------------------

    def fetch_test(self, course_id: int) -> dict | None:
        return self.call("test_fetch", course_id=course_id)

    def submit_test(self, course_id: int, answers: dict[str, int]) -> bool | None:
        marked = self.call("test_submit", {"answers": answers}, course_id=course_id)
        return None if marked is None else bool(marked.get("passed"))

    def certificate(self) -> bool:
        # before the batch, or for a non-completer, "no certificate" is the right answer
        self.call("certificate", expected=(404,))
        return True

    # --- administrators ----------------------------------------------------------------

    def admin_progress(self, account: Any) -> bool:
        query = {"school_id": account.school_id} if account.school_id else {}
        return self.call("admin_progress", query=query) is not None


def _tick() -> int:
    """50 ms ticks since 2025-06, so that sequence numbers rise across sessions too."""
    return int((time.time() - 1.75e9) * 20)
