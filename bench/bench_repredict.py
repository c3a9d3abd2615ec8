"""A validation level's prediction at its achieved load again, offline, with and without the writers'
stretch by the host's busy cores, or the api's CPU law (issue 12: demands that move with load).

    .venv/bin/python bench/bench_repredict.py PLATFORM.yaml LEVEL_FOLDER [LEVEL_FOLDER ...]
        [--seeds 3] [--runs database] [--share S] [--growth [--write NEW.yaml] [--knee MODEL_DIR]]

Each level folder is a ``bench/bench_calibrate.py`` level (summary.json, Locust's history,
level.json with the host's background per 10-s bin and the measured figures). The same
measurement is predicted twice on the same platform file (``sim.tiers.replay.predict`` at the
achieved rates, the measured background): "before" as the platform's writers are calibrated,
"after" with ``HostShare.wall`` fitted on the calibration's steps (``calibrate.wall_stretch``,
the platform's ``.json`` beside it): the PostgreSQL writer thread's transactions, and with
``--runs database`` SQLite's group commits too; ``--share`` replaces the fitted share (an
experiment, not what the comparison does). Prints the heartbeat, sign-in and campaign page's mean
/ p95 and the tiers' utilisation, prediction − measurement, and the writer's timers as measured.

``--growth``: "before" is the platform as it is and "after" with the api's laws fitted on the
calibration's bins (``calibrate.cpu_growth``'s ``cpu_growth`` and ``calibrate.commit_cpu``'s
``commit_cpu``, each only when significant, as a calibration writes them: the growth on what a
written commits' law leaves), the writers' stretch in both as the comparison has it; the laws on
every driver are printed first, and the growth on the constant demands for the record. ``--write``: the
platform file with the laws (its ``.json`` copied beside it), for a validation of it. ``--knee``:
the model's knee before and after on the knee's own load (``calibrate.model_knee``, the model
run's folder), alone and beside the knee's other work.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibrate import commit_cpu, cpu_growth  # noqa: E402
from calibrate.compare import achieved_rates  # noqa: E402
from calibrate.wall_stretch import from_calibration  # noqa: E402
from domain.scenario import Scenario, load_scenario  # noqa: E402
from loadtests.noise import BIN_S  # noqa: E402
from records import read_summary  # noqa: E402
from records.level import read_level  # noqa: E402
from records.loadtest import LoadtestSummary  # noqa: E402
from sim.tiers.host_stretch import WallStretch  # noqa: E402
from sim.tiers.replay import HostShare, Prediction, predict  # noqa: E402

ENDPOINTS = ("heartbeat", "login", "campaign_page")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("platform", type=Path)
    parser.add_argument("levels", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", default="", help="tiers whose wall time stretches too (SQLite: database)")
    parser.add_argument("--share", type=float, default=None)
    parser.add_argument("--growth", action="store_true", help="before/after: the api's CPU law")
    parser.add_argument("--write", type=Path, default=None, help="with --growth: the platform with the law")
    parser.add_argument("--knee", type=Path, default=None, help="with --growth: the model run, for its knee")
    return parser.parse_args()


def _level(scenario: Scenario, folder: Path, wall: WallStretch | None, runs: tuple[str, ...],
           seeds: int, grown: Scenario | None = None) -> None:
    """``grown``: the same platform with the api's CPU law (``--growth``): before and after both
    with the writers' stretch, as the comparison serves them."""
    summary = read_summary(folder, LoadtestSummary)
    level = read_level(folder)
    comparison = level.comparison if level is not None else None
    at = comparison.at_achieved if comparison is not None else None
    if comparison is None or at is None or at.host is None:
        raise SystemExit(f"{folder}: no level.json with a comparison at the achieved load and its host")
    background = np.array(at.host.background_cores, float)
    names = [e.name for e in scenario.platform.endpoints]
    rates = achieved_rates(folder, names, float(summary.duration_s), float(summary.set_up_s),
                           summary.session_bins)
    if rates is None:
        raise SystemExit(f"{folder}: no achieved rates (stats_history.csv)")
    timeout = float(scenario.behaviour.overload.abandon_after_s)
    out: dict[str, list[Prediction]] = {}
    cases = (("before", scenario, None), ("after", scenario, wall)) if grown is None else (
        ("before", scenario, wall), ("after", grown, wall))
    for label, platform, stretch in cases:
        host = HostShare("api", float(at.host.cores), background, runs if stretch else (), stretch)
        out[label] = [predict(platform, rates, BIN_S, np.random.default_rng(s), timeout, host)
                      for s in range(seeds)]
    writer = {k: round(float(v), 2) for k, v in comparison.writer.items()}
    print(f"== {folder}: background {background.mean():.2f} cores; writer as measured {writer}")
    for name in ENDPOINTS:
        rows = at.endpoints.get(name, {})
        measured = rows["mean_ms"].measured if "mean_ms" in rows else None
        p95 = rows["p95_ms"].measured if "p95_ms" in rows else None
        if measured is None or p95 is None:
            continue
        row = f"  {name:14s} measured {measured:7.2f} / {p95:6.1f} ms"
        for label, predictions in out.items():
            mean = float(np.mean([p.endpoints[name].mean_ms for p in predictions]))
            tail = float(np.mean([p.endpoints[name].p95_ms for p in predictions]))
            row += f" | {label} {mean:7.2f} / {tail:6.1f} ({100 * (mean / measured - 1):+6.1f}% / "
            row += f"{100 * (tail / p95 - 1):+6.1f}%)"
        print(row)
    for tier, figures in at.tiers.items():
        if figures.measured is None:
            continue
        row = f"  {tier:14s} measured {figures.measured:.3f}"
        for label, predictions in out.items():
            u = float(np.mean([p.utilisation[tier] for p in predictions]))
            row += f" | {label} {u:.3f} ({100 * (u - figures.measured):+5.1f} pp)"
        print(row)


