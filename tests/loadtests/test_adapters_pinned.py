"""loadtests.adapters pinned at the boundaries its docstrings state (no Locust, no HTTP):

- ``Client.request``: the answer's JSON when the status is in ``ok`` (``{}`` when empty or when
  not parsed), else None; a status in ``expected`` is a success in the statistics, any other a
  failure naming the status and the answer's ``detail`` (cut to 80 characters);
- a 429 or 503 with ``Retry-After`` of 0 to 5 s (inclusive) is sent again after that wait, at
  most 3 times; any other status, a missing, unreadable, negative or longer wait is not;
- a 429 that queues (``queued`` and a non-empty ``ticket``) is polled again with the ticket in
  ``X-Queue-Ticket`` after its Retry-After (up to 120 s a wait), at most 20 polls and 600 s in
  all, then given up as a failure;
- ``load_adapter``: ``module:Class`` of a complete ``Adapter`` subclass, else one line.

The adapters themselves (the base and the reference's): test_reference_adapter_pinned.
"""

from __future__ import annotations

import json as jsonlib
from types import SimpleNamespace

import pytest

from loadtests.adapters import (
    QUEUE_TICKET_HEADER,
    AdapterError,
    Client,
    Registration,
    Target,
    _detail,
    _queue_ticket,
    _retry_after,
    load_adapter,
)
from loadtests.adapters.reference import ReferenceAdapter


class Resp:
    """A response as Locust's FastHttpSession gives it (also its caught-response context)."""

    def __init__(self, status: int, body: object = None, retry_after: str | None = None,
                 raw: bytes | None = None) -> None:
        self.status_code = status
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.content = raw if raw is not None else (b"" if body is None else jsonlib.dumps(body).encode())
        self.marked: list[tuple[str, str | None]] = []

    def json(self):
        return jsonlib.loads(self.content)

    def success(self):
        self.marked.append(("success", None))

    def failure(self, reason):
        self.marked.append(("failure", reason))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Http:
    def __init__(self, *answers: Resp) -> None:
        self.answers = list(answers)
        self.sent: list[tuple] = []
        self.events: list[dict] = []
        self.request_event = SimpleNamespace(fire=lambda **kw: self.events.append(kw))

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        return self.answers.pop(0)


def client(*answers: Resp) -> tuple[Client, Http, list[float]]:
    http = Http(*answers)
    waits: list[float] = []
    return Client(http, sleep=waits.append), http, waits


# --- one request: answers and the statistics -------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_an_ok_status_gives_the_answer(status, fast):
    c, http, _ = client(Resp(status, {"a": 1}))
    assert c.request("x", "GET", "/x", fast=fast) == {"a": 1}
    assert c.requests == 1 and len(http.sent) == 1
    if not fast:
        assert http.sent[0][2]["catch_response"] is True


@pytest.mark.parametrize("fast", [False, True])
def test_an_empty_or_unparsed_answer_is_an_empty_dict(fast):
    assert client(Resp(204))[0].request("x", "GET", "/x", fast=fast) == {}
    assert client(Resp(200, {"a": 1}))[0].request("x", "GET", "/x", fast=fast, parse=False) == {}


def test_an_answer_that_is_not_json_is_a_failure():
    c, http, _ = client(resp := Resp(200, raw=b"<html>"))
    assert c.request("page", "GET", "/x") is None
    assert resp.marked == [("failure", "page: answer is not JSON")]


def test_an_expected_status_is_a_success_and_gives_none():
    resp = Resp(404, {"detail": "no certificate"})
    c, _, _ = client(resp)
    assert c.request("certificate", "GET", "/x", expected=(404,)) is None
    assert resp.marked == [("success", None)]


def test_another_status_is_a_failure_naming_it_and_the_detail_cut_short():
    resp = Resp(409, {"detail": "d" * 100})
    assert client(resp)[0].request("login", "POST", "/x") is None
    assert resp.marked == [("failure", "login: HTTP 409: " + "d" * 80)]
    bare = Resp(500)
    client(bare)[0].request("login", "POST", "/x")
    assert bare.marked == [("failure", "login: HTTP 500")]


