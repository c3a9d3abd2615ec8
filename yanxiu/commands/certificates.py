"""``yanxiu certificates``: the batch that issues certificates after the campaign window to
every teacher who completed it; refuses to run before the scenario's batch date. With a
platform scenario: the batch of ``--campaign`` (default: every campaign whose batch date
has come; refused if none has)."""

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
    parser.add_argument("--campaign", help="a platform scenario's campaign (default: each one due)")


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
    from reference.catalogue import CampaignUnknown
    from reference.certificates import CertificateError, issue_certificates
    from yanxiu.errors import CommandError

    platform = open_platform(args)
    try:
        chosen = [platform.campaigns.get(args.campaign)] if args.campaign else list(platform.campaigns)
    except CampaignUnknown as exc:
        raise CommandError(f"--campaign: {exc}") from None
    now = _now(args.now, platform.catalogue.rules.zone)
    if len(chosen) > 1:  # each campaign that is due; the first's refusal if none is
        due = [c for c in chosen if c.rules.at(now) >= c.rules.certificates_at]
        chosen = due or chosen[:1]
    db = platform.database()
    try:
        db.create_all()
        for catalogue in chosen:
            report = issue_certificates(db, catalogue, now)
            print(f"yanxiu certificates: {catalogue.name}: {report.summary()}")
    except CertificateError as exc:
        raise CommandError(str(exc)) from None
    finally:
        db.dispose()
    return 0
