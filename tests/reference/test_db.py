from __future__ import annotations

import threading

from sqlalchemy import text

from reference.db import WRITING_ENDPOINT, Database, normalise_url


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



def test_a_route_transaction_s_hold_of_the_write_lock_is_timed_until_its_end_returned(tmp_path):
    """From BEGIN IMMEDIATE's return to COMMIT's or ROLLBACK's (a pool thread's transaction:
    a route's; the group commits' hold is yanxiu_commit_seconds); a read is not timed."""
    from prometheus_client import REGISTRY

    def held(endpoint: str) -> tuple[float, float]:
        def sample(name: str) -> float:
            labels = {"endpoint": endpoint}
            return REGISTRY.get_sample_value(f"yanxiu_write_lock_held_seconds_{name}", labels) or 0.0

        return sample("count"), sample("sum")

    db = Database(f"sqlite:///{tmp_path / 'held.sqlite'}")
    before, before_enrol = held("other"), held("enrol")

    def transactions() -> None:
        with db.session(write=False) as reader:
            reader.execute(text("SELECT 1"))
        for end in ("commit", "rollback"):
            with db.session() as session:
                session.execute(text("SELECT 1"))
                threading.Event().wait(0.05)
                getattr(session, end)()

    def enrol() -> None:  # a request's thread: the session gate named its endpoint (api.deps)
        WRITING_ENDPOINT.set("enrol")
        with db.session() as session:
            session.execute(text("SELECT 1"))
            threading.Event().wait(0.02)

    for work in (transactions, enrol):
        route = threading.Thread(target=work)
        route.start()
        route.join(10)
    count, total = held("other")
    count_enrol, total_enrol = held("enrol")
    db.dispose()
    assert count - before[0] == 2 and 0.1 <= total - before[1] < 1.0
    assert count_enrol - before_enrol[0] == 1 and 0.02 <= total_enrol - before_enrol[1] < 0.5
