"""loadtests.adapters' adapters pinned (no Locust, no HTTP): the base ``Adapter`` states every
operation unimplemented; the reference adapter fills route placeholders from the sign-in and the
step, sends the bearer token once signed in, and its heartbeat sequence numbers rise (50-ms ticks
of the clock or the next number). The ``Client`` beneath them: test_adapters_pinned."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loadtests.adapters import Adapter, Registration, Target
from loadtests.adapters.reference import ReferenceAdapter
from loadtests.routes import Route, route_table


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
