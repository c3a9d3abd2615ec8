from __future__ import annotations

from sqlalchemy import text

from reference.db import Database, normalise_url


def test_sqlite_is_durable_and_waits_for_the_lock(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'x.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    db.dispose()


def test_postgres_urls_use_psycopg_3():
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u@h/db").startswith("postgresql+psycopg://")
