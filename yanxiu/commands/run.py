"""``yanxiu run SCENARIO``: simulate a campaign and size the platform.

Writes ``results/<scenario file name>/`` (docs/results.md; a copied scenario never writes over
the original's results), replacing an earlier run's folder whole so no stale report is left
beside new results: per-minute time series, daily outcomes,
test attempts, summary.json with peaks, SLO compliance and capacity, and charts.
A scenario with a ``workload:`` section runs the request-level queueing experiment instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from records.model import Comparison, ConfirmedMinute, ModelSummary
from yanxiu.progress import Progress


def _whole_number(minimum: int):
    """An argparse type: an integer no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive = _whole_number(1)
_seed = _whole_number(0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--teachers", type=_positive,
                        help="teachers in the population (default: the scenario's)")
    parser.add_argument("--seed", type=_seed, help="random seed (default: the scenario's)")
    parser.add_argument("--out", type=Path,
                        help="results folder (default: results/<scenario file name>); an earlier "
                             "run's folder there is replaced whole")
    parser.add_argument("--replications", type=_positive, default=1,
                        help="independent replications for 95%% confidence intervals")
    parser.add_argument("--scheduler", metavar="ADDR",
                        help="run replications on this Dask scheduler (needs yanxiu[dask])")
    parser.add_argument("--max-simulated", type=_positive, default=None,
                        help="simulate at most this many participants one by one; above it a "
                             "weighted stratified sample (default 500,000)")
    parser.add_argument("--shards", type=_positive, default=None,
                        help="groups of teachers simulated side by side, coupled each minute "
                             "through the platform (part of the run's identity, like the seed; "
                             "default: 1 below 100,000 simulated teachers, else 2)")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="processes running the shards (speed only; default: one per shard, "
                             "at most the cores)")
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument("--capacity", metavar="TIER=SIZE,...",
                        help="what-if tier sizes, e.g. api=60,database=20 (pool: servers, bandwidth: Gbps), "
                             "or shares of the run's own need: api=80%% (of the plan, service-level "
                             "headroom included), api=80%%min (of the minimum meeting the latency "
                             "targets); a share first runs the model at the scenario's capacity")
    parser.add_argument("--ranges", type=_positive, metavar="N",
                        help="N more runs, each with parameters drawn from the fitted posterior and "
                             "its own seed: every peak and capacity need as a 90%% range (docs/fit.md)")
    parser.add_argument("--posterior", type=Path, metavar="FILE",
                        help="fitted behaviour file for --ranges (default: the scenario's behaviour_file)")
    parser.add_argument("--no-confirm", action="store_true",
                        help="skip the request-level confirmation of the busiest minutes")


def run(args: argparse.Namespace) -> int:
    from sim import native

    native.install()  # the compiled hot modules, if current: before any of them is imported
    from domain.platform import PlatformScenario, load_any

    scenario = load_any(args.scenario)
    out = args.out or Path("results") / Path(args.scenario).stem
    sizes = _capacity_sizes(scenario, args)  # a bad --capacity fails before anything is removed
    clear_results_folder(out)
    if isinstance(scenario, PlatformScenario):  # several campaigns on one platform
        from yanxiu.commands import run_platform

        return run_platform.run(scenario, args, out)
    if scenario.workload is not None:
        return _workload(scenario, args, out)
    what_if = None
    if sizes is not None:
        scenario, what_if = _with_capacity(scenario, sizes, args)
    return _model(scenario, args, out, what_if)


def _capacity_sizes(scenario, args: argparse.Namespace):
    """--capacity parsed against the scenario's tiers (None without it)."""
    from domain.platform import PlatformScenario
    from sim import capacity
    from yanxiu.errors import CommandError

    if not getattr(args, "capacity", None):
        return None
    if isinstance(scenario, PlatformScenario) or scenario.workload is not None:
        kind = "a platform scenario" if isinstance(scenario, PlatformScenario) else "a workload scenario"
        raise CommandError(f"--capacity: not available for {kind} (change the tiers in its file)")
    try:
        return capacity.parse_capacity(args.capacity, scenario)
    except capacity.CapacityError as exc:
        raise CommandError(str(exc)) from None


def _with_capacity(scenario, sizes: dict, args: argparse.Namespace):
    """The scenario resized by --capacity, and summary.json's ``what_if``. A relative size
    (api=80%, api=80%min) is a share of the run's own need: the model runs once at the
    scenario's capacity to measure it."""
    from sim import capacity
    from yanxiu.errors import CommandError

    try:
        if not capacity.is_relative(sizes):
            resolved = capacity.resolve(sizes, {}, scenario)
            return (capacity.with_capacity(scenario, resolved),
                    capacity.what_if(sizes, resolved, {}, scenario))
        needs, raised = _measured_needs(scenario, args)
        resolved = capacity.resolve(sizes, needs, scenario)
    except capacity.CapacityError as exc:
        raise CommandError(str(exc)) from None
    print("--capacity " + "; ".join(capacity.describe(sizes, resolved, needs)))
    return (capacity.with_capacity(scenario, resolved),
            capacity.what_if(sizes, resolved, needs, scenario, measured_at=raised))


