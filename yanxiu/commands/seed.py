"""``yanxiu seed --teachers N``: fill the reference platform with schools, teachers and
administrators, and write the load-test fixtures (accounts.csv, answers.json) to --out."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--teachers", type=int, required=True, help="number of teachers (administrators come on top)"
    )
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (default: $YANXIU_DATABASE_URL or the server's SQLite file)"
    )
    parser.add_argument(
        "--scenario", type=Path, help="scenario file (default: $YANXIU_SCENARIO or winter-2023)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for accounts.csv and answers.json (default: none written)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's seed)")
    parser.add_argument(
        "--password", default=None, help="the one password of every seeded account (default Yanxiu@2023)"
    )


def run(args: argparse.Namespace) -> int:
    from reference.catalogue import Catalogue
    from reference.db import Database
    from reference.seed import DEFAULT_PASSWORD, SeedError, seed_platform
    from reference.settings import Settings, SettingsError
    from sim.scenario import load_scenario
    from yanxiu.errors import CommandError

    try:
        settings = Settings.from_env(database_url=args.database_url, scenario=args.scenario)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    password = DEFAULT_PASSWORD if args.password is None else args.password
    if not 8 <= len(password) <= 64:
        raise CommandError("--password: must be 8 to 64 characters (the server's rule)")
    catalogue = Catalogue(load_scenario(settings.scenario))
    seed = catalogue.scenario.seed if args.seed is None else args.seed
    db = Database(settings.database_url)
    print(f"seeding {args.teachers:,} teachers into {db.url.split('@')[-1]} (seed {seed})")
    try:
        report = seed_platform(db, catalogue, settings, args.teachers, seed, args.out, password, say=print)
    except SeedError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()
    print(report.summary())
    for path in report.files:
        print(f"wrote {path}")
    return 0
