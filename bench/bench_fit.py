"""Benchmark of ``yanxiu fit`` and ``yanxiu run --ranges``: wall time and peak memory, beside
a baseline measured in the same invocation (one fit simulation of the same size, alone), so a
loaded machine still gives fair ratios ("the fit costs K single simulations").

Each measured command runs in a fresh process; its peak memory is the largest sum of resident
memory over its process tree (the CLI and its worker processes), sampled every 0.2 s.

    .venv/bin/python bench/bench_fit.py                      # the smoke campaign (quick)
    .venv/bin/python bench/bench_fit.py --winter             # scenarios/winter-2023.yaml, as shipped
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
YANXIU = [sys.executable, "-m", "yanxiu.cli"]


def measure(argv: list[str]) -> tuple[float, float, int]:
    """(wall s, peak MB of the process tree, exit code) of one command."""
    started = time.perf_counter()
    proc = psutil.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    return time.perf_counter() - started, peak / 2**20, proc.returncode


BASELINE = """
import sys
from domain.scenario import load_scenario
from fit import params
from fit.simulations import Job, evaluate
s = load_scenario(sys.argv[1])
names = [p.name for p in params.PARAMETERS]
evaluate(params.fit_data(s), names, [], int(sys.argv[2]), Job(tuple([0.5] * len(names)), 1, 9e9))
"""


def smoke_targets(folder: Path, max_simulated: int) -> Path:
    """Targets for the smoke campaign made by a run with known parameters (as the
    identifiability test), so the bench fits something that can converge."""
    from domain.scenario import load_scenario
    from fit import params
    from fit.simulations import Job, evaluate

    smoke = load_scenario(ROOT / "scenarios" / "smoke.yaml")
    names = ["session_minutes_mean", "gap_hours_mean"]
    unit = (params.BY_NAME[names[0]].to_unit(30.0), params.BY_NAME[names[1]].to_unit(20.0))
    figures = evaluate(params.fit_data(smoke), names, [], max_simulated * 4, Job(unit, 99, 9e9))
    common = {"relation": "match", "why": "bench", "uncertainty": {"relative": 0.1},
              "source": {"document": "bench/bench_fit.py", "where": "known parameters"}}
    data = {"campaign": "smoke", "targets": [
        {**common, "name": m, "metric": m, "value": float(figures[m])}
        for m in ("mean_session_minutes", "sessions_per_participant")]}
    path = folder / "smoke-targets.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--winter", action="store_true", help="the winter-2023 fit as shipped")
    parser.add_argument("--draws", type=int, default=4, help="posterior draws for --ranges")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.winter:
            scenario, targets, size = "scenarios/winter-2023.yaml", "scenarios/targets/winter-2023.yaml", 600
            fit_args = ["--particles", "8", "--budget", "40", "--generations", "3"]
            run_args = ["--max-simulated", "5000"]
        else:
            scenario, size = "scenarios/smoke.yaml", 400
            targets = str(smoke_targets(folder, size))
            fit_args = ["--params", "session_minutes_mean,gap_hours_mean", "--particles", "8",
                        "--budget", "60", "--generations", "5"]
            run_args = ["--teachers", "400"]
        base_s, base_mb, _ = measure([sys.executable, "-c", BASELINE, scenario, str(size)])
        print(f"baseline: one fit simulation of {scenario} ({size} teachers simulated): "
              f"{base_s:.1f} s, {base_mb:.0f} MB")
        out = folder / "fitted.yaml"
        fit_s, fit_mb, code = measure([*YANXIU, "fit", scenario, "--targets", targets, "--max-simulated",
                                       str(size), "--out", str(out), *fit_args])
        fitted = yaml.safe_load(out.read_text()) if out.exists() else None
        sims = fitted["provenance"]["simulations"] if fitted else "?"
        print(f"yanxiu fit: {fit_s:.1f} s ({fit_s / base_s:.1f}x the baseline; {sims} simulations on "
              f"2 processes), peak {fit_mb:.0f} MB; exit {code}")
        if fitted is None:
            return
        run_s, run_mb, code = measure([*YANXIU, "run", scenario, "--ranges", str(args.draws), "--posterior",
                                       str(out), "--no-charts", "--no-confirm", "--out", str(folder / "r"),
                                       *run_args])
        print(f"yanxiu run --ranges {args.draws}: {run_s:.1f} s ({run_s / base_s:.1f}x the baseline), "
              f"peak {run_mb:.0f} MB; exit {code}")


if __name__ == "__main__":
    main()
