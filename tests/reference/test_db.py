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


def test_a_writer_behind_the_lock_records_its_wait(tmp_path):
    import threading

    from prometheus_client import REGISTRY

    def waited() -> float:
        return REGISTRY.get_sample_value("yanxiu_write_lock_wait_seconds_sum", {"who": "thread"}) or 0.0

    db = Database(f"sqlite:///{tmp_path / 'lock.sqlite'}")
    before = waited()
    with db.session() as holder:  # this (main) thread takes the write lock for 0.2 s
        holder.execute(text("SELECT 1"))

        def write() -> None:
            with db.session() as session:
                session.execute(text("SELECT 1"))

        writer = threading.Thread(target=write)
        writer.start()
        threading.Event().wait(0.2)
    writer.join(5)
    db.dispose()
    assert 0.15 <= waited() - before < 2.0
