"""``yanxiu seed`` writes a session token per account when the server's secret is given, so a
load test can resume a session that the model signed in before the replayed stretch without a
login; with a secret made up for the seeding process alone it writes none (it would be refused)."""

from __future__ import annotations

import csv

from tests.conftest import SMOKE
from tests.reference.test_seed import _seed


def _rows(out) -> list[dict]:
    with (out / "accounts.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tokens_sign_in_as_their_own_account(settings, clock, tmp_path):
    from fastapi.testclient import TestClient

    from reference.main import create_app

    _seed(settings, tmp_path / "fixtures", teachers=120)
    rows = _rows(tmp_path / "fixtures")
    assert all(r["token"] for r in rows)
    teacher = next(r for r in rows if r["role"] == "teacher")
    app = create_app(settings, clock)
    with TestClient(app) as client:
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {teacher['token']}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["teacher_id"] == int(teacher["teacher_id"])
        forged = teacher["token"][:-2] + ("AA" if not teacher["token"].endswith("AA") else "BB")
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    app.state.yanxiu.db.dispose()


def test_no_tokens_without_a_given_secret(settings, tmp_path):
    from reference.settings import Settings

    made_up = Settings(database_url=f"sqlite:///{tmp_path / 'other.sqlite'}", scenario=SMOKE,
                       argon2_time_cost=1, argon2_memory_kib=1024)
    _seed(made_up, tmp_path / "fixtures", teachers=60)
    rows = _rows(tmp_path / "fixtures")
    assert rows and all(r["token"] == "" for r in rows)
