from __future__ import annotations

import pytest

from tests.reference.conftest import PASSWORD

REGISTER, LOGIN, RESET = (
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/reset-password",
)


def form(platform, mobile, **fields):
    platform.client.post("/api/v1/sms/send", json={"mobile": mobile, "purpose": "register"})
    return {
        "mobile": mobile,
        "code": platform.last_code(mobile),
        "password": PASSWORD,
        "real_name": "王芳",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "school_id": platform.school(),
        "sub_platform": "basic",
        **fields,
    }


def test_register_then_profile(client, platform):
    teacher = platform.register(platform.school())
    me = client.get("/api/v1/me", headers=teacher["headers"]).json()
    assert me["teacher_id"] == teacher["teacher_id"]
    assert (me["province"], me["county"], me["verified"]) == ("Shanxi", "Xiaodian", False)


@pytest.mark.parametrize(
    "number, problem",
    [
        ("110105194912310021", "check digit"),  # right shape, wrong check digit
        ("11010519491331002X", "not a date"),  # month 13
        ("11010519491231002", "17 digits"),  # too short
        ("1101051949123100XX", "17 digits"),
    ],
)
def test_resident_id_numbers_are_checked(client, platform, number, problem):
    answer = client.post(REGISTER, json=form(platform, "13800138000", id_number=number))
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"][-1] == "id_number" and problem in error["msg"]


def test_lower_case_x_and_passports(client, platform):
    ok = client.post(REGISTER, json=form(platform, "13800138000", id_number="11010519491231002x"))
    assert ok.status_code == 201
    passport = form(platform, "13800138001", id_type="passport", id_number="E12345678")
    assert client.post(REGISTER, json=passport).status_code == 201


def test_duplicates_and_wrong_schools(client, platform):
    body = form(platform, "13800138000")
    assert client.post(REGISTER, json={**body, "school_id": 999999}).status_code == 404
    higher = platform.school("Shanxi University", sub_platform="higher")
    wrong = client.post(REGISTER, json={**body, "school_id": higher})
    assert wrong.status_code == 409 and wrong.json()["redirect"] == "higher"
    assert client.post(REGISTER, json=body).status_code == 201


def test_a_taken_mobile_is_told_only_after_its_code(client, platform, clock):
    mobile = platform.register(platform.school())["mobile"]
    clock.advance(61)
    guess = form(platform, mobile, code="000000")
    guessed, unknown = client.post(REGISTER, json=guess), client.post(
        REGISTER, json=form(platform, "13700000001", code="000000")
    )
    assert guessed.status_code == unknown.status_code == 400  # the code, not the account
    assert guessed.json() == unknown.json()
    assert "registered" not in guessed.text
    clock.advance(61)
    taken = client.post(REGISTER, json=form(platform, mobile))
    assert taken.status_code == 409 and "already registered" in taken.json()["detail"]


def test_login_by_password_or_code(client, platform, clock):
    teacher = platform.register(platform.school())
    mobile = teacher["mobile"]
    ok = client.post(LOGIN, json={"mobile": mobile, "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["role"] == "teacher"
    assert (
        client.post(LOGIN, json={"mobile": mobile, "password": "wrong password"}).status_code == 401
    )
    assert (
        client.post(LOGIN, json={"mobile": "13700000000", "password": PASSWORD}).status_code == 401
    )
    clock.advance(61)
    client.post("/api/v1/sms/send", json={"mobile": mobile, "purpose": "login"})
    by_code = client.post(LOGIN, json={"mobile": mobile, "code": platform.last_code(mobile)})
    assert by_code.status_code == 200
    assert (
        client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {by_code.json()['token']}"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body",
    [
        {"mobile": "13800138000"},
        {"mobile": "13800138000", "password": PASSWORD, "code": "123456"},
        {"mobile": "13800138000", "password": "short"},
    ],
)
def test_login_needs_exactly_one_secret(client, body):
    assert client.post(LOGIN, json=body).status_code == 422


def test_password_reset(client, platform, clock):
    mobile = platform.register(platform.school())["mobile"]
    clock.advance(61)
    client.post("/api/v1/sms/send", json={"mobile": mobile, "purpose": "reset"})
    code = platform.last_code(mobile)
    reset = client.post(
        RESET, json={"mobile": mobile, "code": code, "new_password": "new secret 2"}
    )
    assert reset.status_code == 200
    assert client.post(LOGIN, json={"mobile": mobile, "password": PASSWORD}).status_code == 401
    assert (
        client.post(LOGIN, json={"mobile": mobile, "password": "new secret 2"}).status_code == 200
    )


def test_tokens_cannot_be_forged(client, platform):
    token = platform.register(platform.school())["token"]
    body, mac = token.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    for bad in [forged, token + "x", "nonsense", ""]:
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, bad
    assert client.get("/api/v1/me").status_code == 401
