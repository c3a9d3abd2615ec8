"""``yanxiu calibrate SCENARIO``: measure the platform's service demands and knee, write a
platform file (docs/calibration.md).

Without ``--host`` it starts the reference platform on 127.0.0.1 (seeded; SQLite, or
PostgreSQL with ``--database-url``, in a scratch database it creates and drops); with
``--host`` it measures that system through its ``/metrics`` (route map and accounts as for
``yanxiu loadtest``). The model runs first if its time series is missing.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

RESULTS = Path("results")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--out", type=Path, help="platform file to write "
                        "(default results/calibrate-<scenario>/platform.yaml)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing platform file")
    parser.add_argument("--host", help="target base URL (default: start the reference platform)")
    parser.add_argument("--route-map", type=Path, help="YAML endpoint name -> {method, path}; "
                        "must name every endpoint of the scenario")
    parser.add_argument("--accounts", type=Path, help="accounts.csv of pre-registered teachers (with --host)")
    parser.add_argument("--answers", type=Path, help="answers.json (with --host)")
    parser.add_argument("--database-url", help="PostgreSQL server: the reference runs on a scratch database "
                        "there (default SQLite); with --host: the target's database, for pg_stat busy time")
    parser.add_argument("--server-workers", type=int, default=2, help="reference server workers (default 2)")
    parser.add_argument("--stretch", default="peak-hour", help="stretch whose journeys the steps replay")
    parser.add_argument("--compress", type=float, default=144.0, help="time compression of the replay")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="scale of the first staircase step and of the mix steps (default %(default)s)")
    parser.add_argument("--step-seconds", type=float, default=25.0,
                        help="seconds per step (default %(default)s)")
    parser.add_argument("--max-steps", type=int, default=10, help="steps in all, mixes included (default 10)")
    # Config.max_holds (calibrate.config is imported only when the command runs: slow to import)
    parser.add_argument("--holds", type=int, default=5,
                        help="confirmation holds at most: steps held to their steady state near the knee "
                        "(default %(default)s; 0: the knee from the staircase, unconfirmed)")
    parser.add_argument("--budget-seconds", type=float, default=600.0,
                        help="wall time the calibration may take; holds start only if they end within it "
                        "(default %(default)s)")
    parser.add_argument("--teachers", type=int, default=400,
                        help="teachers to seed in the reference platform")
    parser.add_argument("--model-results", type=Path,
                        help="model results folder (default results/<scenario>)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (bootstrap, Poisson arrivals)")


def _check(args: argparse.Namespace) -> None:
    from yanxiu.errors import CommandError

    for name in ("compress", "scale", "step_seconds", "budget_seconds"):
        value = getattr(args, name)
        if not (value > 0 and math.isfinite(value)):
            raise CommandError(f"--{name.replace('_', '-')}: must be a positive number (got {value})")
    if args.max_steps < len(_mixes()) + 1:
        raise CommandError(f"--max-steps: must be at least {len(_mixes()) + 1} (got {args.max_steps})")
    if args.holds < 0:
        raise CommandError(f"--holds: must be 0 or more (got {args.holds})")
    if args.server_workers < 1 or args.teachers < 1:
        raise CommandError("--server-workers and --teachers: must be at least 1")
    if args.host and not args.host.startswith(("http://", "https://")):
        raise CommandError(f"--host: expected a URL such as http://127.0.0.1:8000 (got {args.host!r})")
    for name in ("route_map", "accounts", "answers"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise CommandError(f"--{name.replace('_', '-')}: no such file: {path}")


def _mixes():
    from calibrate.staircase import MIX_TAGS

    return MIX_TAGS


def run(args: argparse.Namespace) -> int:
    from calibrate.calibration import calibrate
    from calibrate.config import Config
    from calibrate.errors import CalibrationError
    from domain.scenario import load_scenario
    from loadtests.accounts import AccountsError
    from loadtests.plan import PlanError
    from loadtests.routes import RouteError
    from yanxiu.errors import CommandError
    from yanxiu.progress import Progress
    from yanxiu.replay_setup import run_model

    _check(args)
    scenario = load_scenario(args.scenario)
    model = args.model_results or RESULTS / scenario.name
    if not (model / "timeseries.csv").is_file():
        run_model(args.scenario, model)
    out = args.out or RESULTS / f"calibrate-{scenario.name}" / "platform.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    config = Config(Path(args.scenario), model, out, args.force, args.host, args.route_map, args.accounts,
                    args.answers, args.database_url, args.server_workers, args.stretch, args.compress,
                    args.scale, args.step_seconds, max_steps=args.max_steps, seed=args.seed,
                    teachers=args.teachers, max_holds=args.holds, budget_s=args.budget_seconds)
    try:
        context = _context(args, model)
        with Progress("yanxiu calibrate") as progress:
            progress.stage("measuring steps", total=args.max_steps, unit="step", quiet=True)
            result = calibrate(config, context, say=progress.say, on_step=progress.callback())
    except (CalibrationError, PlanError, RouteError, AccountsError) as exc:
        raise CommandError(str(exc)) from None
    _print(result)
    return 0


def _context(args: argparse.Namespace, model: Path):
    from loadtests.options import build_context

    return build_context(argparse.Namespace(
        scenario=args.scenario, model_results=str(model), stretch=args.stretch, compress=args.compress,
        scale=args.scale, accounts="", answers="", route_map=str(args.route_map or ""), bin_seconds=10.0,
        max_sessions=1, seed=args.seed, mobile_base=0, arrival_process="deterministic",
        max_duration=args.step_seconds))


def _print(result) -> None:
    for tier, fit in result.fits.items():
        print(f"{tier}: idle {fit.idle_rate:.3f} busy s/s, R² {fit.r2:.3f} over {fit.rows} bins; "
              "demand ms [95% CI]:")
        for endpoint, d in fit.demands.items():
            if d.requests:
                print(f"    {endpoint:<16} {d.ms:8.3f} [{d.lo_ms:.3f}, {d.hi_ms:.3f}]  "
                      f"({d.requests:,} requests)")
    k = result.knee
    rate = f"{k.rate_rps:.1f} req/s (step {k.step})" if k.rate_rps is not None else "no step met the SLO"
    print(f"knee: {rate} at p95 <= {k.slo_p95_ms:g} ms, errors <= {100 * k.slo_error_rate:g}%"
          + (f"; {k.note}" if k.note else ""))
    if k.how:
        print(f"    {k.how}")
    busy = _busy_machine(result.platform_path)
    if busy:
        print(busy)
    print(f"calibration took {result.wall_s:.0f} s; platform file {result.platform_path} "
          f"(provenance {result.provenance_path})")


def _busy_machine(platform_path: Path) -> str:
    """A line when the host did more than ``BUSIER_CORES`` of other work beside the calibration:
    the api's CPU per request grows with it (docs/calibration.md), so its demands and knee hold
    for a machine about that busy, which an engineer reading only the knee would not know."""
    from calibrate.compare import load_calibration
    from calibrate.meter import BUSIER_CORES

    found = (load_calibration(platform_path) or {}).get("background")
    if not found or float(found.get("other_cores") or 0.0) <= BUSIER_CORES:
        return ""
    return (f"the host did {found['other_cores']:.2f} cores of other work beside the calibration "
            f"(of {found['host_cores']}; max {found['max_other_cores']:.2f}): its demands and knee hold for "
            "a machine about this busy; calibrate on a quiet one for the platform alone")
