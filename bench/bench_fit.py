"""Benchmark of ``yanxiu fit`` and ``yanxiu run --ranges``: wall time and peak memory, each beside
a baseline measured in the same invocation, so a loaded machine still gives fair ratios:

- the fit beside one fit simulation of the same size, alone ("the fit costs K simulations");
- ``yanxiu run --ranges N`` beside the same ``yanxiu run`` without ``--ranges`` (one plain run
  of the same size: the ranges cost about N more runs, spread over the cores).

Each measured command runs in a fresh process; its peak memory is the largest sum of resident
memory over its process tree (the command and its worker processes), sampled every 0.2 s. A
command's stderr (its progress lines) goes to a file, never to an unread pipe that could fill.

    .venv/bin/python bench/bench_fit.py --tiny      # the smoke campaign at the smallest sizes (check it runs)
    .venv/bin/python bench/bench_fit.py             # the smoke campaign
    .venv/bin/python bench/bench_fit.py --winter    # scenarios/winter-2023.yaml, as shipped (minutes)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
YANXIU = [sys.executable, "-m", "yanxiu.cli"]


@dataclass(frozen=True)
class Size:
    scenario: str
    simulated: int  # teachers simulated per fit run
    fit_args: tuple[str, ...]
    run_args: tuple[str, ...]  # the plain run and the ranges run alike
    draws: int


# smoke: targets made by a run with known session length and start delay (the pair the
# identifiability test recovers), so the bench fits something that converges
SMOKE_PARAMS = ("--params", "session_minutes_mean,start_delay_median_days")
SIZES = {
    "tiny": Size("scenarios/smoke.yaml", 100, (*SMOKE_PARAMS, "--particles", "4", "--budget", "40",
                                               "--generations", "3"), ("--teachers", "100"), 2),
    "smoke": Size("scenarios/smoke.yaml", 400, (*SMOKE_PARAMS, "--particles", "8", "--budget", "60",
                                                "--generations", "5"), ("--teachers", "400"), 4),
    "winter": Size("scenarios/winter-2023.yaml", 600, ("--particles", "8", "--budget", "40",
                                                       "--generations", "3"),
                   ("--max-simulated", "5000"), 4),
}


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_mb: float
    code: int


def measure(argv: list[str], log: Path) -> Measured:
    """Wall time, peak MB of the process tree and exit code of one command."""
    started = time.perf_counter()
    with log.open("wb") as err:
        proc = psutil.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)
    measured = Measured(time.perf_counter() - started, peak / 2**20, proc.returncode)
    if measured.code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        print(f"  exit {measured.code}: {' | '.join(tail)}")
    return measured


BASELINE = """
import sys
from domain.scenario import load_scenario
from fit import params
from fit.simulations import Job, evaluate
s = load_scenario(sys.argv[1])
names = [p.name for p in params.PARAMETERS]
evaluate(params.fit_data(s), names, [], int(sys.argv[2]), Job(tuple([0.5] * len(names)), 1, 9e9))
"""


def smoke_targets(folder: Path, simulated: int) -> Path:
    """Targets for the smoke campaign made by a run with known parameters (30-minute sessions,
    a 6-day median start delay), as tests/fit/test_identifiability.py makes them, with bands
    twice as wide (10%, 5%): the bench measures what a fit costs, and a small one converges."""
    from domain.scenario import load_scenario
    from fit import params
    from fit.simulations import Job, evaluate

    smoke = load_scenario(ROOT / "scenarios" / "smoke.yaml")
    truth = {"session_minutes_mean": 30.0, "start_delay_median_days": 6.0}
    unit = tuple(params.BY_NAME[n].to_unit(v) for n, v in truth.items())
    figures = evaluate(params.fit_data(smoke), list(truth), [], simulated * 4, Job(unit, 99, 9e9))
    common = {"relation": "match", "why": "bench",
              "source": {"document": "bench/bench_fit.py", "where": "known parameters"}}
    data = {"campaign": "smoke", "targets": [
        {**common, "name": m, "metric": m, "value": float(figures[m]), "uncertainty": {"relative": band}}
        for m, band in (("mean_session_minutes", 0.1), ("participants", 0.05))]}
    path = folder / "smoke-targets.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _row(what: str, m: Measured, base: Measured | None = None) -> str:
    beside = f"  {m.wall_s / base.wall_s:5.1f}x the wall, {m.peak_mb / base.peak_mb:4.1f}x the memory" \
        if base is not None and base.wall_s > 0 and base.peak_mb > 0 else ""
    failed = "" if m.code == 0 else f"  (exit {m.code})"
    return f"{what:<48} {m.wall_s:8.1f} s {m.peak_mb:7.0f} MB{beside}{failed}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tiny", action="store_true",
                       help="smoke at the smallest sizes (a check that it runs)")
    which.add_argument("--winter", action="store_true", help="the winter-2023 fit as shipped")
    parser.add_argument("--draws", type=int, help="posterior draws for --ranges (default by size)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    size = SIZES["tiny" if args.tiny else "winter" if args.winter else "smoke"]
    draws = args.draws or size.draws
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = "scenarios/targets/winter-2023.yaml" if args.winter \
            else str(smoke_targets(folder, size.simulated))
        out = folder / "fitted.yaml"
        fit_argv = [*YANXIU, "fit", size.scenario, "--targets", targets, "--max-simulated",
                    str(size.simulated), "--workers", "2", "--out", str(out), *size.fit_args]
        run_argv = [*YANXIU, "run", size.scenario, *size.run_args, "--no-charts", "--no-confirm"]
        print(f"bench_fit: {size.scenario}; fit: {' '.join(fit_argv[3:])}")
        one_sim = measure([sys.executable, "-c", BASELINE, size.scenario, str(size.simulated)],
                          folder / "sim.log")
        fitted = measure(fit_argv, folder / "fit.log")
        figures = yaml.safe_load(out.read_text(encoding="utf-8")) if out.exists() else None
        sims = figures["provenance"]["simulations"] if figures else None
        print(f"bench_fit: runs: {' '.join(run_argv[3:])} [--ranges {draws} --posterior FITTED]")
        plain = measure([*run_argv, "--out", str(folder / "plain")], folder / "plain.log")
        ranged = measure([*run_argv, "--out", str(folder / "ranges"), "--ranges", str(draws), "--posterior",
                          str(out)], folder / "ranges.log") if figures else None
    print(_row(f"one fit simulation ({size.simulated} teachers simulated)", one_sim))
    print(_row(f"yanxiu fit ({sims if sims is not None else '?'} simulations, 2 workers)", fitted, one_sim))
    print(_row("one plain yanxiu run (the same size)", plain))
    if ranged is not None:
        print(_row(f"yanxiu run --ranges {draws}", ranged, plain))
    else:
        print("yanxiu run --ranges: not measured (the fit wrote no behaviour file)")
    if args.json:
        measured = {"one_fit_simulation": one_sim, "fit": fitted, "plain_run": plain, "ranges": ranged}
        args.json.write_text(json.dumps({"scenario": size.scenario, "simulated": size.simulated,
                                         "fit_simulations": sims, "draws": draws,
                                         **{k: v.__dict__ if v else None for k, v in measured.items()}},
                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
