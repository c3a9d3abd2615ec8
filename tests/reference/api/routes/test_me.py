from __future__ import annotations

from tests.reference.conftest import PASSWORD


def test_edit_until_verified_then_after_removal(client, platform):
    school = platform.school()
    teacher = platform.register(school)
    admin = platform.admin("school_admin", school_id=school)
    me = "/api/v1/me"
    edited = client.patch(me, headers=teacher["headers"], json={"real_name": "王芳芳"})
    assert edited.status_code == 200 and edited.json()["real_name"] == "王芳芳"
    verify = client.post(
        f"/api/v1/admin/teachers/{teacher['teacher_id']}/verify", headers=admin["headers"]
    )
    assert verify.status_code == 200
    locked = client.patch(me, headers=teacher["headers"], json={"real_name": "别人"})
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]
    removed = client.delete(
        f"/api/v1/admin/teachers/{teacher['teacher_id']}", headers=admin["headers"]
    )
    assert removed.status_code == 200
    other = platform.school("Taiyuan No. 6 Middle School", county="Yingze")
    # Removal revoked the old token (see test_admin); signed in again, the teacher corrects.
    assert client.patch(me, headers=teacher["headers"], json={"school_id": other}).status_code == 401
    login = {"mobile": teacher["mobile"], "password": PASSWORD}
    headers = {"Authorization": "Bearer " + client.post("/api/v1/auth/login", json=login).json()["token"]}
    moved = client.patch(me, headers=headers, json={"school_id": other})
    assert moved.status_code == 200
    assert (moved.json()["school_id"], moved.json()["county"]) == (other, "Yingze")


def test_bad_edits(client, platform):
    teacher = platform.register(platform.school())
    h = teacher["headers"]
    higher = platform.school("Shanxi University", sub_platform="higher")
    assert client.patch("/api/v1/me", headers=h, json={"school_id": higher}).status_code == 409
    assert (
        client.patch("/api/v1/me", headers=h, json={"id_number": "110105194912310021"}).status_code
        == 422
    )
    assert client.patch("/api/v1/me", headers=h, json={"id_type": "passport"}).status_code == 422
    assert client.patch("/api/v1/me", headers=h, json={"mobile": "13800000000"}).status_code == 422
    assert client.patch("/api/v1/me", headers=h, json={"real_name": ""}).status_code == 422
