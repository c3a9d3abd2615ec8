"""The load tests follow Retry-After as clients do: a shed request (503) or a rate limit (429)
is sent again after the wait, a bounded number of times; long waits are not followed."""

from __future__ import annotations

from loadtests.adapters import RETRY_AFTER_TRIES, Client


class _Resp:
    def __init__(self, status: int, retry_after: str | None = None) -> None:
        self.status_code = status
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.content = b'{"ok": 1}' if status == 200 else b'{"detail": "busy"}'

    def json(self):
        return {"ok": 1} if self.status_code == 200 else {"detail": "busy"}


class _Http:
    def __init__(self, answers: list[_Resp]) -> None:
        self.answers, self.sent = answers, 0

    def request(self, method, url, **kwargs):
        self.sent += 1
        return self.answers.pop(0)


def test_a_shed_request_is_resent_after_its_wait():
    waits: list[float] = []
    http = _Http([_Resp(503, "1"), _Resp(429, "2"), _Resp(200)])
    client = Client(http, sleep=waits.append)
    assert client.request("heartbeat", "POST", "/x", json={}, fast=True) == {"ok": 1}
    assert http.sent == 3 and client.requests == 3
    assert 1.0 <= waits[0] <= 1.5 and 2.0 <= waits[1] <= 3.0  # Retry-After, plus up to half again


def test_retries_are_bounded_and_long_waits_not_followed():
    waits: list[float] = []
    http = _Http([_Resp(503, "1") for _ in range(10)])
    assert Client(http, sleep=waits.append).request("login", "POST", "/x", fast=True) is None
    assert http.sent == RETRY_AFTER_TRIES + 1 and len(waits) == RETRY_AFTER_TRIES
    capped = _Http([_Resp(429, "3600"), _Resp(200)])
    assert Client(capped, sleep=waits.append).request("sms_send", "POST", "/x", fast=True) is None
    assert capped.sent == 1  # an SMS daily cap: hours, not followed
