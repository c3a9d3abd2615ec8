"""``yanxiu serve``: run the reference platform with uvicorn worker processes.

The parent validates the settings and the scenario, creates the tables and start-up rows
once, then exports its settings as ``YANXIU_*`` variables (one shared secret and clock
origin for all workers) and lets uvicorn start the workers, each building the app with
``reference.main:create_app``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile

# On SIGTERM, requests in progress get this long to finish; uvicorn's default waits for them
# without limit, so one stalled client (headers sent, body never) kept the server up.
GRACEFUL_SHUTDOWN_S = 5

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a SQLite file in results/)")
    parser.add_argument("--scenario", help="scenario file (default scenarios/winter-2023.yaml)")
    parser.add_argument(
        "--clock-start",
        help="campaign instant the server's start maps to, ISO 8601 "
        "(e.g. 2023-01-05T20:00); default real time",
    )
    parser.add_argument(
        "--clock-rate",
        type=float,
        default=None,
        help="campaign seconds per real second after --clock-start (a compressed replay; default 1)",
    )
    parser.add_argument(
        "--sms-test-code",
        help="load tests only: every SMS code is this one (see --sms-test-prefix)",
    )
    parser.add_argument("--sms-test-prefix", help="mobiles the test code applies to (default all)")
    parser.add_argument(
        "--committer",
        choices=["auto", "loop", "thread"],
        help="who runs group commits: the event loop (SQLite default) or a writer thread "
        "(PostgreSQL default; keeps a slow disk's fsync off the loop)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="admission control: requests in flight per worker before new ones are shed with 503 "
        "and Retry-After (default 0 = no limit)",
    )
    parser.add_argument(
        "--waiting-room",
        type=float,
        default=None,
        help="login waiting room: logins admitted per second per worker; the rest are queued "
        "(429 with a position, a ticket and Retry-After) (default 0 = no room)",
    )
    parser.add_argument(
        "--route-cpu",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="count each request's CPU by endpoint (yanxiu_route_cpu_seconds_total, what yanxiu "
        "calibrate reads; default on)",
    )
    parser.add_argument(
        "--gc-policy",
        help="each worker's garbage collector: python (CPython's defaults), freeze (freeze what "
        "start-up left), freeze-young (also a first threshold of 10,000; the default)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")


def settings_from_args(args: argparse.Namespace):
    from reference.settings import Settings, SettingsError
    from yanxiu.errors import CommandError

    clock_start = None
    if args.clock_start:
        try:
            clock_start = dt.datetime.fromisoformat(args.clock_start)
        except ValueError:
            raise CommandError(f"--clock-start: not an ISO 8601 instant: {args.clock_start!r}") from None
    try:
        return Settings.from_env(
            database_url=args.database_url,
            scenario=args.scenario,
            clock_start=clock_start,
            workers=args.workers,
            clock_rate=args.clock_rate,
            sms_test_code=args.sms_test_code,
            sms_test_prefix=args.sms_test_prefix,
            committer=args.committer,
            max_in_flight=getattr(args, "max_in_flight", None),
            waiting_room=getattr(args, "waiting_room", None),
            route_cpu=getattr(args, "route_cpu", None),
            gc_policy=getattr(args, "gc_policy", None),
        )
    except SettingsError as exc:
        message = str(exc)
        variable = message.split(":", 1)[0]
        option = "--" + variable.removeprefix("YANXIU_").lower().replace("_", "-")
        if getattr(args, option[2:].replace("-", "_"), None) is not None:  # name what was typed
            message = option + message[len(variable) :]
        raise CommandError(message) from None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from reference.bootstrap import bootstrap
    from reference.catalogue import load_campaigns
    from reference.db import Database
    from yanxiu.errors import CommandError

    if not 0 < args.port < 65536:
        raise CommandError(f"--port: {args.port} is not a port number")
    settings = settings_from_args(args)
    campaigns = load_campaigns(settings.scenario)  # a campaign scenario or a platform scenario
    db = Database(settings.database_url)
    try:
        for catalogue in campaigns:
            bootstrap(db, catalogue)
        empty = _has_no_teachers(db)
    except Exception as exc:  # an unreachable or unusable database: say which, in one line
        raise CommandError(
            f"--database-url: cannot initialise {settings.database_url}: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        db.dispose()
    if empty:
        print("yanxiu serve: the database has no teachers or schools yet, so sign-in and school search find "
              "nothing; "
              "fill it with: yanxiu seed --teachers 1000 --out results/seed (docs/reference-ops.md)",
              file=sys.stderr, flush=True)
    os.environ.update(settings.model_copy(update={"init_db": False}).to_env())
    metrics_dir = _multiprocess_metrics(settings.workers)
    clock = "real time" if settings.clock_start is None else settings.clock_start.isoformat()
    print(
        f"yanxiu serve: {', '.join(campaigns.names())} on http://{args.host}:{args.port} "
        f"({settings.workers} worker(s), {settings.database_url}); "
        f"clock {clock}",
        flush=True,
    )
    try:
        uvicorn.run(
            "reference.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=settings.workers,
            log_level=args.log_level,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _has_no_teachers(db) -> bool:
    """No teacher rows: nothing seeded (the bootstrap itself adds only the catalogue and the
    provinces' temporary units)."""
    from sqlalchemy import func, select

    from reference.models import Teacher

    with db.session(write=False) as session:
        return not session.scalar(select(func.count()).select_from(Teacher))


def _multiprocess_metrics(workers: int) -> str | None:
    """Several workers share their Prometheus samples through files in a fresh folder."""
    if workers <= 1:
        return None
    path = tempfile.mkdtemp(prefix="yanxiu-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path
