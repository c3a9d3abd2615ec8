from __future__ import annotations

import datetime as dt

from tests.reference.conftest import ZONE


def test_only_after_the_batch(app, client, platform):
    from reference.models import Certificate

    teacher = platform.enrolled_teacher()
    h = teacher["headers"]
    assert client.get("/api/v1/certificate", headers=h).status_code == 404
    with app.state.yanxiu.db.session() as session:
        session.add(
            Certificate(
                teacher_id=teacher["teacher_id"],
                campaign="smoke",
                serial="SMOKE-000001",
                credited_hours=3.0,
                issued_at=dt.datetime(2023, 1, 14, 9, tzinfo=ZONE),
            )
        )
    cert = client.get("/api/v1/certificate", headers=h).json()
    assert cert["serial"] == "SMOKE-000001" and cert["credited_hours"] == 3.0
    assert cert["id_number_masked"] == "110***********002X"
    other = platform.enrolled_teacher()
    assert client.get("/api/v1/certificate", headers=other["headers"]).status_code == 404