def _measured_needs(scenario, args: argparse.Namespace):
    """Each tier's plan and minimum measured on a platform that keeps up: first at the
    scenario's capacity, then, while some tier is short of its plan (its load swollen by
    retries and come-backs), with those tiers raised to the plan (sim.capacity.short_tiers).
    Returns the needs and the raised sizes ({} when the scenario's capacity kept up)."""
    from sim import capacity
    from sim.model import DEFAULT_MAX_SIMULATED, run_model

    seed = scenario.seed if args.seed is None else args.seed
    base, raised = scenario, dict[str, float]()
    for _ in range(capacity.MAX_BASE_RUNS):
        where = "the scenario's capacity" if not raised else "raised " + ", ".join(
            f"{name}={size:,.6g}" for name, size in raised.items())
        with Progress("yanxiu run") as progress:
            progress.stage(f"measuring the need at {where} (for --capacity {args.capacity})", unit="day")
            run = run_model(base, args.teachers, seed, args.max_simulated or DEFAULT_MAX_SIMULATED,
                            on_day=progress.callback(), shards=args.shards, workers=args.workers)
        needs = capacity.run_needs(run)
        short = capacity.short_tiers(base, needs)
        if not short:
            if raised:
                print("--capacity: the need was measured with tiers short of their plan raised to it: "
                      + ", ".join(f"{name}={size:,.6g}" for name, size in raised.items()), file=sys.stderr)
            return needs, raised
        raised |= short
        base = capacity.with_capacity(scenario, raised)
    raise capacity.CapacityError(
        f"--capacity: after {capacity.MAX_BASE_RUNS} runs some tier was still short of its plan "
        f"({', '.join(short)}), so its need cannot be measured; give its size")


def clear_results_folder(out: Path) -> None:
    """Make ``out`` ready for a new run. An earlier run's folder (it has summary.json) is removed
    whole, report included, and the run says so: new results never sit beside a stale report.
    A folder of anything else is refused rather than emptied."""
    import shutil

    from yanxiu.errors import CommandError

    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out}: exists and is not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / "summary.json").is_file():
        raise CommandError(f"--out {out}: not empty and not a results folder (no summary.json); "
                           "choose an empty or new folder")
    shutil.rmtree(out)
    print(f"replacing the earlier results in {out}/ (its files and report removed)", file=sys.stderr)


def _model(scenario, args: argparse.Namespace, out: Path, what_if: dict | None = None) -> int:
    from sim import replications
    from sim.model import DEFAULT_MAX_SIMULATED, run_model
    from sim.outputs import writer as outputs

    cap = args.max_simulated or DEFAULT_MAX_SIMULATED
    if args.ranges:  # a missing or malformed posterior fails before the long runs
        _posterior_or_fail(scenario, args)
    seed = scenario.seed if args.seed is None else args.seed
    with Progress("yanxiu run") as progress:
        progress.stage("simulating the campaign", unit="day")
        model_run = run_model(scenario, args.teachers, seed, cap, on_day=progress.callback(),
                              shards=args.shards, workers=args.workers)
        intervals = None
        if args.replications > 1:
            progress.stage(f"running {args.replications - 1} more replications"
                           + (f" on {args.scheduler}" if args.scheduler else ""))
            extra = replications.run_extra(scenario, args.teachers, seed, args.replications, cap,
                                           args.scheduler, shards=model_run.shards)
            intervals = replications.confidence([replications.key_figures(model_run), *extra])
            intervals["seeds"] = [replications.replication_seed(seed, i) for i in range(args.replications)]
        progress.stage("writing results" + ("" if args.no_confirm else " and the request-level check"))
        summary = outputs.write_results(model_run, out, scenario_path=str(args.scenario),
                                        replications=intervals, confirm=not args.no_confirm)
        if what_if is not None:
            summary = _with_what_if(summary, what_if, out)
        if not args.no_charts:
            progress.stage("drawing the charts")
            write_charts(out)
    if args.ranges:
        summary = _ranges(scenario, args, seed, cap, out, summary)
    _report(summary, out)
    return 0


def _with_what_if(summary: ModelSummary, what_if: dict, out: Path) -> ModelSummary:
    """summary.json with the --capacity what-if recorded (records.model.WhatIf)."""
    from records import write_summary

    summary = ModelSummary.model_validate({**summary.as_json(), "what_if": what_if})
    write_summary(out, summary)
    return summary


def write_charts(folder: Path) -> None:
    """The report package draws the model's PNGs from the folder just written (one drawing per
    chart, the same as in report.html)."""
    from report.pngs import write_model_pngs

    write_model_pngs(folder)


