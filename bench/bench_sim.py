"""Benchmark of ``yanxiu run``'s model at scale, beside SimPy baselines measured in the same run.

Prints, for each population size: wall time, peak resident memory (the worker process's
``ru_maxrss``), sessions simulated, sessions/s; and the baselines: raw SimPy timeouts/s and
the cost of one session in raw-timeout units (machine-independent-ish ratio).
Each size runs in a fresh process so peak memory belongs to that run alone.

    .venv/bin/python bench/bench_sim.py                     # 1,000,000 and 18,800,000 teachers
    .venv/bin/python bench/bench_sim.py --teachers 100000   # quicker look
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def simpy_timeouts_per_s(n: int = 1_000_000) -> float:
    import simpy

    env = simpy.Environment()

    def ticker(env, count):
        for _ in range(count):
            yield env.timeout(1)

    for _ in range(10):
        env.process(ticker(env, n // 10))
    started = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - started)


def one_run(scenario_path: str, teachers: int, max_simulated: int | None) -> dict:
    from sim.model import run_model
    from sim.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    started = time.perf_counter()
    run = run_model(scenario, teachers=teachers, max_simulated=max_simulated)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"teachers": teachers, "simulated": run.population.size, "wall_s": wall,
            "peak_mb": peak_mb, "sessions": run.stats["sessions_simulated"], **run.stats}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "winter-2023.yaml"))
    parser.add_argument("--teachers", type=int, nargs="+", default=[1_000_000, 18_800_000])
    parser.add_argument("--max-simulated", type=int, default=None,
                        help="sample cap (default: the model's default)")
    args = parser.parse_args()
    from sim.model import DEFAULT_MAX_SIMULATED

    cap = args.max_simulated or DEFAULT_MAX_SIMULATED
    baseline = simpy_timeouts_per_s()
    print(f"baseline  SimPy raw timeouts/s on this machine now: {baseline:,.0f}")
    print(f"{'teachers':>12} {'simulated':>10} {'wall s':>8} {'peak MB':>8} {'sessions':>11} "
          f"{'sess/s':>9} {'timeouts/session':>17}")
    context = mp.get_context("spawn")
    for teachers in args.teachers:
        with cf.ProcessPoolExecutor(1, mp_context=context) as pool:
            r = pool.submit(one_run, args.scenario, teachers, cap).result()
        rate = r["sessions"] / r["simulate_s"]
        print(f"{teachers:>12,} {r['simulated']:>10,} {r['wall_s']:>8.1f} {r['peak_mb']:>8.0f} "
              f"{r['sessions']:>11,.0f} {rate:>9,.0f} {baseline / rate:>17.1f}", flush=True)
        print(f"{'':>12} build {r['build_s']:.1f} s, simulate {r['simulate_s']:.1f} s, "
              f"tiers {r['tiers_s']:.1f} s, feedback calls {r['feedback_calls']:.0f}")
    baseline_after = simpy_timeouts_per_s()
    print(f"baseline  SimPy raw timeouts/s after the runs: {baseline_after:,.0f} "
          "(a big change means the machine was busy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
