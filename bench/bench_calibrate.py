"""Calibrate the reference platform, then validate the calibrated model against load tests.

    .venv/bin/python bench/bench_calibrate.py [--scenario scenarios/smoke.yaml] [--levels 0.3 0.6 0.85 1.1]
        [--step-seconds 20] [--test-compress 36] [--database-url postgresql+psycopg://postgres@127.0.0.1/test]
        [--platform platform.yaml --model-results FOLDER] [--out FOLDER]

A reference platform (SQLite, 2 workers; or PostgreSQL in a scratch database) is seeded and
served on 127.0.0.1; ``calibrate.calibration.calibrate`` measures it (the same code as
``yanxiu calibrate``) and writes a platform file (``--platform``: an existing one, its knee from
the calibration's json beside it, so that levels are re-run without calibrating); then one load
test of the scenario's mix per level: at level L the replay's busiest window of the knee's judged
length (40 s) plans L x the knee's rate (``calibrate.levels``; before, L x the knee's scale ran
the peak hour's busiest 40 s at 1.13 L x the knee's rate: 2026-11-30 19:16), each against a reference
platform of the same kind seeded and started for that replay as
``yanxiu loadtest`` starts its own (``_level_seeding``), and ``calibrate.compare`` puts the
calibrated model's prediction for that exact load beside the measurement. Printed per level:
throughput, bottleneck-tier utilisation, mean and p95 latency per endpoint with >= 1,000
requests, the error rates; at every level overload predicted and measured, judged alike
(``calibrate.overload``); once, the knee's bracket, the model's knee on the knee's load
(``calibrate.model_knee``) and the endpoint mix of the knee's judged minutes beside the busiest
window's. Levels above an inexact knee: from its bracket's top (``levels.Knee.for_level``).
Errors are printed as they are, with the comparison's reason when it was not comparable. Each
level's plan, figures and comparisons are written to its folder's ``level.json``, the bench's to
``bench.json`` (``calibrate.level_records``).

Same-run baseline: the wall time of the calibration beside the wall time of one of its steps
(its ratio is the number of steps' worth of time the whole calibration took), and the load
average before and after (the machine is shared: latencies measured under a load of 10-20 on
2 cores are mostly the other work's). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    parser.add_argument("--model-results", type=Path, help="model results (default: run the model)")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.3, 0.6, 0.85, 1.1])
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--test-compress", type=float, default=36.0,
                        help="compression of the validation tests: the peak hour lasts 3600/compress s; "
                        "their scale is raised by 144/compress to keep the knee's request rate")
    parser.add_argument("--max-steps", type=int, default=8)
    # the calibration's target only (its steps replay 20 s each, from the file's first teacher);
    # each validation level seeds its own target for its replay (_level_seeding)
    parser.add_argument("--teachers", type=int, default=2000)
    parser.add_argument("--database-url", help="PostgreSQL server (default SQLite)")
    parser.add_argument("--resume-sessions", type=int, default=0, choices=(0, 1))
    parser.add_argument("--out", type=Path, help="folder for everything (default a temporary one)")
    parser.add_argument("--platform", type=Path, help="validate an existing calibration's platform file "
                        "(its knee from the calibration.json beside it) instead of calibrating")
    return parser.parse_args()


def _model(args, work: Path) -> Path:
    if args.model_results:
        return args.model_results
    import subprocess

    folder = work / "model"
    print(f"running the model for {args.scenario.name} ...", flush=True)
    subprocess.run([sys.executable, "-m", "yanxiu.cli", "run", str(args.scenario), "--out", str(folder),
                    "--no-charts", "--no-confirm"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder


def _context(args, model: Path, scale: float, seconds: float, compress: float = 144.0):
    from loadtests.options import build_context

    return build_context(argparse.Namespace(
        scenario=str(args.scenario), model_results=str(model), stretch="peak-hour", compress=compress,
        scale=scale, accounts="", answers="", route_map="", bin_seconds=10.0, max_sessions=1, seed=0,
        mobile_base=0, arrival_process="deterministic", max_duration=seconds))


def _level_seeding(args, context, model: Path) -> dict:
    """How a validation level's target is seeded and started: as ``yanxiu loadtest`` seeds its
    own for the same replay (``teachers_needed``; with ``--resume-sessions``, the in-session
    accounts its resumed sessions take, ``Plan.resumed_count``), its campaign clock at the
    stretch's first minute running at the level's compression. Each level had replayed on the
    calibration's target: its clock ran at the staircase's compression (144) from the
    calibration's start, so a level began ~12 campaign hours past the stretch and ran 4x
    faster than its 36x replay; its accounts were the staircase's and the earlier levels'
    (studied with: 0.41x the planned heartbeats in a first bin), and untouched ones ran out
    above 60% of a 500/s knee with 10,000 teachers. Sized from the level's own plan, a fresh
    target has them whatever the knee."""
    from yanxiu.replay_setup import clock_rate, in_session_to_seed, progress_instant, teachers_needed

    plan = context.plan
    resume = bool(args.resume_sessions)
    shares = {str(sub): float(p) for sub, p in context.scenario.population.sub_platforms.items()}
    return {"teachers": teachers_needed(plan, model, resume, shares),
            "resumed": in_session_to_seed(plan, shares) if resume else 0,
            "clock": plan.first_minute.replace(tzinfo=None).isoformat(timespec="minutes"),
            "clock_rate": clock_rate(plan.compress), "progress_at": progress_instant(context)}


def _validate(args, scale: float, folder: Path, workers: int, kind: str, model: Path, platform_path: Path):
    """One load test at ``scale`` (the level's: ``calibrate.levels.plan_level``), on a reference
    platform seeded for it (of the calibrated ``kind``: the same database and workers), and the
    comparison."""
    from calibrate.compare import compare, load_calibration, pool_servers
    from calibrate.meter import TierMeter
    from calibrate.target import reference
    from domain.scenario import load_scenario
    from loadtests.requests import replay_origin
    from loadtests.run import LocustRun
    from records import SUMMARY, LoadtestSummary, read_summary

    folder.mkdir(parents=True, exist_ok=True)
    context = _context(args, model, scale, 3600.0 / args.test_compress, args.test_compress)
    seeding = _level_seeding(args, context, model)
    with reference(args.scenario, seeding["teachers"], seeding["clock"], "246810", workers,
                   seeding["clock_rate"], seeding["progress_at"], model, args.database_url,
                   print, seeding["resumed"]) as target:
        if target.kind != kind:
            return None, f"the level's target is {target.kind}, the calibrated one {kind}"
        options = {"scenario": str(args.scenario), "model_results": str(model), "stretch": "peak-hour",
                   "compress": args.test_compress, "scale": scale, "accounts": str(target.accounts),
                   "answers": str(target.answers or ""), "sms_code": "246810",
                   "arrival_process": "deterministic", "bin_seconds": 10.0, "seed": 0,
                   "resume_sessions": args.resume_sessions}
        locust = LocustRun(target.url, folder, 3600.0 / args.test_compress, options)
        meter = TierMeter(target.url, target.probes.api_cpu._root.pid if target.probes.api_cpu else None,
                          target.api_servers, database_url=target.database_url,  # PostgreSQL: its CPU
                          database_servers=pool_servers(load_scenario(platform_path), "database"))
        with meter:
            code = locust.execute(ROOT)
    if not (folder / SUMMARY).is_file():
        return None, f"locust failed (exit {code})"
    summary = read_summary(folder, LoadtestSummary)
    utilisation = meter.utilisation(summary.duration_s)  # read while the target ran
    platform = load_scenario(platform_path)
    # the host's other work (Locust, anything else) beside the api's workers (calibrate/host.py)
    comparison = compare(summary, folder, platform, model / "timeseries.csv",
                         load_calibration(platform_path), target.kind, utilisation, host=meter.host,
                         in_app_ms=meter.in_app_ms())
    comparison.writer = meter.writer_ms()  # where a PostgreSQL heartbeat's time goes (issue 12)
    (folder / "metrics-end.txt").write_text(meter.probes.metrics.last_text)  # its histograms' buckets
    shared = compare(summary, folder, _sharing(platform), model / "timeseries.csv",
                     load_calibration(platform_path), target.kind, utilisation)
    origin = replay_origin(folder, float(summary.set_up_s))
    notes = (meter.notes(origin, origin + float(summary.duration_s)) if origin is not None
             else {tier: f"not measured: {why}" for tier, why in meter.unmeasured().items()})
    return (summary, comparison, shared, notes), ""


def _sharing(scenario):
    """The same calibrated platform with the api tier as processor sharing on its cores."""
    tiers = [t.model_copy(update={"discipline": "processor-sharing"}) if t.name == "api" else t
             for t in scenario.platform.tiers]
    return scenario.model_copy(update={"platform": scenario.platform.model_copy(update={"tiers": tiers})})


def _pct(value) -> str:
    return "   -  " if value is None else f"{100 * value:+6.1f}%"


def _print_rows(title: str, summary, at, c) -> None:
    """One prediction (``records.prediction.AtLoad``) beside the measurement."""
    print(f"   prediction {title}:")
    for tier, row in at.tiers.items():
        if row.measured is not None:
            print(f"     utilisation {tier:<9} predicted {row.predicted:.3f}, "
                  f"measured {row.measured:.3f}, error {row.error_pp:+.1f} pp")
    print("     endpoint          requests  planned  throughput   mean     p95   (relative error)")
    for name, rows in at.endpoints.items():
        measured = summary.endpoints.get(name)
        if measured is None or not measured.requests:
            continue
        plan = c.planned_vs_achieved.get(name)
        print(f"     {name:<16} {measured.requests:9d} {plan.planned if plan else 0:8.0f}  "
              f"{_pct(rows['rps'].relative_error)}  "
              f"{_pct(rows['mean_ms'].relative_error)} {_pct(rows['p95_ms'].relative_error)}"
              f"   p95 predicted {rows['p95_ms'].predicted:.0f} / "
              f"measured {rows['p95_ms'].measured} ms")


def _print_level(result, outcome, why: str) -> None:
    plan = result.plan
    print(f"\n== {100 * plan.level:.0f}% of the knee (scale {plan.scale:.4g}; "
          f"{plan.scale_by_knee_scale:.4g} by the knee's scale) ==\n   planned: busiest "
          f"{plan.window_s:.0f} s "
          f"(from {plan.busiest_start_s:.0f} s) {plan.busiest_rps:.0f} req/s = "
          f"{plan.busiest_rps / plan.knee_rps:.2f} x the knee's {plan.knee_rps:.0f}; "
          f"whole replay {plan.mean_rps:.0f} req/s"
          + (f"\n   (the knee was judged on these minutes at compress {plan.knee_compress:g}: level x its "
             f"scale, {plan.busiest_rps / plan.knee_planned_rps:.2f} x its planned "
             f"{plan.knee_planned_rps:.0f} req/s)"
             if plan.by_knee_scale else ""))
    if outcome is None:
        print(f"   no result: {why}")
        return
    summary, c, shared, notes = outcome
    total = summary.total
    busiest = result.measured_busiest_rps
    print(f"   measured: {total.requests} requests, {total.rps:.1f}/s, p95 {total.p95_ms} ms, "
          f"errors {100 * total.error_rate:.2f}%; generator CPU max {summary.generator_cpu.max}%"
          + (f"; {busiest:.0f} req/s in the busiest planned window" if busiest is not None else ""))
    if not c.comparable:
        print(f"   NOT compared: {c.reason}")
        return
    for tier, note in notes.items():  # a tier not measured, or measured over part of the replay
        print(f"   utilisation {tier}: {note}")
    machine = c.background
    if machine is not None:  # the host's other work against the calibration's (calibrate/meter.py)
        print(f"   host's other work: {machine.test_other_cores:.2f} cores in the test, "
              + (f"{machine.calibration_other_cores:.2f} in the calibration"
                 if machine.calibration_other_cores is not None else "the calibration's not recorded")
              + (f": {machine.note}" if machine.note else ""))
    _print_rows("at the PLANNED load (the model's requests, compressed and scaled)", summary, c.planned(), c)
    if c.at_achieved is not None:
        _print_rows("at the ACHIEVED load (each endpoint's measured requests per 10 s)", summary,
                    c.at_achieved, c)
    achieved = shared.at_achieved.endpoints if shared.at_achieved is not None else {}
    errors = [f"{name} {_pct(rows['mean_ms'].relative_error)} / {_pct(rows['p95_ms'].relative_error)}"
              for name, rows in achieved.items() if rows["p95_ms"].relative_error is not None]
    print("   api as processor sharing (sim/tiers/sharing.py), at the achieved load, mean / p95 error: "
          + (", ".join(errors) or "no endpoint with >= 1,000 requests"))
    if result.overload is not None:
        from calibrate.knee_report import overload_line

        print(f"   {overload_line(result.overload)}")




def _print_mix(plan) -> None:
    """The endpoint mix of the knee's judged minutes beside the validation's busiest window."""
    print(f"\nendpoint mix: the knee's judged {plan.window_s:.0f} s (step {plan.knee_step}: planned "
          f"{plan.knee_planned_rps:.0f} req/s, measured {plan.knee_rps:.0f}) against the validation's "
          f"busiest {plan.window_s:.0f} s")
    for name in sorted(plan.busiest_mix, key=lambda e: -plan.busiest_mix[e]):
        knee, peak = plan.knee_mix.get(name, 0.0), plan.busiest_mix[name]
        if knee or peak:
            print(f"   {name:<16} {100 * knee:5.1f}%  {100 * peak:5.1f}%  ({100 * (peak - knee):+.1f} pp)")
    verdict = ("the mixes DIFFER materially: the knee should be judged on the validated minutes"
               if plan.mix_differs else "the mixes are alike")
    print(f"   total-variation distance {100 * plan.mix_distance:.1f}%: {verdict}")


def _calibrate(args, model: Path, work: Path):
    """Calibrate a reference platform: its platform file, api workers and kind; None when the
    calibration found no knee to validate against."""
    from calibrate.calibration import calibrate, reference_for
    from calibrate.config import Config

    config = Config(args.scenario, model, work / "platform.yaml", force=True, database_url=args.database_url,
                    step_seconds=args.step_seconds, max_steps=args.max_steps, work_dir=work / "steps",
                    teachers=args.teachers, hold_compress=args.test_compress)  # holds as the levels replay
    context = _context(args, model, config.base_scale, args.step_seconds)
    started = time.monotonic()
    with reference_for(config, context) as target:
        seeded = time.monotonic() - started
        config.target, config.spent_s = target, seeded  # the 600-s budget counts the seeding
        result = calibrate(config, context)
        steps_s = [s for s in (result.wall_s / max(1, len(result.steps)),)]
        knee = result.knee
        print(f"\ncalibration: {result.wall_s:.0f} s for {len(result.steps)} steps "
              f"(+ {seeded:.0f} s seeding and start-up) = {result.wall_s + seeded:.0f} s in all "
              f"(limit 600 s); one step ~{steps_s[0]:.0f} s, ratio {result.wall_s / steps_s[0]:.1f} steps")
        for tier, fit in result.fits.items():
            seen = {e: d for e, d in fit.demands.items() if d.requests}
            print(f"  {tier}: R² {fit.r2:.3f}, idle {fit.idle_rate:.3f}; " + ", ".join(
                f"{e} {d.ms:.2f} [{d.lo_ms:.2f}, {d.hi_ms:.2f}] ms" for e, d in seen.items()))
        print(f"  knee: {knee.rate_rps} req/s at step {knee.step} "
              f"(SLO p95 {knee.slo_p95_ms:g} ms) {knee.note}\n  {knee.how}")
        if knee.step is None:
            print("no knee to validate against (" + (knee.note or "no step met the SLO")
                  + "): more steps (--max-steps) or a stricter SLO")
            return None
        return result.platform_path, target.api_servers or config.server_workers, target.kind


def _existing(args):
    """``--platform``: an existing calibration's platform file, its api workers and kind."""
    from calibrate.compare import load_calibration, pool_servers
    from calibrate.errors import CalibrationError
    from domain.scenario import load_scenario

    if not args.platform.is_file():
        raise CalibrationError("no such file")
    provenance = load_calibration(args.platform) or {}
    if "target_kind" not in provenance:
        side = args.platform.with_suffix(".json").name
        raise CalibrationError(f"no calibration's {side} beside it (its target, its knee)")
    return args.platform, pool_servers(load_scenario(args.platform), "api"), str(provenance["target_kind"])


def _level(args, plan, model: Path, platform: tuple, folder: Path, slo: tuple[float, float]):
    """One level's load test, its record (written once to ``level.json``) and its printout."""
    from calibrate.level_records import LEVEL, LevelResult, write
    from calibrate.overload import level_record

    platform_path, workers, kind = platform
    outcome, why = _validate(args, plan.scale, folder, workers, kind, model, platform_path)
    result = LevelResult(plan=plan, why=why)
    if outcome is not None:
        summary, c, shared, notes = outcome
        host = c.at_achieved.host if c.at_achieved is not None else None
        result = LevelResult(
            plan=plan, total=summary.total, generator_cpu_max=summary.generator_cpu.max,
            measured_busiest_rps=_measured_busiest(folder, plan, float(summary.set_up_s)),
            comparison=c, sharing=shared,
            notes=notes, overload=level_record(summary, folder, platform_path, model / "timeseries.csv", plan,
                                               slo, host) if c.comparable else None)
    write(folder / LEVEL, result)
    _print_level(result, outcome, why)
    return result


def _measured_busiest(folder: Path, plan, set_up_s: float) -> float | None:
    """Requests/s the target finished in the plan's busiest window (Locust's history)."""
    import numpy as np

    from loadtests.requests import history_per_bin

    edges = np.array([plan.busiest_start_s, plan.busiest_start_s + plan.window_s])
    got = history_per_bin(folder, edges, set_up_s)
    return float(sum(n[0] for n in got.values())) / plan.window_s if got else None


def main() -> int:
    args = _arguments()
    from calibrate.compare import load_calibration
    from calibrate.errors import CalibrationError
    from calibrate.level_records import BENCH, LEVEL, BenchSummary, write
    from calibrate.levels import knee_from, plan_level
    from calibrate.staircase import slo
    from domain.scenario import load_scenario
    from loadtests.plan import PlanError, read_timeseries

    work = args.out or Path(tempfile.mkdtemp(prefix="bench-calibrate-"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    try:
        platform = _existing(args) if args.platform else None
    except (CalibrationError, ValueError, OSError) as exc:  # a platform file that is no scenario
        print(f"bench_calibrate: --platform {args.platform}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        model = _model(args, work)
        series = read_timeseries(model / "timeseries.csv")
        if platform is None and (platform := _calibrate(args, model, work)) is None:
            return 0
        knee = knee_from(load_calibration(platform[0]), platform[0])
    except (CalibrationError, PlanError) as exc:
        print(f"bench_calibrate: {exc}", file=sys.stderr)
        return 2
    scenario = load_scenario(args.scenario)
    slos = slo(scenario)
    endpoints = [e.name for e in scenario.platform.endpoints]
    print(f"knee: {knee.rate_rps:.0f} req/s at scale {knee.scale:.4g} (step {knee.step}, "
          f"{knee.judged_s:.0f} s judged, stretch {knee.stretch}) from {platform[0]}")
    from calibrate.knee_report import both, bracket_line, knee_host

    print("  " + bracket_line(knee.rate_rps, knee.upper_rps, knee.bounded, None, knee.ratio,
                              knee.upper_planned_rps))
    # the model's, on the knee's load: the platform alone, and beside the other work its hold ran beside
    models = both(platform[0], model, knee, slos, knee_host(load_calibration(platform[0]), knee.step))
    for found in models:
        print(f"  {found.line(knee.rate_rps)}")
    model_knee = models[0]
    folders = []
    for i, level in enumerate(args.levels):  # each on a target of its own (_level_seeding)
        plan = plan_level(level, knee, series, model / "timeseries.csv", endpoints, "peak-hour",
                          args.test_compress, 3600.0 / args.test_compress)
        if i == 0:
            _print_mix(plan)
        folder = work / f"validate-{round(100 * level)}pct"
        if plan.from_upper:
            print(f"\n(level {level:g}: the knee is not exact, so planned from the lowest rate that "
                  f"broke the SLO, {plan.knee_upper_rps:.0f} req/s)")
        _level(args, plan, model, platform, folder, slos)
        folders.append(str((folder / LEVEL).relative_to(work)))
    provenance = load_calibration(platform[0]) or {}
    load_after = os.getloadavg()[0]
    write(work / BENCH, BenchSummary(
        platform=str(platform[0]), calibrated=args.platform is None, commit=str(provenance.get("commit")),
        knee_rps=knee.rate_rps, knee_scale=knee.scale, knee_step=knee.step, levels=folders,
        load_before=load_before, load_after=load_after, knee_upper_rps=knee.upper_rps,
        knee_bounded=knee.bounded,
        model_knee_rps=model_knee.rate_rps, model_knee_scale=model_knee.scale,
        model_saturation_rps=model_knee.saturation_rps,
        model_knee_on_host_rps=models[-1].rate_rps if len(models) > 1 else None))
    print(f"\nload average {load_before:.1f} before, {load_after:.1f} after "
          f"(2 cores, shared with other engineers' work); everything in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