def _posterior_or_fail(scenario, args: argparse.Namespace) -> None:
    from fit.errors import FitError
    from fit.ranges import posterior_file
    from yanxiu.errors import CommandError

    try:
        posterior_file(scenario, args.posterior)
    except FitError as exc:
        raise CommandError(str(exc)) from None


def _ranges(scenario, args: argparse.Namespace, seed: int, cap: int, out: Path, summary):
    """Draws from the fitted posterior added to summary.json (fit.ranges)."""
    from fit import ranges
    from fit.errors import FitError
    from records import write_summary
    from yanxiu.errors import CommandError

    try:
        with Progress("yanxiu run") as progress:
            progress.stage("running posterior draws" + (f" on {args.scheduler}" if args.scheduler else ""),
                           total=args.ranges, unit="draw")
            record = ranges.ranges_record(scenario, args.posterior, args.ranges, args.teachers, seed, cap,
                                          args.scheduler, on_draw=progress.callback())
    except FitError as exc:
        raise CommandError(str(exc)) from None
    summary = summary.model_copy(update={"ranges": record})
    write_summary(out, summary)
    print("\n".join(ranges.lines(record)))
    return summary


def _report(summary: ModelSummary, out: Path) -> None:
    o = summary.outcomes
    peaks = summary.peaks
    print(f"{summary.scenario}: {summary.participants:,} participants "
          f"({summary.simulated:,} simulated, weight {summary.weight:.3g})")
    print(f"  peak requests/s {peaks['rps.total'].value:,.0f} at {peaks['rps.total'].at}; "
          f"peak sessions {peaks['sessions'].value:,.0f}; "
          f"peak egress {peaks['egress_gbps'].value:,.1f} Gbps")
    print(f"  completed {o['share_completed']:.1%}, errors {o['rate_errors']:.2%}, "
          f"sessions lost {o['rate_sessions_lost']:.2%}")
    for tier, cap in summary.capacity.items():
        needed = "an unbounded amount of" if cap.needed is None else f"{cap.needed:,.4g}"  # None: inf
        unit = "server" if cap.unit == "servers" and needed == "1" else cap.unit
        minimum = "" if cap.minimum is None else f"; keeps its latency targets down to {cap.minimum:,.4g}"
        print(f"  {tier}: needs {needed} {unit} with headroom (provided {cap.provided:,.4g}{minimum})")
    if summary.confirmation is not None and summary.confirmation.minutes:
        _confirmation_lines(summary.confirmation.minutes[0])
    print(f"results in {out}/")


def _confirmation_lines(minute: ConfirmedMinute) -> None:
    """One line per tier: the tier model against the request-level simulation of the minute."""
    if minute.skipped:
        print(f"  request-level check of {minute.at} skipped: {minute.skipped}")
        return
    print(f"  request-level check of {minute.at} ({minute.seconds:.4g} s at its rates, "
          f"{minute.replications} replications; model / simulated [95% CI]):")
    for tier, f in minute.tiers.items():
        util = f.utilisation
        print(f"    {tier}: {f.requests:,.0f} requests, utilisation {util.model:.3%} / "
              f"{util.simulated:.3%}; wait {_ms(f.mean_wait_s)}; p95 {_ms(f.p95_s)}; "
              f"p99 {_ms(f.p99_s)}")


def _ms(figure: Comparison) -> str:
    return f"{figure.model_simulated()} ms"


def _workload(scenario, args: argparse.Namespace, out: Path) -> int:
    from sim.tiers.experiments import run_workload, write_workload

    result = run_workload(scenario, args.seed, args.replications if args.replications > 1
                          else None)
    write_workload(result, out, scenario_path=str(args.scenario))
    print(f"{scenario.name}: Poisson workload at {result.rate_per_s:g}/s on {result.endpoint}, "
          f"{result.replications} replications; results in {out}/")
    _print_workload(result)
    return 0


def _print_workload(result) -> None:
    """Each tier's measured figures with their 95% CI beside the queueing theory."""
    names = {"utilisation": "utilisation", "mean_wait_s": "mean wait", "mean_response_s": "mean response",
             "p95_s": "p95 response", "p99_s": "p99 response"}
    for tier, metrics in result.measured.items():
        print(f"  {tier} (measured [95% CI] / theory, error):")
        for key, label in names.items():
            est, exact = metrics[key], result.theory[tier].get(key)
            scale, unit = (1.0, "") if key == "utilisation" else (1000.0, " ms")
            theory = f"{exact * scale:.4g}{unit}" if exact is not None else "-"
            error = f", {100 * (est.mean / exact - 1):+.1f}%" if exact else ""
            print(f"    {label:<14} {est.mean * scale:.4g}{unit} [{est.lo * scale:.4g}, {est.hi * scale:.4g}]"
                  f" / {theory}{error}")
