"""Requests per endpoint, planned by the model and achieved by a replay (issue 12: "within 10% of the
model's for the replayed stretch from the first 10-second bin on"), against the model run replayed
and against the mean of several seeds of it (the model's expectation).

1. the model at the scenario's seed (``--model-results`` to reuse one) and at ``--seeds``
   (``yanxiu run --seed S``; 2-3 s each for smoke), into ``OUT/model-s<seed>``;
2. one replay of the stretch, resumed sessions, on the reference platform (``yanxiu loadtest``),
   into ``OUT/replay`` (``--results`` to judge a finished one instead);
3. per endpoint planning >= 20 requests: in stretch / planned, the whole stretch's sampling band
   and z, the first judged bin, the largest bin error and the bins outside their band, on plan or
   not (``loadtests.replan``): against the run replayed, then against the seeds' mean; and the
   seeds' own spread of the stretch's requests, per endpoint.

    .venv/bin/python bench/bench_requests.py --out /tmp/req [--scale 1.704] [--compress 36] \\
        [--seeds 1 2 3 4 5 6 8 9] [--model-results DIR] [--results DIR]

Run it under the measurement lock (the replay is a load test; about 3-4 minutes at the defaults).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.scenario import load_scenario  # noqa: E402
from loadtests.plan import read_timeseries  # noqa: E402
from loadtests.replan import judge, lines  # noqa: E402
from loadtests.stretch import select  # noqa: E402


def _yanxiu(*args: str, timeout: float) -> None:
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", *args], cwd=ROOT, timeout=timeout,
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: a load test that is not trustworthy still has its figures
        raise SystemExit(f"yanxiu {args[0]} failed ({done.returncode}): {done.stderr[-400:]}")


def models(args) -> list[Path]:
    seed = load_scenario(args.scenario).seed
    own = args.model_results or args.out / f"model-s{seed}"
    out = [own]
    for s in [seed if args.model_results is None else None, *args.seeds]:
        if s is None:
            continue
        folder = args.out / f"model-s{s}"
        if not (folder / "timeseries.csv").is_file():
            _yanxiu("run", str(args.scenario), "--seed", str(s), "--out", str(folder), "--no-charts",
                    "--no-confirm", timeout=600)
        if folder != own:
            out.append(folder)
    return out


def replay(args, model: Path) -> Path:
    if args.results is not None:
        return args.results
    folder = args.out / "replay"
    _yanxiu("loadtest", str(args.scenario), "--stretch", args.stretch, "--compress", str(args.compress),
            "--duration", str(3600.0 / args.compress), "--scale", str(args.scale), "--resume-sessions",
            "--server-workers", "2", "--model-results", str(model), "--out", str(folder), "--seed",
            str(args.replay_seed), timeout=900)
    return folder


def spread(runs: list[Path], endpoints: list[str], spec: str) -> list[str]:
    """Each endpoint's requests over the stretch in every run: mean, sd and the replayed run's share."""
    stretch = select(read_timeseries(runs[0] / "timeseries.csv"), spec)
    totals: dict[str, list[float]] = {e: [] for e in endpoints}
    for run in runs:
        with (run / "timeseries.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
        rows = rows[stretch.start:stretch.stop]
        for e in endpoints:
            totals[e].append(60.0 * sum(float(r.get(f"rps.{e}") or 0) for r in rows))
    out = [f"{'endpoint':<15} {'replayed run':>12} {'seeds mean':>10} {'sd':>7} {'run/mean':>8}"]
    for e, values in totals.items():
        mean = statistics.fmean(values)
        if mean >= 20:
            out.append(f"{e:<15} {values[0]:>12.0f} {mean:>10.1f} {statistics.stdev(values):>7.1f} "
                       f"{values[0] / mean:>8.2f}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    parser.add_argument("--stretch", default="peak-hour")
    parser.add_argument("--compress", type=float, default=36.0)
    parser.add_argument("--scale", type=float, default=1.704)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6, 8, 9])
    parser.add_argument("--replay-seed", type=int, default=0)
    parser.add_argument("--model-results", type=Path, help="the model run to replay (default: run it)")
    parser.add_argument("--results", type=Path, help="judge this finished replay instead of running one")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = models(args)
    folder = replay(args, runs[0])
    endpoints = [e.name for e in load_scenario(args.scenario).platform.endpoints]
    print(f"replay {folder} (scale {args.scale}, compress {args.compress}); model {runs[0]}")
    print("\n== against the model run replayed ==")
    print("\n".join(lines(judge(folder, runs[:1], endpoints))))
    if len(runs) > 1:
        print(f"\n== against the mean of {len(runs)} model runs (logins, pages, enrolments per bin: "
              "the replay copies its run's arrivals) ==")
        print("\n".join(lines(judge(folder, runs, endpoints))))
        print("\n== the model's own spread over the stretch, scale 1 ==")
        print("\n".join(spread(runs, endpoints, args.stretch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