def main() -> int:
    args = _arguments()
    scenario = load_scenario(args.platform)
    calibration = json.loads(args.platform.with_suffix(".json").read_text())
    wall = from_calibration(calibration, 2.0)
    if wall is not None and args.share is not None:
        wall = WallStretch(wall.reference_cores, args.share)
    print(f"stretch fitted on the calibration's steps: {wall}")
    runs = tuple(t for t in args.runs.split(",") if t)
    grown = _grown(args, calibration) if args.growth else None
    for folder in args.levels:
        _level(load_scenario(args.platform) if grown else scenario, folder, wall, runs, args.seeds,
               load_scenario(grown) if grown else None)
    if grown is not None and args.knee is not None:
        _knees(args.platform, grown, args.knee, calibration)
    return 0


def _grown(args: argparse.Namespace, calibration: dict) -> Path:
    """The platform file with the api's CPU law as a calibration writes it (``--write``, else a
    file beside the platform's), its ``.json`` beside it; the law on every driver printed."""
    import shutil

    commits = commit_cpu.from_calibration(calibration)
    shares = commit_cpu.line(commits)
    print(f"  {commits.text() if commits else 'no group commits counted'}")
    constant = cpu_growth.from_calibration(calibration)[cpu_growth.DRIVERS[0]]  # for the record
    print(f"  on the constant demands: {_said(constant)}")
    laws = cpu_growth.from_calibration(calibration, commits=commits if shares else None)
    for law in laws.values():
        print(f"  {_said(law)}")
    line = cpu_growth.line(laws[cpu_growth.DRIVERS[0]])
    print(f"written: cpu_growth {line}; commit_cpu {shares}")
    out = args.write or args.platform.with_name(f"{args.platform.stem}-growth.yaml")
    text = cpu_growth.with_law(args.platform.read_text(), "api", line)
    out.write_text(cpu_growth.with_law(text, "api", shares, "commit_cpu"), encoding="utf-8")
    if out.with_suffix(".json") != args.platform.with_suffix(".json"):
        shutil.copy(args.platform.with_suffix(".json"), out.with_suffix(".json"))
    return out


def _said(law: cpu_growth.Growth | None) -> str:
    return law.text() + (" (significant)" if law.significant else "") if law else "not fitted"


def _knees(before: Path, after: Path, model: Path, calibration: dict) -> None:
    """The model's knee on the knee's hold load, both platforms, alone and beside its other work."""
    from types import SimpleNamespace

    from calibrate.knee import JUDGED_WINDOWS
    from calibrate.knee_report import both, knee_host
    from calibrate.steps import WINDOW_S

    knee = calibration["knee"]
    step = next(s for s in calibration["step_results"] if s["name"] == knee["step"])
    windows = JUDGED_WINDOWS if step.get("settle_s") is not None else 1  # a hold, or a staircase step
    load = SimpleNamespace(stretch=knee["stretch"], compress=float(knee["compress"]),
                           judged_s=float(windows * WINDOW_S), scale=float(step["scale"]))
    slo = (float(knee["slo_p95_ms"]), float(knee["slo_error_rate"]))
    for label, path in (("before", before), ("after", after)):
        for found in both(path, model, load, slo, knee_host(calibration, knee["step"])):
            print(f"{label}: {found.line(float(knee['rate_rps']))}")


if __name__ == "__main__":
    raise SystemExit(main())