def test_the_detail_of_an_answer():
    assert _detail(Resp(400, {"detail": "bad"})) == ": bad"
    assert _detail(Resp(400, {"other": 1})) == ""
    assert _detail(Resp(400, raw=b"not json")) == ""
    assert _detail(Resp(400, [1, 2])) == ""  # a list has no .get
    assert _detail(Resp(400)) == ""


def test_ok_statuses_can_be_chosen():
    c, _, _ = client(Resp(404, {"a": 1}))
    assert c.request("x", "GET", "/x", ok=(404,), fast=True) == {"a": 1}


def test_a_label_is_appended_to_every_requests_name():
    resp = Resp(500)
    c, http, _ = client(resp, Resp(200, {}))
    c.label = " (resumed)"
    c.request("login", "POST", "/x")
    assert http.sent[0][2]["name"] == "login (resumed)"
    assert resp.marked == [("failure", "login (resumed): HTTP 500")]
    c.label = ""
    c.request("login", "POST", "/x", fast=True)
    assert http.sent[1][2]["name"] == "login"


def test_fail_fires_locusts_request_event():
    c, http, _ = client()
    c.fail("progress_poll", "never finished")
    (event,) = http.events
    assert event["request_type"] == "ADAPTER" and event["name"] == "progress_poll"
    assert (event["response_time"], event["response_length"]) == (0, 0)  # nothing was answered
    assert str(event["exception"]) == "never finished"
    Client(SimpleNamespace()).fail("x", "no event: nothing happens")


# --- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "header", "wait"), [
    (503, "0", 0.0), (503, "5", 5.0), (429, "2.5", 2.5), (503, "5.001", None), (503, "-1", None),
    (503, "soon", None), (503, None, None), (500, "1", None), (200, "1", None), (404, "1", None),
])
def test_the_wait_a_response_asks_for(status, header, wait):
    assert _retry_after(Resp(status, retry_after=header)) == wait


def test_the_longest_wait_followed_can_be_raised():
    assert _retry_after(Resp(429, retry_after="120"), longest=120.0) == 120.0
    assert _retry_after(Resp(429, retry_after="120.5"), longest=120.0) is None


@pytest.mark.parametrize("fast", [False, True])
def test_a_shed_request_is_sent_again_at_most_three_times(fast):
    c, http, waits = client(*[Resp(503, retry_after="1") for _ in range(3)], Resp(200, {"ok": 1}))
    assert c.request("heartbeat", "POST", "/x", fast=fast) == {"ok": 1}
    assert len(waits) == 3 and c.requests == 4
    # each wait is the Retry-After and up to half as long again (a jitter, so shed clients
    # do not all come back in the same instant)
    assert all(1.0 <= w <= 1.5 for w in waits) and len(set(waits)) == 3
    c, http, waits = client(*[Resp(503, retry_after="1") for _ in range(5)])
    assert c.request("heartbeat", "POST", "/x", fast=fast) is None
    assert len(http.sent) == 4 and len(waits) == 3 and len(http.answers) == 1


def test_a_failure_without_retry_after_is_not_sent_again():
    c, http, waits = client(Resp(503), Resp(200))
    assert c.request("x", "POST", "/x") is None
    assert waits == [] and len(http.answers) == 1


# --- the waiting room ----------------------------------------------------------------------


def queued(ticket="t1", wait="10", status=429, flag=True) -> Resp:
    return Resp(status, {"queued": flag, "ticket": ticket, "position": 3}, retry_after=wait)


@pytest.mark.parametrize(("resp", "ticket"), [
    (queued(), "t1"), (queued(flag=False), None), (queued(ticket=""), None), (queued(ticket=7), None),
    (queued(status=503), None), (Resp(429), None), (Resp(429, raw=b"busy"), None), (Resp(429, [1]), None),
])
def test_the_ticket_of_a_queued_answer(resp, ticket):
    assert _queue_ticket(resp) == ticket


@pytest.mark.parametrize("fast", [False, True])
def test_a_queued_request_is_polled_with_its_ticket(fast):
    first = queued("t1", "100")  # longer than a shed wait, within a queue's
    c, http, waits = client(first, queued("t2", "10"), Resp(200, {"token": "k"}))
    assert c.request("login", "POST", "/x", headers={"A": "b"}, fast=fast) == {"token": "k"}
    assert waits == [100.0, 10.0]  # a queue's wait is its own, no jitter
    assert [sent[2]["headers"] for sent in http.sent] == [
        {"A": "b"}, {"A": "b", QUEUE_TICKET_HEADER: "t1"}, {"A": "b", QUEUE_TICKET_HEADER: "t2"}]
    if not fast:
        assert first.marked == [("success", None)]  # queued is the room's answer, not a failure


