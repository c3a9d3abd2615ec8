"""Administrators see and change only what belongs to their own school, county or province."""

from __future__ import annotations

import pytest

from tests.reference.api.routes.test_campaign import study
from tests.reference.conftest import PASSWORD

PROGRESS = "/api/v1/admin/progress"


@pytest.fixture
def world(platform, clock):
    """Two schools in one county, one in another county, one in another province."""
    a = platform.school("School A", county="Xiaodian")
    b = platform.school("School B", county="Xiaodian")
    c = platform.school("School C", county="Yingze")
    d = platform.school("School D", province="Hainan", county="Meilan")
    teachers = {
        s: [platform.enrolled_teacher(s) for _ in range(n)] for s, n in ((a, 2), (b, 1), (c, 1), (d, 1))
    }
    study(platform, clock, teachers[a][0], "1.1", 1200)
    return {"schools": (a, b, c, d), "teachers": teachers}


def test_each_level_sees_its_own_teachers(client, platform, world):
    a, b, c, d = world["schools"]
    school = platform.admin("school_admin", school_id=a)
    county = platform.admin("county_admin", province="Shanxi", county="Xiaodian")
    province = platform.admin("province_admin", province="Shanxi", county="")
    mine = client.get(PROGRESS, headers=school["headers"]).json()
    assert (mine["scope"]["level"], mine["teachers"], mine["enrolled"]) == ("school", 2, 2)
    assert mine["courses"][0]["studying"] == 1 and mine["studied_hours"] == pytest.approx(1 / 3, abs=1e-3)
    assert client.get(PROGRESS, headers=county["headers"]).json()["teachers"] == 3
    assert client.get(PROGRESS, headers=province["headers"]).json()["teachers"] == 4
    narrowed = client.get(PROGRESS, headers=province["headers"], params={"county": "Yingze"})
    assert narrowed.json()["teachers"] == 1
    one = client.get(PROGRESS, headers=county["headers"], params={"school_id": b}).json()
    assert (one["scope"]["level"], one["teachers"]) == ("school", 1)


OUTSIDE = [  # (who asks, what they name): every one outside the asker's scope
    ("school", {"school_id": "b"}),
    ("school", {"county": "Yingze"}),
    ("school", {"province": "Hainan"}),
    ("county", {"school_id": "c"}),
    ("county", {"county": "Yingze"}),
    ("county", {"school_id": "d"}),
    ("province", {"province": "Hainan"}),
    ("province", {"school_id": "d"}),
]


def test_nobody_reads_outside_their_scope(client, platform, world):
    a, b, c, d = world["schools"]
    ids = {"b": b, "c": c, "d": d}
    admins = {
        "school": platform.admin("school_admin", school_id=a),
        "county": platform.admin("county_admin", province="Shanxi", county="Xiaodian"),
        "province": platform.admin("province_admin", province="Shanxi", county=""),
    }
    for who, params in OUTSIDE:
        named = {k: ids.get(v, v) for k, v in params.items()}
        answer = client.get(PROGRESS, headers=admins[who]["headers"], params=named)
        assert answer.status_code == 403, (who, params, answer.text)


def test_teachers_are_not_administrators(client, world):
    teacher = world["teachers"][world["schools"][0]][0]
    assert client.get(PROGRESS, headers=teacher["headers"]).status_code == 403
    other = world["teachers"][world["schools"][0]][1]
    assert (
        client.post(
            f"/api/v1/admin/teachers/{other['teacher_id']}/verify", headers=teacher["headers"]
        ).status_code
        == 403
    )


def test_verify_and_remove_only_own_teachers(client, platform, world):
    a, b, *_ = world["schools"]
    school = platform.admin("school_admin", school_id=a)
    county = platform.admin("county_admin", province="Shanxi", county="Xiaodian")
    own = world["teachers"][a][0]["teacher_id"]
    foreign = world["teachers"][b][0]["teacher_id"]
    verify = "/api/v1/admin/teachers/{}/verify"
    assert client.post(verify.format(foreign), headers=school["headers"]).status_code == 404
    assert client.delete(f"/api/v1/admin/teachers/{foreign}", headers=school["headers"]).status_code == 404
    assert client.post(verify.format(own), headers=county["headers"]).status_code == 403
    assert client.post(verify.format(999999), headers=school["headers"]).status_code == 404
    assert client.post(verify.format(0), headers=school["headers"]).status_code == 422
    done = client.post(verify.format(own), headers=school["headers"])
    assert done.status_code == 200 and done.json()["verified"]
    assert client.get(PROGRESS, headers=school["headers"]).json()["verified"] == 1
    gone = client.delete(f"/api/v1/admin/teachers/{own}", headers=school["headers"]).json()
    assert gone == {"teacher_id": own, "school_id": None, "verified": False}
    assert client.get(PROGRESS, headers=school["headers"]).json()["teachers"] == 1


def test_removal_revokes_the_teachers_tokens(client, platform):
    school = platform.school()
    admin = platform.admin("school_admin", school_id=school)
    teacher = platform.enrolled_teacher(school)
    assert platform.beat(teacher, "1.1", 1, 0).status_code == 200
    assert client.get("/api/v1/me", headers=teacher["headers"]).status_code == 200
    removed = client.delete(f"/api/v1/admin/teachers/{teacher['teacher_id']}", headers=admin["headers"])
    assert removed.status_code == 200
    refused = [
        client.get("/api/v1/me", headers=teacher["headers"]),
        client.get("/api/v1/campaign", headers=teacher["headers"]),
        platform.beat(teacher, "1.1", 2, 0),  # a resource already started
        platform.beat(teacher, "1.2", 1, 0),  # a first beat
    ]
    assert [(r.status_code, "revoked" in r.json()["detail"]) for r in refused] == [(401, True)] * 4
    login = {"mobile": teacher["mobile"], "password": PASSWORD}
    again = client.post("/api/v1/auth/login", json=login).json()
    headers = {"Authorization": f"Bearer {again['token']}"}
    assert client.get("/api/v1/me", headers=headers).json()["school_id"] is None  # may now fix the profile
    assert client.get(PROGRESS, headers=admin["headers"]).status_code == 200  # the admin's own token lives
