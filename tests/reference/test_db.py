from __future__ import annotations

import threading

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


def test_a_route_write_holds_the_writers_lock_until_its_commit_returned(tmp_path):
    """The routes' write transactions queue with the group committers on the writers' lock
    (reference.db.WritersLock): held from BEGIN IMMEDIATE until COMMIT or ROLLBACK returned,
    timed; a read takes nothing."""
    from prometheus_client import REGISTRY

    from reference.db import WritersLock, writers_lock_path

    def held() -> tuple[float, float]:
        def sample(name: str) -> float:
            return REGISTRY.get_sample_value(f"yanxiu_write_lock_held_seconds_{name}") or 0.0

        return sample("count"), sample("sum")

    url = f"sqlite:///{tmp_path / 'held.sqlite'}"
    db = Database(url)
    committer_side = WritersLock(writers_lock_path(url) or "")
    before = held()
    with db.session(write=False) as reader:
        reader.execute(text("SELECT 1"))
        assert committer_side.try_acquire()  # a read does not take it
        committer_side.release()
    for end in ("commit", "rollback"):
        with db.session() as session:
            session.execute(text("SELECT 1"))
            assert not committer_side.try_acquire()
            threading.Event().wait(0.05)
            getattr(session, end)()
            assert committer_side.try_acquire()
            committer_side.release()
    count, total = held()
    db.dispose()
    committer_side.close()
    assert count - before[0] == 2 and 0.1 <= total - before[1] < 1.0
    assert writers_lock_path("sqlite://") is None and writers_lock_path("postgresql://u@h/db") is None
