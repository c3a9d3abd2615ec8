"""``yanxiu certificates``: the batch that issues certificates after the campaign window to
every teacher who completed it; refuses to run before the scenario's batch date."""

from __future__ import annotations

import argparse

from yanxiu.platform_options import add_platform_options, open_platform


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_platform_options(parser)
    parser.add_argument(
        "--now",
        help="the batch instant, ISO 8601 (tests and replays; "
        "naive = campaign time zone); default: the real time now",
    )


def _now(text: str | None, zone):
    import datetime as dt

    from domain.zones import localise
    from yanxiu.errors import CommandError

    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 instant: {text!r}") from None
    return localise(moment, zone)


def run(args: argparse.Namespace) -> int:
    from reference.certificates import CertificateError, issue_certificates
    from yanxiu.errors import CommandError

    platform = open_platform(args)
    catalogue = platform.catalogue
    now = _now(args.now, catalogue.rules.zone)
    db = platform.database()
    try:
        db.create_all()
        report = issue_certificates(db, catalogue, now)
    except CertificateError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()
    print(f"yanxiu certificates: {catalogue.name}: {report.summary()}")
    return 0
