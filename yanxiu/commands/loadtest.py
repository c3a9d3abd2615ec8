"""``yanxiu loadtest SCENARIO``: replay a stretch of the simulated campaign against a live system.

Without ``--host`` it starts the reference platform on loopback (seeded, SQLite in a
temporary folder), replays, and stops it; with ``--host`` it drives that system, using
``--route-map`` for paths that differ and ``--accounts`` for pre-registered teachers.
The model runs first if ``results/<scenario>/timeseries.csv`` is missing. Results land in
``results/<run>/`` (docs/results.md). A platform scenario's campaigns are replayed together
(``yanxiu.commands.loadtest_platform``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path

from records import LoadtestSummary
from records.prediction import AtLoad, Prediction
from yanxiu import replay_setup as setup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file (a platform scenario: its campaigns together)")
    parser.add_argument("--stretch", default="peak-day",
                        help="peak-day, peak-hour, window, a date, or a range A..B (default %(default)s)")
    parser.add_argument("--compress", type=float, default=144.0,
                        help="time compression: a model minute lasts 60/compress s (default %(default)s)")
    parser.add_argument("--scale", default="auto",
                        help="share of the model's full-scale arrivals, or auto: a 20,000-teacher "
                        "campaign's worth, e.g. 0.0015 of winter-2023, all of smoke (default %(default)s)")
    parser.add_argument("--host", help="target base URL (default: start the reference platform)")
    parser.add_argument("--duration", type=float,
                        help="replay at most this many seconds (the stretch's first minutes)")
    parser.add_argument("--out", type=Path,
                        help="results folder (default results/loadtest-<scenario>-<time>)")
    parser.add_argument("--processes", type=int, default=0,
                        help="Locust worker processes (distributed mode on this machine; default 0 = one)")
    parser.add_argument("--model-results", type=Path,
                        help="model results folder (default results/<scenario>)")
    parser.add_argument("--route-map", type=Path, help="YAML/JSON endpoint name -> {method, path}")
    parser.add_argument("--api", metavar="MODULE:CLASS",
                        help="adapter for the target's API (default: the reference platform's; "
                        "docs/loadtests.md, Staging)")
    parser.add_argument("--accounts", type=Path, help="accounts.csv of pre-registered teachers (with --host)")
    parser.add_argument("--answers", type=Path, help="answers.json {question_id: choice} (with --host)")
    parser.add_argument("--sms-code", default="246810", help="fixed SMS code of test mobiles")
    parser.add_argument("--teachers", type=int, help="teachers to seed in the reference platform "
                        "(default: enough for the replayed sessions)")
    parser.add_argument("--server-workers", type=int, default=1, help="reference server workers")
    parser.add_argument("--server-max-in-flight", type=int,
                        help="reference server: requests in flight per worker before shedding (503)")
    parser.add_argument("--server-waiting-room", type=float,
                        help="reference server: logins a second per worker before the login queue (429)")
    parser.add_argument("--no-progress", action="store_true",
                        help="seed teachers with no study progress (default: the progress the model "
                        "predicts at the stretch's first minute): a session starts the first course from its "
                        "first resource, so a stretch in which accounts do not come back takes no test "
                        "where a course needs more than one session (smoke's peak hour: none), and "
                        "--resume-sessions resumes none in flight")
    parser.add_argument("--arrival-process", choices=["deterministic", "poisson"], default="deterministic")
    parser.add_argument("--bin-seconds", type=float, default=10.0,
                        help="test seconds per bin of the achieved-vs-planned check")
    parser.add_argument("--tags", nargs="*", default=[], help="journeys to run (Locust tags)")
    parser.add_argument("--exclude-tags", nargs="*", default=[], help="journeys to leave out")
    parser.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    parser.add_argument("--resume-sessions", action="store_true",
                        help="start with the sessions the model has in progress at the first minute "
                        "(remaining time drawn as the model has them), not an empty system")
    parser.add_argument("--platform", type=Path, help="calibrated platform file (yanxiu calibrate): the "
                        "model's prediction for this load beside the measurement (docs/calibration.md)")
    parser.add_argument("--registrations", type=Path, help="CSV with a mobile column: the numbers new "
                        "teachers register with, each once (default: made-up 166 numbers)")
    parser.add_argument("--database-url", help="the reference platform's database (an empty one; default: "
                        "SQLite in a temporary folder), e.g. postgresql+psycopg://user@127.0.0.1/loadtest")
    multi = parser.add_argument_group("several hosts (Locust's master and workers)")
    multi.add_argument("--expect-workers", type=int, help="run as the master and wait for this many workers")
    multi.add_argument("--master-bind-host", default="*", help="master: interface workers connect to")
    multi.add_argument("--master-bind-port", type=int, default=5557, help="master: its port (default 5557)")
    multi.add_argument("--expect-workers-max-wait", type=float, default=120.0,
                       help="master: seconds to wait for the workers (default %(default)s)")
    multi.add_argument("--master-host", help="run as a worker of the master on this host")
    multi.add_argument("--master-port", type=int, default=5557, help="worker: the master's port")


def run(args: argparse.Namespace) -> int:
    from domain.scenario import load_scenario
    from loadtests.accounts import AccountsError
    from loadtests.adapters import AdapterError
    from loadtests.plan import PlanError
    from loadtests.routes import RouteError
    from yanxiu.errors import CommandError

    _check_numbers(args)
    if args.master_host:
        from loadtests.run import run_worker

        return run_worker(args.master_host, args.master_port, Path.cwd())
    from domain.platform import is_platform_document, load_platform
    from domain.scenario import read_document

    if is_platform_document(read_document(args.scenario)):
        from yanxiu.commands import loadtest_platform

        return loadtest_platform.run(load_platform(args.scenario), args)
    scenario = load_scenario(args.scenario)
    model = args.model_results or setup.RESULTS / scenario.name
    if not (model / "timeseries.csv").is_file():
        setup.run_model(args.scenario, model)
    try:
        context = setup.replay_context(args, model)
        if args.host:
            _check_fixtures(args, context)
    except (PlanError, RouteError, AccountsError, AdapterError) as exc:
        raise CommandError(str(exc)) from None
    out = args.out or setup.RESULTS / f"loadtest-{scenario.name}-{setup.now_slug()}"
    if args.host:
        if not args.accounts:
            raise CommandError("--accounts: needed with --host (pre-registered teachers log in)")
        return _replay(args, context, model, out, args.host, args.accounts, args.answers)
    from loadtests.target import ReferenceTarget

    clock = context.plan.first_minute.replace(tzinfo=None).isoformat(timespec="minutes")
    progress_at = None if args.no_progress else setup.progress_instant(context)
    shares = {str(sub): float(p) for sub, p in scenario.population.sub_platforms.items()}
    stages = setup.studying_by_stage(model, context.campaign, progress_at) if progress_at else None
    teachers = args.teachers or setup.teachers_needed(context.plan, model, args.resume_sessions, shares,
                                                      stages)
    in_session = setup.in_session_to_seed(context.plan, shares) if args.resume_sessions else 0
    with ReferenceTarget(Path(args.scenario), teachers, clock, args.sms_code, args.server_workers,
                         setup.clock_rate(context.plan.compress),
                         progress_at=progress_at, model_results=model,
                         database_url=args.database_url, serve_options=setup.serve_options(args),
                         resumed=in_session) as target:
        assert target.process is not None  # entering the target started its server
        return _replay(args, context, model, out, target.url, target.accounts, target.answers,
                       server=(target.process.pid, args.server_workers))


def _check_numbers(args: argparse.Namespace) -> None:
    from yanxiu.errors import CommandError

    for name in ("server_max_in_flight", "server_waiting_room"):
        value = getattr(args, name)
        if value is not None and (value < 0 or not math.isfinite(value)):
            raise CommandError(f"--{name.replace('_', '-')}: must be 0 or more (got {value})")
    if (args.server_max_in_flight is not None or args.server_waiting_room is not None) and args.host:
        raise CommandError("--server-max-in-flight, --server-waiting-room: for the reference platform "
                           "this command starts, not with --host")

    if not (args.compress > 0 and math.isfinite(args.compress)):
        raise CommandError(f"--compress: must be a positive number (got {args.compress})")
    if args.scale != "auto":
        try:
            scale = float(args.scale)
        except ValueError:
            raise CommandError(f"--scale: expected a number or auto (got {args.scale!r})") from None
        if not (0 < scale <= 1000):
            raise CommandError(f"--scale: must be in (0, 1000] (got {args.scale})")
    if args.duration is not None and not args.duration > 0:
        raise CommandError(f"--duration: must be positive seconds (got {args.duration})")
    if args.processes < 0:
        raise CommandError(f"--processes: must be 0 or more (got {args.processes})")
    if args.expect_workers is not None and (args.expect_workers < 1 or args.processes):
        raise CommandError(f"--expect-workers: must be at least 1, and not with --processes "
                           f"(got {args.expect_workers})")
    if args.master_host and args.expect_workers:
        raise CommandError("--master-host: a worker; --expect-workers: a master; not both")
    if args.database_url and args.host:
        raise CommandError("--database-url: for the reference platform this command starts, not with --host")
    if args.teachers is not None and args.teachers < 1:
        raise CommandError(f"--teachers: must be at least 1 (got {args.teachers})")
    if args.host and not args.host.startswith(("http://", "https://")):
        raise CommandError(f"--host: expected a URL such as http://127.0.0.1:8000 (got {args.host!r})")
    for name in ("route_map", "accounts", "answers", "registrations"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise CommandError(f"--{name.replace('_', '-')}: no such file: {path}")


def _check_fixtures(args: argparse.Namespace, context) -> None:
    """The accounts file's header and kinds, the registrations and answers files: read now,
    so a wrong file is one line before Locust starts, not an error inside it."""
    from loadtests.accounts import load_accounts, load_answers, load_registrations
    from loadtests.options import check_accounts

    context.accounts = load_accounts(args.accounts) if args.accounts else []
    check_accounts(context)
    if args.registrations:
        load_registrations(args.registrations)
    load_answers(args.answers)


def _replay(args, context, model: Path, out: Path, host: str, accounts, answers,
            server: tuple[int, int] | None = None) -> int:
    from loadtests.run import LocustRun
    from records import read_summary
    from yanxiu.errors import CommandError
    from yanxiu.progress import Progress

    plan = context.plan
    options = setup.replay_options(args, context, model, accounts, answers)
    print(f"yanxiu loadtest: {context.scenario.name} {context.stretch.label}: {plan.minutes} model minutes "
          f"in {plan.duration_s:.0f} s, scale {plan.scale:.4g}, {plan.total():.0f} arrivals planned, "
          f"against {host}", flush=True)
    locust = LocustRun(host, out, plan.duration_s, options, args.processes, args.tags, args.exclude_tags,
                       set_up_s=plan.set_up_s())
    if args.expect_workers:
        locust.as_master(args.expect_workers, args.master_bind_host, args.master_bind_port,
                         args.expect_workers_max_wait)
        print(f"master: waiting for {args.expect_workers} workers on port {args.master_bind_port} "
              f"(yanxiu loadtest {args.scenario} --master-host <this host> --master-port "
              f"{args.master_bind_port})", flush=True)
    meter = _meter(args, host, server)
    with meter or contextlib.nullcontext(), Progress("yanxiu loadtest") as progress:
        progress.stage("replaying", total=locust.run_time_s(), unit="second")
        code = locust.execute(Path.cwd(), on_second=progress.callback())
    summary_path = out / "summary.json"
    if code not in (0, 1) or not summary_path.is_file():
        tail = " / ".join(locust.log_tail(2)) or "no output"
        raise CommandError(f"locust failed (exit {code}): {tail} (log: {out / 'locust.log'})")
    # locust wrote the summary (loadtests.summary, model_results included); read it back typed
    summary = read_summary(out, LoadtestSummary)
    summary = setup.with_plan(summary, out, model, context.scenario)
    if args.platform:
        summary = _predicted(args, summary, out, model, host, server, meter)
    _print(summary, out)
    if not summary.trustworthy:
        # one line, so a CI log shows why the run cannot be used (the details: summary.json)
        reasons = "; ".join(summary.verdict or ["see summary.json"])
        print(f"yanxiu loadtest: NOT trustworthy: {reasons}", file=sys.stderr)
        return 1
    return 0


def _meter(args, host: str, server: tuple[int, int] | None):
    """Tier utilisation during the replay, for the prediction (only with --platform)."""
    if not args.platform:
        return None
    from calibrate.meter import TierMeter

    pid, cores = server if server else (None, None)
    if not (server and args.database_url):
        return TierMeter(host, pid, cores)
    # the reference on PostgreSQL: its server's CPU, over the calibrated database tier's servers
    from calibrate.compare import pool_servers
    from domain.scenario import load_scenario

    return TierMeter(host, pid, cores, database_url=args.database_url,
                     database_servers=pool_servers(load_scenario(args.platform), "database"))


def _predicted(args, summary: LoadtestSummary, out: Path, model: Path, host: str, server, meter):
    """The model's prediction for this exact load on the calibrated platform, beside the
    measurement, into summary.json (``prediction`` and its gate metrics)."""
    from calibrate.compare import compare, load_calibration
    from domain.scenario import load_scenario
    from records import write_summary

    platform = load_scenario(args.platform)
    from calibrate.target import reference_kind

    tested = reference_kind(bool(args.database_url), server[1]) if server else host
    comparison = compare(summary, out, platform, model / "timeseries.csv",
                         load_calibration(args.platform), tested, meter.utilisation(summary.duration_s),
                         seed=args.seed or 0, host=meter.host,
                         in_app_ms=meter.in_app_ms())
    prediction = comparison.model_copy(update={"platform_file": str(args.platform)})
    metrics = {**summary.metrics, **prediction.metrics}
    summary = summary.model_copy(update={"prediction": prediction, "metrics": metrics})
    write_summary(out, summary)
    _print_prediction(prediction)
    return summary


def _print_prediction(p: Prediction) -> None:
    if not p.comparable:
        print(f"prediction NOT compared: {p.reason}")
        return
    print("prediction vs measured (relative error; latency errors for endpoints with >= 1,000 requests)")
    _print_side_by_side("at the planned load (the model's requests)", p.planned())
    if p.at_achieved is not None:
        _print_side_by_side("at the achieved load (the gate's prediction_error metrics)", p.at_achieved)
    for tier, note in p.coverage.items():
        print(f"  utilisation {tier}: {note}")
    if p.background is not None and p.background.note:
        print(f"  the machine: {p.background.note}")
    if p.in_app:
        print("  time inside the server (its own middleware) / the test's mean: " + ", ".join(
            f"{name} {row.in_app_ms:.1f}/{row.mean_ms:.1f} ms" for name, row in p.in_app.items()))


def _print_side_by_side(title: str, at: AtLoad) -> None:
    print(f"  {title}:")
    for endpoint, rows in at.endpoints.items():
        cells = []
        for figure in ("rps", "mean_ms", "p95_ms", "p99_ms"):
            row = rows.get(figure)
            if row is None:
                continue
            error = row.relative_error
            cells.append(f"{figure} {row.predicted or 0:.4g}/{row.measured or 0:.4g}"
                         + (f" ({100 * error:+.0f}%)" if error is not None else ""))
        print(f"    {endpoint:<15} " + ", ".join(cells))
    for tier, tier_row in at.tiers.items():
        if tier_row.measured is not None:
            print(f"    utilisation {tier}: predicted {tier_row.predicted:.3f}, "
                  f"measured {tier_row.measured:.3f}")


def _print(summary: LoadtestSummary, out: Path) -> None:
    a, t, cpu = summary.arrivals, summary.total, summary.generator_cpu
    within = "within" if a.within_10pct else "NOT within"
    print(f"arrivals   {a.achieved} of {a.planned:.1f} planned, {a.dropped} dropped, "
          f"max bin error {100 * a.max_bin_error:.1f}% ({within} 10%)")
    if t.requests:
        print(f"requests   {t.requests}, {t.rps:.1f}/s, errors {100 * t.error_rate:.2f}%, "
              f"p50 {t.p50_ms:.0f} ms, p95 {t.p95_ms:.0f} ms, p99 {t.p99_ms:.0f} ms")
    print(f"generator  CPU max {cpu.max}%, mean {cpu.mean}%")
    _print_plan(summary)
    problems = summary.exceptions.count if summary.exceptions else 0
    if problems or a.idle or a.no_account or a.untasked:
        print(f"sessions   {problems} exceptions, {a.idle} without a request, no account: "
              f"{a.no_account or 0}, not started (no task): {a.untasked or 0}")
    print(f"verdict    {'trustworthy' if summary.trustworthy else 'NOT trustworthy'}")
    print(f"results in {out}")


def _print_plan(summary: LoadtestSummary) -> None:
    rows = {name: row for name, row in summary.requests_vs_plan.items() if row.planned >= 1}
    if not rows:
        return
    print("requests   achieved / planned by the model; per 10-s bin planning >= 20: within 10%, "
          "else within the sampling band (2 sd of two samples of sessions) or not")
    for name, row in rows.items():  # the sessions' own count over the stretch when known (no drain)
        got = row.in_stretch if row.in_stretch is not None else row.achieved
        ratio = f"{float(got) / row.planned:.2f}x"
        print(f"    {name:<15} {got:>9,.0f} / {row.planned:>9,.1f} ({ratio})"
              + (f": {row.judgement}" if row.judgement else ""))
    off = summary.requests_off_plan
    print(f"requests   {'NOT on' if off else 'on'} the model's plan"
          + (f" beyond sampling noise: {', '.join(line.split(':')[0] for line in off)}" if off else
             " (within 10% or sampling noise, over the stretch and from the first bin)"))


