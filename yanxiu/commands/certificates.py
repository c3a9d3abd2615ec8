"""``yanxiu certificates``: the batch that issues certificates after the campaign window to
every teacher who completed it; refuses to run before the scenario's batch date."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (default: $YANXIU_DATABASE_URL or the server's SQLite file)"
    )
    parser.add_argument(
        "--scenario", type=Path, help="scenario file (default: $YANXIU_SCENARIO or winter-2023)"
    )
    parser.add_argument(
        "--now",
        help="the batch instant, ISO 8601 (tests and replays; "
        "naive = campaign time zone); default: the real time now",
    )


def _now(text: str | None, zone):
    import datetime as dt

    from yanxiu.errors import CommandError

    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 instant: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def run(args: argparse.Namespace) -> int:
    from domain.scenario import load_scenario
    from reference.catalogue import Catalogue
    from reference.certificates import CertificateError, issue_certificates
    from reference.db import Database
    from reference.settings import Settings, SettingsError
    from yanxiu.errors import CommandError

    try:
        settings = Settings.from_env(database_url=args.database_url, scenario=args.scenario)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    catalogue = Catalogue(load_scenario(settings.scenario))
    now = _now(args.now, catalogue.rules.zone)
    db = Database(settings.database_url)
    try:
        db.create_all()
        report = issue_certificates(db, catalogue, now)
    except CertificateError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()
    print(f"yanxiu certificates: {catalogue.name}: {report.summary()}")
    return 0