def test_polls_are_bounded_in_count():
    c, http, waits = client(*[queued(wait="1") for _ in range(21)], Resp(200, {}))
    assert c.request("login", "POST", "/x") is None
    assert len(waits) == 20 and len(http.sent) == 21
    assert [e["name"] for e in http.events] == ["login"]
    c, http, waits = client(*[queued(wait="1") for _ in range(20)], Resp(200, {"ok": 1}))
    assert c.request("login", "POST", "/x") == {"ok": 1} and len(waits) == 20


def test_polls_are_bounded_in_time():
    # 600 s in all: five waits of 120 s fit exactly, a sixth does not
    c, http, waits = client(*[queued(wait="120") for _ in range(6)], Resp(200, {}))
    assert c.request("login", "POST", "/x") is None
    assert waits == [120.0] * 5 and len(http.sent) == 6
    c, http, waits = client(*[queued(wait="120") for _ in range(5)], Resp(200, {"ok": 1}))
    assert c.request("login", "POST", "/x") == {"ok": 1}


def test_a_queued_answer_without_a_usable_wait_is_a_failure():
    resp = queued(wait="121")
    c, http, waits = client(resp, Resp(200, {}))
    assert c.request("login", "POST", "/x") is None
    assert waits == [] and len(http.answers) == 1


# --- load_adapter ---------------------------------------------------------------------------


def test_the_default_adapter():
    assert load_adapter(None) is ReferenceAdapter and load_adapter("") is ReferenceAdapter


@pytest.mark.parametrize(("spec", "message"), [
    ("loadtests.adapters", "expected module:Class"), (":ReferenceAdapter", "expected module:Class"),
    ("no_such_module_x:A", "cannot import no_such_module_x"),
    ("loadtests.adapters:Client", "not a subclass"), ("loadtests.adapters:OK", "not a subclass"),
    ("loadtests.adapters:Nothing", "not a subclass"),
    ("loadtests.adapters:Adapter", "operations not implemented: send_code, find_schools"),
])
def test_a_bad_adapter_is_one_line(spec, message):
    with pytest.raises(AdapterError, match="^--api: ") as refused:
        load_adapter(spec)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_the_options_are_keyword_only():
    c, http, _ = client(Resp(200, {}))
    with pytest.raises(TypeError):
        c.request("x", "POST", "/x", {"body": 1})  # type: ignore[misc]
    assert http.sent == []


def test_the_jitter_spans_the_wait_to_half_as_long_again():
    waits: list[float] = []
    for _ in range(100):
        http = Http(*[Resp(503, retry_after="2") for _ in range(3)], Resp(200, {}))
        Client(http, sleep=waits.append).request("x", "POST", "/x")
    assert len(waits) == 300
    assert all(2.0 <= w <= 3.0 for w in waits)
    assert min(waits) < 2.1 and max(waits) > 2.9  # 300 uniform draws reach both ends


def test_the_queue_budget_is_six_hundred_seconds_exactly():
    waits = ["120"] * 5 + ["1"]
    c, http, slept = client(*[queued(wait=w) for w in waits], Resp(200, {"ok": 1}))
    assert c.request("login", "POST", "/x") is None  # 601 s would pass the budget
    assert slept == [120.0] * 5


def test_a_retry_after_that_is_not_text_is_no_wait():
    odd = Resp(503)
    odd.headers = {"Retry-After": None}  # type: ignore[dict-item]
    assert _retry_after(odd) is None
    odd.headers = {"Retry-After": ["1"]}  # type: ignore[dict-item]
    assert _retry_after(odd) is None
    odd.headers = None  # type: ignore[assignment]
    assert _retry_after(odd) is None


def test_the_run_description_and_the_sign_up_form_are_frozen():
    import dataclasses

    target = Target("c", (1,), "1", {}, "h")
    form = Registration("1", "2", "p", "n", "id", "x", {"id": 5}, "s")
    for record, field in ((target, "campaign"), (form, "mobile")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, "other")
