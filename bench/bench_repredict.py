"""A validation level's prediction at its achieved load again, offline, with and without the writers'
stretch by the host's busy cores (issue 12: demands that move with load).

    .venv/bin/python bench/bench_repredict.py PLATFORM.yaml LEVEL_FOLDER [LEVEL_FOLDER ...]
        [--seeds 3] [--runs database] [--share S]

Each level folder is a ``bench/bench_calibrate.py`` level (summary.json, Locust's history,
level.json with the host's background per 10-s bin and the measured figures). The same
measurement is predicted twice on the same platform file (``sim.tiers.replay.predict`` at the
achieved rates, the measured background): "before" as the platform's writers are calibrated,
"after" with ``HostShare.wall`` fitted on the calibration's steps (``calibrate.wall_stretch``,
the platform's ``.json`` beside it): the PostgreSQL writer thread's transactions, and with
``--runs database`` SQLite's group commits too; ``--share`` replaces the fitted share (an
experiment, not what the comparison does). Prints the heartbeat, sign-in and campaign page's mean
/ p95 and the tiers' utilisation, prediction − measurement, and the writer's timers as measured.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    return parser.parse_args()


def _level(scenario: Scenario, folder: Path, wall: WallStretch | None, runs: tuple[str, ...],
           seeds: int) -> None:
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
    for label, stretch in (("before", None), ("after", wall)):
        host = HostShare("api", float(at.host.cores), background, runs if stretch else (), stretch)
        out[label] = [predict(scenario, rates, BIN_S, np.random.default_rng(s), timeout, host)
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
    for folder in args.levels:
        _level(scenario, folder, wall, runs, args.seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
