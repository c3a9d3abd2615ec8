"""The reference platform's database and scenario, as the commands that work on it directly
(``yanxiu seed``, ``yanxiu certificates``) take them: one set of options, one way to open it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference.catalogue import Campaigns, Catalogue
    from reference.db import Database
    from reference.settings import Settings


def add_platform_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (default: $YANXIU_DATABASE_URL or the server's SQLite file)"
    )
    parser.add_argument(
        "--scenario", type=Path,
        help="scenario file, a campaign's or a platform's (default: $YANXIU_SCENARIO or winter-2023)"
    )


@dataclass
class Platform:
    settings: Settings
    catalogue: Catalogue  # the first campaign of a platform scenario
    campaigns: Campaigns

    def database(self) -> Database:
        """A new connection pool; the caller disposes of it."""
        from reference.db import Database

        return Database(self.settings.database_url)


def open_platform(args: argparse.Namespace) -> Platform:
    """Settings (flags over environment) and the campaigns (a campaign scenario's one, or a
    platform scenario's several); bad values end the command."""
    from reference.catalogue import load_campaigns
    from reference.settings import Settings, SettingsError
    from yanxiu.errors import CommandError

    try:
        settings = Settings.from_env(database_url=args.database_url, scenario=args.scenario)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    campaigns = load_campaigns(settings.scenario)
    return Platform(settings, campaigns.default, campaigns)
