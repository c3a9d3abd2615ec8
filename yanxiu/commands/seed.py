"""``yanxiu seed --teachers N``: fill the reference platform with schools, teachers and
administrators, and write the load-test fixtures (accounts.csv, answers.json) to --out.

A platform scenario: the accounts are drawn from its first campaign's population (the
accounts are the platform's, enrolment is per campaign and left to the teachers), the
question banks of every campaign are filled and answers.json covers them all."""

from __future__ import annotations

import argparse
from pathlib import Path

from yanxiu.platform_options import add_platform_options, open_platform


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--teachers", type=int, required=True, help="number of teachers (administrators come on top)"
    )
    add_platform_options(parser)
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
    parser.add_argument(
        "--progress-at",
        metavar="INSTANT",
        default=None,
        help="give teachers the study progress the model predicts at this campaign instant "
        "(ISO, local time of the scenario, e.g. 2023-02-27T00:00)",
    )
    parser.add_argument(
        "--model-results",
        type=Path,
        default=None,
        help="model results folder for --progress-at (default results/<scenario> if it has "
        "outcomes_daily.csv, else a documented stand-in distribution)",
    )
    parser.add_argument(
        "--resumed",
        type=int,
        default=0,
        metavar="N",
        help="with --progress-at: the last N teachers are in a session at that instant, part-way "
        "through a play or a test attempt as the model's running sessions are; accounts.csv's "
        "resume column says what each has left (for yanxiu loadtest --resume-sessions)",
    )


def run(args: argparse.Namespace) -> int:
    from reference.bootstrap import bootstrap
    from reference.seeding.progress import ProgressError
    from reference.seeding.seed import DEFAULT_PASSWORD, SeedError, seed_platform
    from yanxiu.errors import CommandError

    platform = open_platform(args)
    settings, catalogue = platform.settings, platform.catalogue
    password = DEFAULT_PASSWORD if args.password is None else args.password
    if not 8 <= len(password) <= 64:
        raise CommandError("--password: must be 8 to 64 characters (the server's rule)")
    if args.progress_at is not None and not platform.campaigns.single:
        raise CommandError("--progress-at: progress is one campaign's; give that campaign's scenario "
                           f"file (this platform scenario runs {', '.join(platform.campaigns.names())})")
    progress_at, model_results = _progress_options(args, catalogue)
    if args.resumed < 0 or (args.resumed and progress_at is None) or args.resumed > args.teachers:
        raise CommandError("--resumed: 0 to --teachers teachers, and only with --progress-at "
                           f"(got {args.resumed})")
    seed = catalogue.scenario.seed if args.seed is None else args.seed
    db = platform.database()
    print(f"seeding {args.teachers:,} teachers into {db.url.split('@')[-1]} (seed {seed})")
    try:
        for each in platform.campaigns:  # every campaign's question bank (the first's is seeded below)
            bootstrap(db, each)
        report = seed_platform(db, catalogue, settings, args.teachers, seed, args.out, password, say=print,
                               progress_at=progress_at, model_results=model_results,
                               resumed=args.resumed)
    except (SeedError, ProgressError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()
    print(report.summary())
    for path in report.files:
        print(f"wrote {path}")
    return 0


def _progress_options(args: argparse.Namespace, catalogue):
    """(instant or None, model results folder or None) from --progress-at/--model-results."""
    import datetime as dt

    from yanxiu.errors import CommandError

    if args.progress_at is None:
        if args.model_results is not None:
            raise CommandError("--model-results: only used with --progress-at")
        return None, None
    try:
        instant = catalogue.rules.at(dt.datetime.fromisoformat(args.progress_at))
    except ValueError:
        raise CommandError(f"--progress-at: expected an ISO instant such as 2023-02-27T00:00 "
                           f"(got {args.progress_at!r})") from None
    folder = args.model_results
    if folder is None:
        default = Path("results") / catalogue.name
        folder = default if (default / "outcomes_daily.csv").is_file() else None
    elif not (folder / "outcomes_daily.csv").is_file():
        raise CommandError(f"--model-results: no outcomes_daily.csv in {folder}")
    return instant, folder
