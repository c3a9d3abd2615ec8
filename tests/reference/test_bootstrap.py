from __future__ import annotations

from sqlalchemy import inspect

from domain.scenario import load_scenario
from reference.bootstrap import bootstrap
from reference.catalogue import Catalogue
from reference.db import Database
from tests.conftest import SMOKE


def test_a_database_made_before_token_versions_gets_the_column(database_url):
    db = Database(database_url)
    try:
        db.create_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE teachers DROP COLUMN token_version")
        bootstrap(db, Catalogue(load_scenario(SMOKE)))
        bootstrap(db, Catalogue(load_scenario(SMOKE)))  # idempotent
        assert "token_version" in {c["name"] for c in inspect(db.engine).get_columns("teachers")}
    finally:
        db.dispose()
