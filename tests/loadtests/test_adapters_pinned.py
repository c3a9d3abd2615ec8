"""loadtests.adapters pinned at the boundaries its docstrings state (no Locust, no HTTP):

- ``Client.request``: the answer's JSON when the status is in ``ok`` (``{}`` when empty or when
  not parsed), else None; a status in ``expected`` is a success in the statistics, any other a
  failure naming the status and the answer's ``detail`` (cut to 80 characters);
- a 429 or 503 with ``Retry-After`` of 0 to 5 s (inclusive) is sent again after that wait, at
  most 3 times; any other status, a missing, unreadable, negative or longer wait is not;
- a 429 that queues (``queued`` and a non-empty ``ticket``) is polled again with the ticket in
  ``X-Queue-Ticket`` after its Retry-After (up to 120 s a wait), at most 20 polls and 600 s in
  all, then given up as a failure;
- ``load_adapter``: ``module:Class`` of a complete ``Adapter`` subclass, else one line;
- the reference adapter fills route placeholders from the sign-in and the step, sends the
  bearer token once signed in, and its heartbeat sequence numbers rise.
"""

from __future__ import annotations

import json as jsonlib
from types import SimpleNamespace

import pytest

from loadtests.adapters import (
    QUEUE_TICKET_HEADER,
    Adapter,
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
from loadtests.routes import Route, route_table


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


# --- the reference adapter ------------------------------------------------------------------


class Recorder:
    """The Client's methods, recording each request and answering from a table."""

    def __init__(self, answers: dict | None = None) -> None:
        self.answers = answers or {}
        self.sent: list[tuple] = []

    def request(self, name, method, url, **options):
        self.sent.append((name, method, url, options))
        return self.answers.get(name, {})


def reference(answers: dict | None = None) -> tuple[ReferenceAdapter, Recorder]:
    recorder = Recorder(answers)
    target = Target("winter-2023", (1, 2), "123456", route_table(), "http://127.0.0.1:1")
    return ReferenceAdapter(recorder, target), recorder  # type: ignore[arg-type]


def test_signed_out_requests_carry_no_token_and_signed_in_ones_do():
    adapter, sent = reference({"login": {"token": "tok", "teacher_id": 7}})
    assert adapter.send_code("13800000000", "login")
    assert sent.sent[-1][1:3] == ("POST", "/api/v1/sms/send") and sent.sent[-1][3]["headers"] is None
    account = SimpleNamespace(mobile="13800000000", teacher_id=None)
    assert adapter.log_in(account, code="123456")
    assert sent.sent[-1][3]["json"] == {"mobile": "13800000000", "code": "123456"}
    assert adapter.log_in(account, password="pw")
    assert sent.sent[-1][3]["json"] == {"mobile": "13800000000", "password": "pw"}
    assert adapter.enrol()
    name, method, url, options = sent.sent[-1]
    assert (method, url) == ("POST", "/api/v1/campaigns/winter-2023/enrol")
    assert options["headers"] == {"Authorization": "Bearer tok"}
    assert adapter.credentials() == {"token": "tok", "campaign": "winter-2023", "user_id": 7, "teacher_id": 7}


def test_a_failed_request_is_a_failed_operation():
    adapter, _ = reference({"login": None, "sms_send": None, "enrol": None, "register": None,
                            "school_search": None, "test_submit": None, "admin_progress": None})
    account = SimpleNamespace(mobile="1", teacher_id=None, school_id=None)
    assert not adapter.log_in(account, password="p") and not adapter.send_code("1", "login")
    assert not adapter.enrol() and adapter.find_schools("k", "s") is None
    form = Registration("1", "2", "p", "n", "id", "x", {"id": 5}, "s")
    assert not adapter.register(form) and adapter.submit_test(1, {}) is None
    assert not adapter.admin_progress(account)


def test_an_issued_token_signs_in_without_a_request():
    adapter, sent = reference()
    assert not adapter.resume_issued(SimpleNamespace(token="", teacher_id=5))
    assert adapter.token is None
    assert adapter.resume_issued(SimpleNamespace(token="issued", teacher_id=5))
    assert adapter.credentials() == {"token": "issued", "campaign": "winter-2023", "user_id": 5,
                                     "teacher_id": 5}
    assert sent.sent == []


def test_the_account_known_teacher_id_wins_over_the_answer():
    adapter, _ = reference({"login": {"token": "t", "user_id": "u-1", "teacher_id": 9}})
    adapter.log_in(SimpleNamespace(mobile="1", teacher_id=42), password="p")
    assert adapter.ids["teacher_id"] == 42 and adapter.ids["user_id"] == "u-1"


def test_resume_restores_the_token_and_ids():
    adapter, sent = reference()
    adapter.resume({"token": "saved", "teacher_id": 3, "user_id": 3})
    assert adapter.token == "saved" and adapter.ids["teacher_id"] == 3 and "token" not in adapter.ids
    adapter.study_state()
    assert sent.sent[-1][3]["headers"] == {"Authorization": "Bearer saved"}


def test_steps_fill_their_placeholders_and_queries():
    adapter, sent = reference({"test_submit": {"passed": True}, "school_search": {"schools": [{"id": 1}]}})
    assert adapter.fetch_test(2) == {}
    assert sent.sent[-1][2] == "/api/v1/tests/2"
    assert adapter.submit_test(2, {"q1": 0}) is True
    assert sent.sent[-1][2:] == ("/api/v1/tests/2/attempts",
                                 {"json": {"answers": {"q1": 0}}, "headers": None})
    assert adapter.find_schools("小学", "p1") == [{"id": 1}]
    assert sent.sent[-1][2] == "/api/v1/schools?q=%E5%B0%8F%E5%AD%A6&sub_platform=p1&limit=20"
    adapter.admin_progress(SimpleNamespace(school_id=4))
    assert sent.sent[-1][2] == "/api/v1/admin/progress?school_id=4"
    adapter.admin_progress(SimpleNamespace(school_id=None))
    assert sent.sent[-1][2] == "/api/v1/admin/progress"
    assert adapter.certificate() and sent.sent[-1][3]["expected"] == (404,)


def test_a_placeholder_the_sign_in_did_not_give_is_one_line():
    adapter, _ = reference()
    adapter.target.routes["profile"] = type(adapter.target.routes["profile"])("GET", "/u/{user_id}")
    with pytest.raises(LookupError, match=r"^profile: no \{user_id\} to fill in '/u/\{user_id\}'"):
        adapter.call("profile")


def test_the_bearer_header_follows_the_token_and_only_templates_take_the_steps_ids():
    # the header is made once a token, not once a request (CPU per request): a new sign-in's token
    # must still reach the next request, and an earlier request's headers must not change
    adapter, sent = reference({"login": {"token": "second", "teacher_id": 8}})
    adapter.resume({"token": "first", "teacher_id": 3, "user_id": 3})
    adapter.enrol()
    adapter.study_state()
    first, again = sent.sent[-2][3]["headers"], sent.sent[-1][3]["headers"]
    adapter.log_in(SimpleNamespace(mobile="1", teacher_id=None), password="p")
    adapter.enrol()
    assert first == again == {"Authorization": "Bearer first"}
    assert sent.sent[-1][3]["headers"] == {"Authorization": "Bearer second"}
    # a plain route ignores the step's ids, a template takes them; neither reaches the client
    adapter.report_progress(2, {"id": "r9"}, 1.0, 1.0, last=False)
    assert sent.sent[-1][2] == "/api/v1/progress/heartbeat"
    adapter.target.routes["heartbeat"] = Route("PUT", "/player/{resource_id}/{user_id}/{course_id}")
    adapter.report_progress(2, {"id": "r9"}, 2.0, 1.0, last=False)
    assert sent.sent[-1][1:3] == ("PUT", "/player/r9/8/2")
    assert all(not {"course_id", "resource_id"} & set(options) for *_, options in sent.sent[-2:])


def test_heartbeats_rise_and_report_the_course_total_only_at_the_end():
    adapter, sent = reference({"heartbeat": {"course_studied_s": 61.5}})
    resource = {"id": "1.1", "duration_s": 100.0}
    adapter.start_play(1, resource)
    assert adapter.report_progress(1, resource, 30.12345, 30.0, last=False) is None
    assert adapter.report_progress(1, resource, 60.0, 30.0, last=True) == 61.5
    beats = [options for name, _, _, options in sent.sent if name == "heartbeat"]
    seqs = [b["json"]["seq"] for b in beats]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert beats[0]["json"] == {"resource_id": "1.1", "position_s": 0.0, "elapsed_s": 0.0, "seq": seqs[0]}
    assert beats[1]["json"]["position_s"] == 30.123 and beats[1]["parse"] is False
    assert beats[0]["parse"] is False  # the first beat's answer is not read
    assert beats[2]["parse"] is True and all(b["fast"] for b in beats)
    silent, _ = reference({"heartbeat": {}})
    assert silent.report_progress(1, resource, 1.0, 1.0, last=True) is None


def test_the_base_adapter_states_every_operation_unimplemented():
    base = Adapter(Recorder(), None)  # type: ignore[arg-type]
    assert base.resume_issued(SimpleNamespace(token="t")) is False  # an API that takes no issued token
    calls = [lambda: base.send_code("1", "x"), lambda: base.find_schools("k", "s"),
             lambda: base.credentials(), lambda: base.enrol(), lambda: base.study_state(),
             lambda: base.fetch_test(1), lambda: base.certificate()]
    for call in calls:
        with pytest.raises(NotImplementedError):
            call()


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


def test_heartbeat_numbers_are_fifty_millisecond_ticks_or_the_next_number(monkeypatch):
    """seq = max(last + 1, 50-ms ticks since 1.75e9 s of Unix time): rising within a session
    and across sessions (a new session starts from the clock, above the last one's)."""
    now = [1_764_000_000.0]
    monkeypatch.setattr("loadtests.adapters.reference.time", SimpleNamespace(time=lambda: now[0]))
    tick = int((now[0] - 1.75e9) * 20)
    adapter, sent = reference({"heartbeat": {}})
    resource = {"id": "1.1"}
    adapter.start_play(1, resource)
    adapter.report_progress(1, resource, 1.0, 1.23456, last=False)
    adapter.report_progress(1, resource, 2.0, 1.0, last=False)
    now[0] += 1.0  # 20 ticks later
    adapter.report_progress(1, resource, 3.0, 1.0, last=False)
    later, _ = reference({"heartbeat": {}})
    later.start_play(1, resource)
    beats = [options["json"] for name, _, _, options in sent.sent if name == "heartbeat"]
    assert [b["seq"] for b in beats] == [tick, tick + 1, tick + 2, tick + 20]
    assert beats[1]["elapsed_s"] == 1.235 and later.seq == tick + 20
