from __future__ import annotations

import pytest

SEND = "/api/v1/sms/send"


def send(client, mobile, purpose="register"):
    return client.post(SEND, json={"mobile": mobile, "purpose": purpose})


def test_a_code_is_recorded_by_the_gateway(client, platform):
    answer = send(client, "13800138000")
    assert answer.status_code == 202
    assert answer.json() == {"sent": True, "retry_after_s": 60}
    assert len(platform.last_code("13800138000")) == 6


def test_one_code_per_phone_per_minute(client, clock):
    assert send(client, "13800138000").status_code == 202
    clock.advance(30)
    refused = send(client, "13800138000", "register")
    assert refused.status_code == 429
    assert refused.json()["retry_after_s"] == 30
    assert refused.headers["Retry-After"] == "30"
    assert send(client, "13800138001").status_code == 202  # another phone is not limited
    clock.advance(31)
    assert send(client, "13800138000").status_code == 202


def test_daily_cap_then_next_day(client, clock):
    for _ in range(10):
        assert send(client, "13800138000").status_code == 202
        clock.advance(61)
    capped = send(client, "13800138000")
    assert capped.status_code == 429
    assert "daily cap" in capped.json()["detail"]
    clock.advance(24 * 3600)
    assert send(client, "13800138000").status_code == 202


@pytest.mark.parametrize("mobile", ["1380013800", "138001380000", "12800138000", "1380013800a", ""])
def test_malformed_mobiles_are_refused_naming_the_field(client, mobile):
    answer = send(client, mobile)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "mobile"]


def test_sending_a_code_does_not_tell_whether_a_phone_is_registered(client, platform, clock):
    teacher = platform.register(platform.school())
    clock.advance(61)
    for purpose in ("register", "login", "reset"):
        known, unknown = send(client, teacher["mobile"], purpose), send(client, "13700000000", purpose)
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (
            202, {"sent": True, "retry_after_s": 60}
        )
        again = send(client, teacher["mobile"], purpose), send(client, "13700000000", purpose)
        assert [a.status_code for a in again] == [429, 429] and again[0].json() == again[1].json()
        clock.advance(61)
    assert send(client, "13700000000", "other").status_code == 422


def _register_body(platform, mobile, code):
    return {
        "mobile": mobile,
        "code": code,
        "password": "password12",
        "real_name": "王芳",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "school_id": platform.school(),
        "sub_platform": "basic",
    }


def test_wrong_entries_are_limited_per_code(client, platform):
    send(client, "13800138000")
    right = platform.last_code("13800138000")
    wrong = "000000" if right != "000000" else "111111"
    body = _register_body(platform, "13800138000", wrong)
    for left in range(4, -1, -1):
        answer = client.post("/api/v1/auth/register", json=body)
        assert answer.status_code == 400
        assert answer.json()["attempts_left"] == left
    answer = client.post("/api/v1/auth/register", json={**body, "code": right})
    assert answer.status_code == 400
    assert "too many wrong entries" in answer.json()["detail"]


def test_codes_expire_and_are_single_use(client, platform, clock):
    send(client, "13800138000")
    code = platform.last_code("13800138000")
    clock.advance(301)
    answer = client.post(
        "/api/v1/auth/register", json=_register_body(platform, "13800138000", code)
    )
    assert answer.status_code == 400 and "expired" in answer.json()["detail"]
    send(client, "13800138000")
    code = platform.last_code("13800138000")
    body = _register_body(platform, "13800138000", code)
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    login = client.post("/api/v1/auth/login", json={"mobile": "13800138000", "code": code})
    assert login.status_code == 400  # a register code is no login code


def test_fixed_test_code_for_load_test_mobiles(settings, clock):
    from fastapi.testclient import TestClient

    from reference.main import create_app
    from tests.reference.conftest import Platform

    fixed = settings.model_copy(update={"sms_test_code": "246810", "sms_test_prefix": "170"})
    app = create_app(fixed, clock)
    with TestClient(app) as client:
        helper = Platform(app, client)
        assert send(client, "17000000001").status_code == 202
        assert send(client, "13800138000").status_code == 202
        assert helper.last_code("17000000001") == "246810"
        assert helper.last_code("13800138000") != "246810"  # random: wrong once in a million
    app.state.yanxiu.db.dispose()


def test_a_failing_gateway_answers_503_and_spends_no_limit(app, client, platform):
    """The vendor down: 503 with Retry-After (never a 500), no code stored, so the phone may
    ask again at once when the gateway is back (the minute's interval was not spent)."""
    from reference.services.sms import GATEWAY_RETRY_S, SmsGatewayError

    state = app.state.yanxiu
    working = state.sms_gateway

    class Down:
        def send(self, session, mobile, text, now):
            raise SmsGatewayError("vendor timed out")

    state.sms_gateway = Down()
    failed = send(client, "13800138000")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == str(GATEWAY_RETRY_S)
    assert failed.json()["reason"] == "sms_gateway_unavailable"
    state.sms_gateway = working
    assert send(client, "13800138000").status_code == 202  # at once: nothing was spent
    assert len(platform.last_code("13800138000")) == 6
